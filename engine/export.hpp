// Response export (--export FILE.jsonl): every finished request as one JSON line.
//
// Each shard owns one ExportQueue and is its only producer; one ExportWriter thread
// drains all queues, assembles each request's head, body and end, and writes the file.
// The shard's side does no I/O, takes no lock and allocates nothing: it copies bytes into
// a ring allocated once, and waits (never drops) when the writer falls behind.
//
// Output line (keys always in this order; optional keys only when they apply):
//   {"seq":0,"line":12|null,"iteration":0,"name":"GET /a","url":"http://h:80/a?q",
//    "method":"GET","status":200|null,"headers":[["Name","value"],...],
//    "body":"..." | "body_base64":"...", "body_truncated":true,
//    "error":{"kind":"timeout","message":"..."},
//    "timing":{"start_us":1.234,"ttfb_us":0.567|null,"total_us":0.890}}
// - seq: the line's 0-based position in the file. line: the request file's line (null when
//   the request did not come from a file). name: the line's `name`, else method + " " + path.
// - headers: the final response head's fields in the order received, repeats kept.
// - body: decoded body (chunked framing removed) when it is valid UTF-8, else body_base64
//   (RFC 4648 §4, padded). Other strings: invalid UTF-8 bytes become U+FFFD.
// - timing: microseconds with 3 decimals (exact nanoseconds): start from the writer's t0,
//   ttfb and total from the request's start. Negative differences are written as 0.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "proto/http_response.hpp"
#include "ringload/requests.hpp"

namespace ringload {

namespace limits {
inline constexpr std::size_t min_export_queue_bytes = 4 * 1024;
inline constexpr std::size_t max_export_message = 1024;  // longer error messages are cut
inline constexpr std::size_t max_export_item_field = 1024;  // event types and IDs are cut
}  // namespace limits

struct ExportOptions {
  std::string path;                       // "-": standard output
  uint64_t max_body = UINT64_MAX;         // body bytes kept per request (the shard caps; the writer too)
  bool errors_only = false;               // only requests with an error or a failed status
  std::size_t queue_bytes = 8u << 20;     // per shard; rounded up to a power of two >= 4 KiB
  // What counts as success for errors_only (status 0, no response, never does); called on
  // the writer thread. Empty: 200..399.
  std::function<bool(int)> success_status;
};

// A finished request. Plain data; the producer copies it, message included.
struct ExportEnd {
  uint64_t id = 0;                // as given to head()/body()
  uint32_t line_index = 0;        // index into RequestTable::lines
  uint32_t iteration = 0;         // the pass over the requests
  int status = 0;                 // final response status; 0: no response
  int error_kind = -1;            // -1: none, else static_cast<int>(ErrorKind)
  const char* error_message = nullptr;  // NUL-terminated, copied (cut at max_export_message); may be null
  uint64_t start_ns = 0;          // monotonic ns: when the request started
  uint64_t first_byte_ns = 0;     // first response byte; 0: none
  uint64_t end_ns = 0;            // when it finished
  bool body_truncated = false;    // the shard stopped passing body bytes at max_body
  int stream_end = -1;            // streams: static_cast<int>(StreamEnd); -1: not a stream
};

// An item of a stream's output: an SSE event or a received WebSocket data message. Its
// data follows in item_data() pieces.
struct ExportItem {
  uint64_t t_ns = 0;              // since the request's start
  bool message = false;           // false: an SSE event; true: a WebSocket message
  bool binary = false;            // message: binary (else text)
  bool has_type = false;          // event: an `event` field was given (else null)
  std::string_view type;          // event: its type (cut at max_export_item_field)
  std::string_view event_id;      // event: the last event ID in force ("" : null)
};

// Single-producer single-consumer byte ring of records [u32 length][u8 kind][3 pad][u64 id]
// [payload], 8-byte aligned, with a padding record where one would not fit before the wrap.
// The producer calls are for one thread (the shard); the consumer is the ExportWriter.
class ExportQueue {
 public:
  explicit ExportQueue(std::size_t capacity_bytes = 8u << 20);
  ~ExportQueue();
  ExportQueue(const ExportQueue&) = delete;
  ExportQueue& operator=(const ExportQueue&) = delete;

  // Producer side. Each call returns once every byte is copied into the ring; it waits
  // for the writer when the ring is full (spin, then yield, then 50 µs sleeps).
  // Ids are unique among this queue's unfinished requests; records of different ids
  // may interleave freely.
  void head(uint64_t id, std::span<const char> raw_head) noexcept;  // the final head as received
  void body(uint64_t id, std::span<const char> bytes) noexcept;     // decoded body bytes, in order
  void end(const ExportEnd& e) noexcept;                            // finished: the writer emits a line
  void discard(uint64_t id) noexcept;  // forget head/body sent for id (an attempt retried); no line
  // Streams: items in order, each followed by its data; the WebSocket close frame.
  void item(uint64_t id, const ExportItem& item) noexcept;
  void item_data(uint64_t id, std::span<const char> bytes) noexcept;
  void close(uint64_t id, uint16_t code, bool by_server, std::string_view reason) noexcept;

