// The shard's side of the response export: a single-producer single-consumer byte ring
// per shard. The shard copies what the exchange parsed (head, body, stream items, the
// end) into records; the export writer (export_writer.hpp) drains them on its own thread.
//
// The producer does no I/O, takes no lock and allocates nothing: it copies bytes into a
// ring allocated once, and waits (never drops) when the writer falls behind.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ringload {

namespace limits {
inline constexpr std::size_t min_export_queue_bytes = 4 * 1024;
inline constexpr std::size_t max_export_message = 1024;  // longer error messages are cut
inline constexpr std::size_t max_export_item_field = 1024;  // event types and IDs are cut
}  // namespace limits

// A finished request. Plain data; the producer copies it, message included.
// The protocol a response came over (the export line's "protocol").
enum class ExportProtocol : int32_t { http1 = 0, h2 = 1 };

struct ExportEnd {
  uint64_t id = 0;                // as given to head()/body()
  uint32_t line_index = 0;        // index into RequestTable::lines
  uint32_t iteration = 0;         // the pass over the requests
  int status = 0;                 // final response status; 0: no complete head
  int error_kind = -1;            // -1: none, else static_cast<int>(ErrorKind)
  const char* error_message = nullptr;  // NUL-terminated, copied (cut at max_export_message); may be null
  uint64_t start_ns = 0;          // monotonic ns: when the request started
  uint64_t first_byte_ns = 0;     // first response byte; 0: none
  uint64_t end_ns = 0;            // when it finished
  bool body_truncated = false;    // the shard stopped passing body bytes at max_body
  int stream_end = -1;            // streams: static_cast<int>(StreamEnd); -1: not a stream
  ExportProtocol protocol = ExportProtocol::http1;
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

// Records: [u32 length][u8 kind][3 pad][u64 id][payload], 8-byte aligned, with a padding
// record where one would not fit before the wrap. The producer calls are for one thread
// (the shard); the consumer is the ExportWriter.
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
  // A plugin's version of the response (plugin.h: response_export_head / _body): the head
  // replaces the received one (its status code becomes the line's status); reset_body()
  // forgets the body so far, and body() calls that follow are the plugin's.
  void replace_head(uint64_t id, std::span<const char> raw_head) noexcept;
  void reset_body(uint64_t id) noexcept;
  // Streams: items in order, each followed by its data; the WebSocket close frame.
  void item(uint64_t id, const ExportItem& item) noexcept;
  void item_data(uint64_t id, std::span<const char> bytes) noexcept;
  void close(uint64_t id, uint16_t code, bool by_server, std::string_view reason) noexcept;

  uint64_t waits() const noexcept { return waits_.load(std::memory_order_relaxed); }
  std::size_t capacity() const noexcept { return mask_ + 1; }

  // Consumer side (one thread).
  enum class Kind : uint8_t { pad, head, body, end, discard, item, item_data, close, head_reset, body_reset };
  struct Record {
    Kind kind;
    uint64_t id;
    std::span<const char> payload;
  };
  // Calls fn(Record) for up to `max_records` records, freeing each after its call.
  // Returns whether anything was consumed.
  template <typename Fn>
  bool drain(std::size_t max_records, Fn&& fn);

  // The fixed part of the payloads of end, item and close records; variable bytes follow.
  struct EndFields {
    uint64_t start_ns, first_byte_ns, end_ns;
    uint32_t line_index, iteration;
    int32_t status, error_kind;
    uint32_t message_len, truncated;  // message bytes follow
    int32_t stream_end, protocol;
  };
  struct ItemFields {
    uint64_t t_ns;
    uint32_t type_len, id_len;  // type then id bytes follow
    uint8_t message, binary, has_type, pad[5];
  };
  struct CloseFields {
    uint16_t code;
    uint8_t by_server, pad;
    uint32_t reason_len;  // reason bytes follow
  };

 private:
  static constexpr std::size_t record_header = 16;
  static constexpr std::size_t round8(std::size_t n) noexcept { return (n + 7) & ~std::size_t{7}; }

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

template <typename Fn>
bool ExportQueue::drain(std::size_t max_records, Fn&& fn) {
  uint64_t head = head_.load(std::memory_order_relaxed);
  const uint64_t start = head, tail = tail_.load(std::memory_order_acquire);
  for (std::size_t n = 0; head != tail && n < max_records;) {
    const char* r = ring_ + (head & mask_);
    uint32_t len;
    __builtin_memcpy(&len, r, 4);
    const auto kind = static_cast<Kind>(r[4]);
    if (kind == Kind::pad) {
      head += len;
    } else {
      uint64_t id;
      __builtin_memcpy(&id, r + 8, 8);
      fn(Record{kind, id, {r + record_header, len - record_header}});
      head += round8(len);
      ++n;
    }
    // Freed record by record: a producer waiting on a small ring resumes sooner.
    head_.store(head, std::memory_order_release);
  }
  return head != start;
}

}  // namespace ringload
