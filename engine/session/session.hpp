// The session seam: what a request on a connection is, by protocol. One type per
// protocol, one file each:
//   http_session  HTTP/1.1 request and response (stateless beyond the slot's HttpExchange)
//   sse_session   a Server-Sent Events stream over an HTTP response body
//   ws_session    a WebSocket session after a 101
// Each provides, for the connection `c` in flight:
//   start(c, env, now)          the request head is in c.scratch: set up
//   produce(c, env, out)        the transport is writable: the next bytes to send, if any
//   on_read(c, env, plaintext)  bytes from the peer
//   on_eof(c, env)              the peer closed
//   on_timer(c, env, now)       deadline(c, env) passed (maybe early: re-arm and go on)
//   on_stop(c, env)             the run is ending: a stream ends as run_end; HTTP stays
//                               in flight
//   finish(c, env, ok, now)     the request is over (any way): its own figures; returns
//                               the stream end for the export (-1: not a stream)
//   farewell(c, env, out)       failed: last words to the peer (a WebSocket close frame)
// and returns a Step. A session never closes, fails or recycles the connection itself:
// the shard acts on the Step, and only the shard does. So nothing a session does can pull
// the slot from under it, and no caller re-checks a generation.
#pragma once
#include <cstdint>
#include <span>

#include "engine/core/conn.hpp"
#include "proto/http_response.hpp"
#include "ringload/config.hpp"
#include "engine/requests/request_table.hpp"
#include "ringload/stats.hpp"

namespace ringload {

class ExportQueue;
class PluginShard;

struct Step {
  enum class Kind : uint8_t { more, done, failed };
  // done: what becomes of the connection (and which counter says who closed it).
  enum class Then : uint8_t { reuse, close_by_client, close_by_server };

  Kind kind = Kind::more;
  bool ok = false;                        // done: a success
  Then then = Then::reuse;                // done
  bool farewell = false;                  // failed: send farewell() before closing
  ErrorKind error = ErrorKind::protocol;  // failed; done with a message: an error of this kind
  const char* message = nullptr;          // failed (done: a plugin's hook error, else null):
                                          // static, or alive until the step is acted on

  static constexpr Step more() noexcept { return {}; }
  static constexpr Step done(bool ok, Then then) noexcept { return {Kind::done, ok, then}; }
  static constexpr Step fail(ErrorKind kind, const char* message, bool farewell = false) noexcept {
    return {Kind::failed, false, Then::reuse, farewell, kind, message};
  }
  bool terminal() const noexcept { return kind != Kind::more; }
};

// Bytes to send: `a` then `b` (either may be empty). They must stay valid and unchanged
// until the transport is writable again.
struct Output {
  std::span<const char> a, b;
  bool empty() const noexcept { return a.empty() && b.empty(); }
};

// A source of unpredictable-enough numbers (WebSocket keys and masks: RFC 6455 §10.3
// asks that a browser's script cannot predict them; a load generator has no script to
// protect from). splitmix64.
struct Random {
  uint64_t state = 1;
  uint64_t next() noexcept {
    uint64_t z = (state += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }
};

// A request a multiplexing session (Conn::mux) owns has ended: how. The shard counts it,
// times it and exports it like a request of Conn::req; the connection is untouched.
struct RequestEnd {
  bool ok = false;                        // a complete response with a success status
  bool complete = false;                  // a complete response (else a failure after the send)
  int status = 0;                         // the final status; 0: no final head
  ErrorKind error = ErrorKind::protocol;  // with `message`: an error of this kind
  const char* message = nullptr;          // static, or alive until ended() returns
  uint64_t now = 0;
  // Not processed by the server (RFC 9113 §6.8: above a GOAWAY's last_stream_id) and not
  // yet resent: the shard sends it again on another connection, same intended time, once.
  bool resend = false;
};

// Where a multiplexing session hands back each request it owns once it ended (the shard).
// ended() never closes or recycles the connection, so a session may call it from inside
// its own read (an HTTP/2 stream closing in the middle of a frame batch) and go on.
class RequestEnds {
 public:
  virtual void ended(uint32_t slot, InFlight& request, const RequestEnd& end) noexcept = 0;

 protected:
  ~RequestEnds() = default;
};

// What a session may use of its shard besides its connection.
struct SessionEnv {
  Stats& stats;
  ExportQueue* exports;               // null: no --export
  const RunConfig& config;
  std::span<proto::Header> headers;   // scratch for the response head parser
  std::size_t scratch_size = 0;       // bytes of each connection's scratch
  PluginShard* plugins = nullptr;     // null: no plugins loaded
  Random random;
  uint64_t rx_ns = 0;                 // when the bytes being handled arrived
  RequestEnds* ends = nullptr;        // the shard, for multiplexing sessions

  // The request's deadline (streams: for the head and each gap): its line's, else the run's.
  uint64_t request_timeout(const RequestLine& r) const noexcept {
    return r.timeout_ns != 0 ? r.timeout_ns : static_cast<uint64_t>(config.timeout.count());
  }
  bool success(int status) const noexcept { return success_status(config, status); }
};

// Before a stream starts (no head yet, or an error page's body): the wait is bounded by
// the request's timeout from the last bytes received and, while no head has come, by the
// stream's stream_timeout from the send. A failed Step when one passed, else more.
inline Step before_stream_timer(const Conn& c, const SessionEnv& env, uint64_t last_rx_ns, uint64_t now) noexcept {
  const uint64_t timeout = env.request_timeout(*c.req.request);
  const bool head = c.exchange.state() == ExchangeState::head;
  const uint64_t cut = c.req.stream->stream_timeout_ns;
  if ((head && cut != 0 && now >= c.req.sent_ns + cut) || (timeout != 0 && now >= last_rx_ns + timeout))
    return Step::fail(ErrorKind::timeout, head ? "no response head in time" : "request timed out");
  return Step::more();
}

}  // namespace ringload