  uint64_t waits() const noexcept { return waits_.load(std::memory_order_relaxed); }
  std::size_t capacity() const noexcept { return mask_ + 1; }

 private:
  friend class ExportWriter;
  enum class Kind : uint8_t { pad, head, body, end, discard, item, item_data, close };
  static constexpr std::size_t record_header = 16;

  void chunks(Kind kind, uint64_t id, std::span<const char> bytes) noexcept;
  std::size_t reserve(std::size_t min_payload, std::size_t want, std::size_t& granted) noexcept;
  void ensure_free(std::size_t need) noexcept;
  void publish(std::size_t pos, Kind kind, uint64_t id, std::size_t payload_len) noexcept;

  // Producer's line: the tail it publishes and its private view of the consumer.
  alignas(64) std::atomic<uint64_t> tail_{0};
  uint64_t head_seen_ = 0;
  std::atomic<uint64_t> waits_{0};
  // Consumer's line.
  alignas(64) std::atomic<uint64_t> head_{0};
  // Read-only after construction.
  alignas(64) char* ring_ = nullptr;
  std::size_t mask_ = 0;
};

// Drains the queues on its own thread and writes the JSON lines.
// Lifetime: open() before the run; start() before any shard produces; finish() after every
// shard has stopped producing. The table and queues must outlive finish().
class ExportWriter {
 public:
  ExportWriter(const ExportOptions& options, const RequestTable& table,
               std::span<ExportQueue* const> queues, uint64_t t0_ns);
  ~ExportWriter();
  ExportWriter(const ExportWriter&) = delete;
  ExportWriter& operator=(const ExportWriter&) = delete;

  // Creates or truncates the file ("-": standard output). The error names the path.
  std::expected<void, std::string> open();
  // Starts the thread. Producers wait while it is not running and their ring is full.
  void start();
  // Drains every queue, drops the records of requests that never ended (in flight at
  // the stop), flushes and closes. The error is the first write failure (the writer keeps
  // draining after one, so producers never block on a broken file). Idempotent.
  std::expected<void, std::string> finish();

  uint64_t lines() const noexcept { return lines_.load(std::memory_order_relaxed); }  // any thread
  uint64_t dropped() const noexcept { return dropped_; }  // unfinished requests, after finish()

 private:
  struct Pending {
    std::string head;
    std::string body;       // the body, or the data of the open stream item
    bool truncated = false;
    std::string items;      // streams: the finished items, as JSON ("{...},{...}")
    uint64_t item_bytes = 0;  // streams: item data kept so far (capped by max_body)
    std::string item_head;  // the open item's JSON before its data; "" : none open
    bool item_binary = false;
    bool has_close = false;
    uint16_t close_code = 0;
    bool close_by_server = false;
    std::string close_reason;
  };
  struct Source {
    ExportQueue* queue = nullptr;
    std::unordered_map<uint64_t, uint32_t> pending;  // id -> slot in slots_
  };

  void run() noexcept;
  bool drain(Source& s, std::size_t max_records);
  void on_record(Source& s, ExportQueue::Kind kind, uint64_t id, std::span<const char> payload);
  void on_end(Source& s, uint64_t id, std::span<const char> payload);
  void release(Source& s, uint64_t id);
  void write_line(const ExportEnd& e, std::string_view message, const Pending* p);
  void write_request(const RequestLine* line, uint32_t iteration);
  void write_headers(std::string_view raw_head, bool head_request);
  void close_item(Pending& p);
  void write_stream(const RequestLine& line, const ExportEnd& e, const Pending* p);
  void flush();

  ExportOptions options_;
  const RequestTable& table_;
  std::vector<Source> sources_;
  std::vector<Pending> slots_;
  std::vector<uint32_t> free_slots_;
  std::vector<std::string> origins_;  // origin() of each table origin
  std::vector<proto::Header> header_scratch_;
  uint64_t t0_ns_ = 0;
  int fd_ = -1;
  bool close_fd_ = false;
  std::string out_;
  std::string error_;
  uint64_t last_flush_ns_ = 0;
  uint64_t seq_ = 0;
  uint64_t dropped_ = 0;
  std::atomic<uint64_t> lines_{0};
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool finished_ = false;
};

}  // namespace ringload
