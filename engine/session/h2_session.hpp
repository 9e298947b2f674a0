// An HTTP/2 connection (RFC 9113) over libnghttp2: framing, HPACK, flow control and the
// stream state machine are the library's; it works on buffers (mem_recv / mem_send) and
// does no I/O, so it sits on the transport like HttpExchange does. The session is the
// connection's (Conn::mux): it speaks first (preface, SETTINGS), reads between requests,
// and owns one InFlight record per stream, handed back to the shard through
// SessionEnv::ends when the stream closes. The session contract is in session.hpp.
//
// Up to `max_streams` streams at once (--max-streams), fewer when the server's
// SETTINGS_MAX_CONCURRENT_STREAMS says so: that is Conn::capacity, 0 until the server's
// first SETTINGS arrived (the connection's first round trip). After a GOAWAY the
// capacity is 0; streams above its last_stream_id end as not processed (handed back with
// RequestEnd::resend the first time: the shard sends them again elsewhere), and the
// connection ends (then reconnects) when its last stream did.
#pragma once
#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/core/conn.hpp"
#include "engine/session/h2_pool.hpp"
#include "engine/session/h2_requests.hpp"
#include "engine/session/session.hpp"

namespace ringload {

// What every HTTP/2 session of a shard shares: nghttp2's callbacks and options.
struct H2Shared {
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_option* option = nullptr;
  H2Requests requests;
  H2Pool pool;                        // nghttp2's memory
  uint32_t max_streams = 1;
  Http2Counters* counters = nullptr;
  const RequestLine* lines = nullptr;  // the table's lines (a request's index)

  std::string setup(const RequestTable& table, std::span<const Origin> origins, const RunConfig& config,
                    Http2Counters& counters) noexcept;
  ~H2Shared();
};

class H2Session {
 public:
  H2Session() = default;
  ~H2Session();
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  // The connection is ready: a new nghttp2 session, our SETTINGS queued. False: out of memory.
  bool ready(uint32_t slot, Conn& c, SessionEnv& env, H2Shared& shared, uint64_t now) noexcept;
  InFlight& acquire() noexcept;
  // acquire()'s record goes back unused (a plugin skipped its request, or failed on it).
  void unacquire() noexcept { release(streams_[pending_]); }
  // Submits the request of `r` (acquire()'s) as a new stream: its line's header list, or
  // `nv` (a plugin's version, copied by nghttp2). Null, or why it failed.
  const char* start(Conn& c, InFlight& r, SessionEnv& env, uint64_t now, std::span<const nghttp2_nv> nv = {}) noexcept;
  Step produce(Conn& c, SessionEnv& env, Output& out) noexcept;
  Step on_read(Conn& c, SessionEnv& env, std::span<const char> data) noexcept;
  Step on_eof(Conn& c, SessionEnv& env) noexcept;
  Step on_timer(Conn& c, SessionEnv& env, uint64_t now) noexcept;
  uint64_t deadline() const noexcept;
  // The connection is going: every open stream ends as failed (kind, message).
  void abort(Conn& c, SessionEnv& env, ErrorKind kind, const char* message, uint64_t now) noexcept;
  std::size_t bytes() const noexcept;

  // One request on the wire.
  struct Stream {
    InFlight req;
    int32_t id = -1;             // -1: free
    int status = 0;              // the final :status
    uint32_t header_bytes = 0;   // decoded header list so far
    bool complete = false;       // END_STREAM received after a final head
    bool head_done = false;      // the final head's fields were exported
    bool failed = false;         // ended by us (timeout, header list): its close is ignored
    std::size_t body_sent = 0;   // request body bytes given to nghttp2
    uint32_t next_free = 0;
  };

 private:
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* self) noexcept;
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                       const uint8_t* value, size_t valuelen, uint8_t flags, void* self) noexcept;
  static int on_data_chunk(nghttp2_session*, uint8_t flags, int32_t id, const uint8_t* data, size_t len,
                           void* self) noexcept;
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self) noexcept;
  static int on_stream_close(nghttp2_session*, int32_t id, uint32_t error_code, void* self) noexcept;
  static ssize_t read_body(nghttp2_session*, int32_t id, uint8_t* buf, size_t length, uint32_t* flags,
                           nghttp2_data_source* source, void* self) noexcept;
  friend struct H2Shared;

  Stream* stream_of(int32_t id) const noexcept;
  void settings(const nghttp2_settings& frame) noexcept;
  void end_stream(Stream& s, const RequestEnd& end) noexcept;
  void fail_stream(Stream& s, ErrorKind kind, const char* message, uint64_t now) noexcept;
  void release(Stream& s) noexcept;
  Step after_read() noexcept;

  nghttp2_session* ng_ = nullptr;
  H2Shared* shared_ = nullptr;
  std::unique_ptr<Stream[]> streams_;  // max_streams, made at the first ready()
  uint32_t free_ = UINT32_MAX;         // free list through Stream::next_free
  uint32_t pending_ = 0;               // acquire()'s, for start()
  uint32_t slot_ = 0;
  uint32_t open_ = 0;                  // streams in use
  uint32_t bodies_pending_ = 0;        // streams whose request body is not all given to nghttp2
  bool body_progress_ = false;
  bool stalled_ = false;
  bool goaway_ = false;
  bool acked_ = false;                 // our SETTINGS were acknowledged
  bool settings_seen_ = false;         // the server's first SETTINGS came (streams may open)
  int32_t last_stream_id_ = INT32_MAX; // the GOAWAY's
  uint64_t ack_deadline_ = UINT64_MAX;
  uint64_t earliest_ = UINT64_MAX;     // no stream's deadline is before this
  // While a read or a timer is handled: the slot's connection and the shard's env.
  Conn* c_ = nullptr;
  SessionEnv* env_ = nullptr;
  const char* failure_ = nullptr;      // set by a callback: the connection fails
  char message_[96] = {};              // a stream's reset, spelled out
  std::unique_ptr<char[]> out_;        // frames batched into one send
};

}  // namespace ringload
