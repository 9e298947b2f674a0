// Response export (--export FILE.jsonl): every finished request as one JSON line.
//
// Each shard owns one ExportQueue (export_queue.hpp) and is its only producer; one
// ExportWriter thread drains all queues, assembles each request's head, body and end,
// and writes the file.
//
// Output line (keys always in this order; optional keys only when they apply):
//   {"seq":0,"line":12|null,"iteration":0,"name":"GET /a","url":"http://h:80/a?q",
//    "method":"GET","status":200|null,"headers":[["Name","value"],...],
//    "body":"..." | "body_base64":"...", "body_truncated":true,
//    "error":{"kind":"timeout","message":"..."},
//    "timing":{"start_us":1.234,"ttfb_us":0.567|null,"total_us":0.890}}
// - seq: the line's 0-based position in the file. line: the request file's line (null when
//   the request did not come from a file). name: the line's `name`, else method + " " + path.
// - status: null when no complete response head arrived (headers then []).
// - headers: the final response head's fields in the order received, repeats kept.
// - body: decoded body (chunked framing removed) when it is valid UTF-8, else body_base64
//   (RFC 4648 §4, padded). Other strings: invalid UTF-8 bytes become U+FFFD.
// - timing: microseconds with 3 decimals (exact nanoseconds): start from the writer's t0,
//   ttfb and total from the request's start. Negative differences are written as 0.
//
// Memory does not grow with a response's size: a body (or a stream's items) beyond a
// bound is held in an unlinked temporary file in the export file's directory until its
// line is written (spill_buffer.hpp).
//
// Whole lines only: lines() counts the lines in the file. After a failed write the writer
// cuts a regular file back to its last whole line and writes nothing more (it keeps
// draining the queues, so the shards never block); failed() tells the engine to stop.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/output/export_queue.hpp"
#include "engine/output/spill_buffer.hpp"
#include "proto/http_response.hpp"
#include "proto/utf8.hpp"
#include "engine/requests/request_table.hpp"

namespace ringload {

struct ExportOptions {
  std::string path;                       // "-": standard output
  uint64_t max_body = UINT64_MAX;         // body bytes kept per request (the shard caps; the writer too)
  bool errors_only = false;               // only requests with an error or a failed status
  std::size_t queue_bytes = 8u << 20;     // per shard; rounded up to a power of two >= 4 KiB
  // What counts as success for errors_only (status 0, no response, never does); called on
  // the writer thread. Empty: 200..399.
  std::function<bool(int)> success_status;
  std::size_t spill_per_request = 1u << 20;  // body / item bytes one request keeps in memory
  std::size_t spill_total = 32u << 20;       // ... and all unfinished requests together
  std::string spill_dir;  // temporary files; "": the export file's directory ($TMPDIR or /tmp for "-")
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
  // Moves the start the lines' times count from; only before any shard produces (the
  // open loop's start, after its connections opened).
  void set_t0(uint64_t t0_ns) noexcept { t0_ns_ = t0_ns; }
  // Drains every queue, drops the records of requests that never ended (in flight at
  // the stop), flushes and closes. The error is the first write failure. Idempotent.
  std::expected<void, std::string> finish();

  uint64_t lines() const noexcept { return lines_.load(std::memory_order_relaxed); }  // any thread
  bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }    // any thread
  uint64_t dropped() const noexcept { return dropped_; }  // unfinished requests, after finish()
  uint64_t spills() const noexcept { return area_.spills(); }  // after finish()

 private:
  struct Pending {
    std::string head;
    SpillBuffer data;            // the body, or the data of the open stream item
    proto::Utf8Validator utf8;   // of `data`
    bool truncated = false;
    bool head_replaced = false;  // a plugin's head: the line's status is read from it
    bool body_replaced = false;  // a plugin's body: the shard's truncation no longer applies
    SpillBuffer items;           // streams: the finished items, as JSON ("{...},{...}")
    uint64_t item_bytes = 0;     // streams: item data kept so far (capped by max_body)
    std::string item_head;       // the open item's JSON before its data; "" : none open
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
  void on_record(Source& s, const ExportQueue::Record& r);
  void on_item(Pending& p, std::span<const char> payload);
  void on_data(Pending& p, std::span<const char> bytes, bool item);
  void on_end(Source& s, uint64_t id, std::span<const char> payload);
  static void replaced(const Pending& p, ExportEnd& e);
  Pending& pending(Source& s, uint64_t id);
  void release(Source& s, uint64_t id);
  void write_line(const ExportEnd& e, std::string_view message, Pending* p);
  void write_request(const RequestLine* line, uint32_t iteration);
  void write_headers(std::string_view raw_head, bool head_request);
  void write_data(Pending& p, std::string_view text_key, std::string_view base64_key, bool binary);
  template <typename Grown>
  void append_data(std::string& o, Pending& p, bool text, Grown&& grown);
  void close_item(Pending& p);
  void write_stream(const RequestLine& line, const ExportEnd& e, Pending* p);
  void flush();
  void fail(const std::string& why);

  ExportOptions options_;
  const RequestTable& table_;
  std::vector<Source> sources_;
  std::vector<Pending> slots_;
  std::vector<uint32_t> free_slots_;
  std::vector<std::string> origins_;  // origin() of each table origin
  std::vector<proto::Header> header_scratch_;
  SpillArea area_;
  std::string read_scratch_;          // spilled data read back
  std::string item_text_;             // an item's JSON on its way into `items`
  uint64_t t0_ns_ = 0;
  int fd_ = -1;
  bool close_fd_ = false;
  bool regular_file_ = false;         // can be cut back to its last whole line
  uint64_t written_ = 0;              // bytes in the file
  uint64_t whole_ = 0;                // bytes in the file up to its last newline
  std::string out_;
  std::string error_;
  uint64_t last_flush_ns_ = 0;
  uint64_t seq_ = 0;
  uint64_t dropped_ = 0;
  std::atomic<uint64_t> lines_{0};
  std::atomic<bool> failed_{false};
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool finished_ = false;
};

}  // namespace ringload
