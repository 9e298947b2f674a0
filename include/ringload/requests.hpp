// Requests as values: what makes a request a stream (StreamSpec), and a loaded request
// file (RequestFile, opaque: the rendered table stays inside the engine).
#pragma once
#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ringload/export.hpp"
#include "ringload/url.hpp"

namespace ringload {

namespace limits {
inline constexpr std::size_t max_request_head = 16 * 1024;  // request line + a line's headers
inline constexpr std::size_t max_named_stats = 100;         // names with their own stats
}  // namespace limits

// A line's HTTP version (the request file's "http2" key): `run`, the run's --h2c / --http2
// decides; `off`, HTTP/1.1 whatever the run says; `on`, HTTP/2 (h2c with prior knowledge
// for http://, h2 offered by ALPN for https://). An origin's lines with different choices
// get a connection group each.
enum class LineHttp2 : uint8_t { run, off, on };

// What makes a line a stream rather than one request/response: Server-Sent Events or a
// WebSocket session, with the rules that end it.
enum class StreamProto : uint8_t { sse, ws };

struct WsMessage {
  bool binary = false;  // false: a text message (valid UTF-8)
  std::string data;
};

struct StreamSpec {
  StreamProto proto = StreamProto::sse;
  uint64_t max_events = 0;         // sse: end after this many events; 0: no limit
  uint64_t stream_timeout_ns = 0;  // end (a success) this long after the send; 0: none
  bool has_until = false;          // sse: an event with this data / ws: a text message
  std::string until;               //   equal to `until` ends the stream (it is kept)
  std::vector<WsMessage> messages; // ws: sent in order once the handshake is done
  bool has_expect = false;         // ws: done after `expect` received data messages
  uint64_t expect = 0;
  uint64_t idle_timeout_ns = 0;    // ws: done after this long with nothing received; 0: none
  uint64_t interval_ns = 0;        // ws: messages this far apart (the first at once); 0: back to back
  uint64_t repeat = 1;             // ws: passes over `messages`; 0: until the session ends otherwise
  std::vector<std::string> subprotocols;  // ws: offered in Sec-WebSocket-Protocol
  uint32_t key_offset = 0;         // ws: where the Sec-WebSocket-Key value sits in the head
};

class RequestTable;

// A request file loaded and rendered (ringload/request_file.hpp: load_request_file), ready
// to be run any number of times. Copies share the same read-only table. Empty: none.
class RINGLOAD_API RequestFile {
 public:
  RequestFile() = default;
  explicit RequestFile(std::shared_ptr<const RequestTable> table) noexcept : table_(std::move(table)) {}

  bool empty() const noexcept { return table_ == nullptr; }
  std::size_t size() const noexcept;     // requests (the file's non-blank lines)
  std::size_t origins() const noexcept;  // distinct origins (scheme, host, port)
  const std::string& path() const noexcept;  // as given to load_request_file

  // For the engine: the rendered table (an incomplete type outside it).
  const std::shared_ptr<const RequestTable>& table() const noexcept { return table_; }

 private:
  std::shared_ptr<const RequestTable> table_;
};

}  // namespace ringload
