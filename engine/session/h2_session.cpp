#include "engine/session/h2_session.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include "engine/output/export_queue.hpp"
#include "proto/status.hpp"

namespace ringload {
namespace {

constexpr std::size_t out_size = 8 * 1024;  // frames batched per send (bigger DATA goes zero-copy)
// Our receive windows, connection and stream (h2load's -w 30 / -W 30): a load generator
// should not pace the server with WINDOW_UPDATEs.
constexpr int32_t window = (1 << 30) - 1;
// RFC 9113 §6.5.2: a field counts its name, value and 32 octets. The HTTP/1.1 limit.
constexpr uint32_t max_header_list = proto::limits::max_head_bytes;

// The server ended the connection before its SETTINGS (RFC 9113 §3.4: its preface):
// a GOAWAY, a close, or bytes that are no HTTP/2 (an HTTP/1.1 server's 400).
constexpr const char* preface_rejected = "the server rejected the HTTP/2 connection (no SETTINGS from it)";

H2Session& self_of(void* p) noexcept { return *static_cast<H2Session*>(p); }

// Plugins' copy of a response (ResponseCapture): a string that grows to the longest
// response its record held, once (out of memory: the copy is cut, the run goes on).
void capture(std::string& to, std::string_view a, std::string_view b = {}, std::string_view c = {},
             std::string_view d = {}) noexcept {
  const std::size_t at = to.size(), n = a.size() + b.size() + c.size() + d.size();
  try {
    // One capacity check and the copies (four appends measured 2.5 % of a run's CPU).
    to.resize_and_overwrite(at + n, [&](char* p, std::size_t) noexcept {
      char* out = p + at;
      for (const std::string_view part : {a, b, c, d}) {
        if (!part.empty()) std::memcpy(out, part.data(), part.size());
        out += part.size();
      }
      return at + n;
    });
  } catch (const std::bad_alloc&) {
  }
}

}  // namespace

std::string H2Shared::setup(const RequestTable& table, std::span<const Origin> origins, const RunConfig& config,
                            Http2Counters& c) noexcept {
  max_streams = config.max_streams;
  counters = &c;
  lines = table.lines.data();
  if (nghttp2_session_callbacks_new(&callbacks) != 0 || nghttp2_option_new(&option) != 0)
    return "out of memory for HTTP/2";
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, H2Session::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, H2Session::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, H2Session::on_data_chunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, H2Session::on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, H2Session::on_stream_close);
  // Until the server's SETTINGS arrive, assume it takes what we ask for.
  nghttp2_option_set_peer_max_concurrent_streams(option, max_streams);
  return requests.setup(table, origins);
}

H2Shared::~H2Shared() {
  if (callbacks != nullptr) nghttp2_session_callbacks_del(callbacks);
  if (option != nullptr) nghttp2_option_del(option);
}

H2Session::~H2Session() {
  if (ng_ != nullptr) nghttp2_session_del(ng_);
}

std::size_t H2Session::bytes() const noexcept {
  return streams_ ? shared_->max_streams * sizeof(Stream) + out_size : 0;
}

bool H2Session::ready(uint32_t slot, Conn& c, SessionEnv& env, H2Shared& shared, uint64_t now) noexcept {
  shared_ = &shared;
  const uint32_t n = shared.max_streams;
  if (!streams_) {
    streams_.reset(new (std::nothrow) Stream[n]);
    out_.reset(new (std::nothrow) char[out_size]);
    if (!streams_ || !out_) return false;
  }
  for (uint32_t i = 0; i < n; ++i) {
    streams_[i] = Stream{};
    streams_[i].next_free = i + 1 < n ? i + 1 : UINT32_MAX;
  }
  free_ = 0;
  open_ = bodies_pending_ = 0;
  body_progress_ = stalled_ = goaway_ = acked_ = false;
  last_stream_id_ = INT32_MAX;
  earliest_ = UINT64_MAX;
  slot_ = slot;
  c_ = &c;
  env_ = &env;
  if (ng_ != nullptr) nghttp2_session_del(ng_);
  ng_ = nullptr;
  if (nghttp2_session_client_new3(&ng_, shared.callbacks, this, shared.option, shared.pool.mem()) != 0) return false;
  const nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                       {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(window)}};
  nghttp2_submit_settings(ng_, NGHTTP2_FLAG_NONE, iv, std::size(iv));
  nghttp2_session_set_local_window_size(ng_, NGHTTP2_FLAG_NONE, 0, window);
  const auto timeout = static_cast<uint64_t>((env.config.timeout.count() != 0 ? env.config.timeout
                                                                               : env.config.connect_timeout).count());
  ack_deadline_ = now + timeout;
  c.mux = true;
  // No stream before the server's SETTINGS say how many it takes: requests sent on the
  // default (unlimited) would cross its limit and come back REFUSED_STREAM.
  c.capacity = 0;
  settings_seen_ = false;
  c.session = SessionKind::h2;
  ++shared.counters->connections;
  return true;
}

InFlight& H2Session::acquire() noexcept {
  // The shard asks only while Conn::in_flight < capacity <= max_streams: one is free.
  Stream& s = streams_[free_];
  pending_ = free_;
  free_ = s.next_free;
  s = Stream{};
  s.id = 0;  // taken, not yet submitted
  s.req.record = static_cast<uint16_t>(pending_);
  ++open_;
  return s.req;
}

void H2Session::release(Stream& s) noexcept {
  s.id = -1;
  s.next_free = free_;
  free_ = static_cast<uint32_t>(&s - streams_.get());
  --open_;
}

const char* H2Session::start(Conn&, InFlight& r, SessionEnv& env, uint64_t now, std::span<const nghttp2_nv> own) noexcept {
  Stream& s = streams_[pending_];
  const auto line = static_cast<uint32_t>(r.request - shared_->lines);
  const std::span<const nghttp2_nv> nv = own.empty() ? shared_->requests.headers(line) : own;
  nghttp2_data_provider body{};
  body.source.ptr = &s;
  body.read_callback = read_body;
  const int32_t id = nghttp2_submit_request(ng_, nullptr, nv.data(), nv.size(), r.body.empty() ? nullptr : &body, &s);
  if (id < 0) {
    release(s);
    return nghttp2_strerror(id);
  }
  s.id = id;
  if (!r.body.empty()) ++bodies_pending_;
  r.request_queued = true;
  Http2Counters& k = *shared_->counters;
  ++k.streams;
  k.max_concurrent = std::max<uint64_t>(k.max_concurrent, open_);
  if (const uint64_t t = env.request_timeout(*r.request); t != 0) earliest_ = std::min(earliest_, now + t);
  return nullptr;
}

Step H2Session::produce(Conn&, SessionEnv& env, Output& out) noexcept {
  std::size_t n = 0;
  for (;;) {
    const uint8_t* data = nullptr;
    const ssize_t len = nghttp2_session_mem_send(ng_, &data);
    if (len < 0) return Step::fail(ErrorKind::protocol, nghttp2_strerror(static_cast<int>(len)));
    if (len == 0) break;
    const auto size = static_cast<std::size_t>(len);
    env.stats.counters.bytes_out += size;
    const std::span<const char> frame(reinterpret_cast<const char*>(data), size);
    if (n + size <= out_size) {
      std::memcpy(out_.get() + n, data, size);
      n += size;
      continue;
    }
    // nghttp2's own buffer stays valid until the next mem_send: the next produce(), once
    // the transport took these bytes.
    out.a = {out_.get(), n};
    out.b = frame;
    return Step::more();
  }
  out.a = {out_.get(), n};
  if (bodies_pending_ == 0 || body_progress_) stalled_ = false;
  if (bodies_pending_ > 0 && !stalled_ && n == 0) {
    // Bodies wait and nothing can go: the server's flow-control window is shut.
    ++shared_->counters->flow_control_stalls;
    stalled_ = true;
  }
  body_progress_ = false;
  return n == 0 ? after_read() : Step::more();
}

Step H2Session::after_read() noexcept {
  if (failure_ != nullptr) {
    const char* why = failure_;
    failure_ = nullptr;
    return Step::fail(ErrorKind::protocol, why);
  }
  const bool ended = !nghttp2_session_want_read(ng_) && !nghttp2_session_want_write(ng_);
  if ((goaway_ || ended) && !settings_seen_) return Step::fail(ErrorKind::protocol, preface_rejected);
  if (goaway_ && open_ == 0) return Step::done(false, Step::Then::close_by_server);
  if (ended) {
    if (open_ > 0) return Step::fail(ErrorKind::protocol, "the HTTP/2 session ended with streams open");
    return Step::done(false, Step::Then::close_by_server);
  }
  return Step::more();
}

Step H2Session::on_read(Conn&, SessionEnv&, std::span<const char> data) noexcept {
  const ssize_t rv =
      nghttp2_session_mem_recv(ng_, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  if (rv < 0) return Step::fail(ErrorKind::protocol, nghttp2_strerror(static_cast<int>(rv)));
  return after_read();
}

Step H2Session::on_eof(Conn&, SessionEnv&) noexcept {
  if (!settings_seen_) return Step::fail(ErrorKind::protocol, preface_rejected);
  if (open_ > 0) return Step::fail(ErrorKind::read, "the server closed the HTTP/2 connection with streams open");
  return Step::done(false, Step::Then::close_by_server);
}

uint64_t H2Session::deadline() const noexcept { return acked_ ? earliest_ : std::min(earliest_, ack_deadline_); }

// A stream past its deadline is reset (CANCEL) and ends as a timeout; the connection goes
// on. Our SETTINGS unacknowledged by then fails the connection (RFC 9113 §6.5.3).
Step H2Session::on_timer(Conn&, SessionEnv& env, uint64_t now) noexcept {
  if (!acked_ && now >= ack_deadline_) return Step::fail(ErrorKind::timeout, "no HTTP/2 SETTINGS ACK in time");
  if (now < earliest_) return Step::more();
  earliest_ = UINT64_MAX;
  for (uint32_t i = 0; i < shared_->max_streams; ++i) {
    Stream& s = streams_[i];
    if (s.id <= 0) continue;
    const uint64_t t = env.request_timeout(*s.req.request);
    if (t == 0) continue;
    if (now < s.req.sent_ns + t) {
      earliest_ = std::min(earliest_, s.req.sent_ns + t);
      continue;
    }
    nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_CANCEL);
    ++shared_->counters->rst_sent;
    fail_stream(s, ErrorKind::timeout, "request timed out", now);
  }
  return after_read();
}

void H2Session::abort(Conn&, SessionEnv&, ErrorKind kind, const char* message, uint64_t now) noexcept {
  if (streams_) {
    for (uint32_t i = 0; i < shared_->max_streams; ++i)
      if (streams_[i].id > 0) fail_stream(streams_[i], kind, message, now);
  }
  if (ng_ != nullptr) nghttp2_session_del(ng_);
  ng_ = nullptr;
}

H2Session::Stream* H2Session::stream_of(int32_t id) const noexcept {
  return static_cast<Stream*>(nghttp2_session_get_stream_user_data(ng_, id));
}

void H2Session::end_stream(Stream& s, const RequestEnd& end) noexcept {
  if (!s.req.body.empty() && s.body_sent < s.req.body.size()) --bodies_pending_;
  if (ng_ != nullptr && s.id > 0) nghttp2_session_set_stream_user_data(ng_, s.id, nullptr);
  release(s);
  // The record stays intact until the next acquire(), after ended() returned.
  env_->ends->ended(slot_, s.req, end);
}

void H2Session::fail_stream(Stream& s, ErrorKind kind, const char* message, uint64_t now) noexcept {
  RequestEnd end;
  end.error = kind;
  end.message = message;
  end.now = now;
  end_stream(s, end);
}

void H2Session::settings(const nghttp2_settings& frame) noexcept {
  Http2Counters& k = *shared_->counters;
  ++k.settings_frames;
  if (!settings_seen_ && !goaway_) c_->capacity = static_cast<uint16_t>(std::min<uint32_t>(shared_->max_streams, UINT16_MAX));
  settings_seen_ = true;
  for (std::size_t i = 0; i < frame.niv; ++i) {
    const uint64_t v = frame.iv[i].value;
    switch (frame.iv[i].settings_id) {
      case NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS:
        k.max_concurrent_streams = std::max(k.max_concurrent_streams, v);
        if (!goaway_) c_->capacity = static_cast<uint16_t>(std::min<uint64_t>({shared_->max_streams, v, UINT16_MAX}));
        break;
      case NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE: k.initial_window_size = std::max(k.initial_window_size, v); break;
      case NGHTTP2_SETTINGS_MAX_FRAME_SIZE: k.max_frame_size = std::max(k.max_frame_size, v); break;
      case NGHTTP2_SETTINGS_HEADER_TABLE_SIZE: k.header_table_size = std::max(k.header_table_size, v); break;
      case NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE: k.max_header_list_size = std::max(k.max_header_list_size, v); break;
      default: break;
    }
  }
}

int H2Session::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* p) noexcept {
  H2Session& h = self_of(p);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  if (Stream* s = h.stream_of(frame->hd.stream_id); s != nullptr && s->req.first_byte_ns == 0)
    s->req.first_byte_ns = h.env_->rx_ns;
  return 0;
}

int H2Session::on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                         const uint8_t* value, size_t valuelen, uint8_t, void* p) noexcept {
  H2Session& h = self_of(p);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  Stream* s = h.stream_of(frame->hd.stream_id);
  if (s == nullptr) return 0;
  h.shared_->counters->header_decoded_bytes += namelen + valuelen;
  s->header_bytes += static_cast<uint32_t>(std::min<std::size_t>(namelen + valuelen + 32, max_header_list + 1));
  if (s->header_bytes > max_header_list) {
    // nghttp2 resets the stream (INTERNAL_ERROR); it ends here as a protocol error.
    ++h.shared_->counters->rst_sent;
    h.fail_stream(*s, ErrorKind::protocol, "response header list too large", h.env_->rx_ns);
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  const std::string_view n(reinterpret_cast<const char*>(name), namelen);
  const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  ExportQueue* q = s->req.tap.queue;
  ResponseCapture* cap = s->req.tap.capture;  // plugins: the head as HTTP/1.1, like the export's
  if (n == ":status") {
    const int status = v.size() == 3 ? (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0') : 0;
    if (status < 200 || s->head_done) return 0;  // interim (1xx), or trailers
    s->status = status;
    if (q != nullptr || cap != nullptr) {
      char line[16];
      const int len = std::snprintf(line, sizeof line, "HTTP/1.1 %03d\r\n", status);
      if (q != nullptr) q->head(s->req.tap.id, {line, static_cast<std::size_t>(len)});
      if (cap != nullptr) capture(cap->head, {line, static_cast<std::size_t>(len)});
    }
    return 0;
  }
  if (s->status == 0 || s->head_done) return 0;
  if (cap != nullptr) capture(cap->head, n, ": ", v, "\r\n");
  if (q == nullptr) return 0;
  // The export lists the head's fields as an HTTP/1.1 head (the writer parses one).
  q->head(s->req.tap.id, n);
  q->head(s->req.tap.id, std::string_view(": "));
  q->head(s->req.tap.id, v);
  q->head(s->req.tap.id, std::string_view("\r\n"));
  return 0;
}

int H2Session::on_data_chunk(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len,
                             void* p) noexcept {
  H2Session& h = self_of(p);
  Stream* s = h.stream_of(id);
  if (s == nullptr || !s->req.tap.active()) return 0;
  ResponseTap& tap = s->req.tap;
  if (tap.capture != nullptr && tap.capture_left != 0) {
    const std::size_t keep = static_cast<std::size_t>(std::min<uint64_t>(len, tap.capture_left));
    capture(tap.capture->body, {reinterpret_cast<const char*>(data), keep});
    tap.capture_left -= keep;
  }
  if (tap.queue == nullptr) return 0;
  const std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(len, tap.body_left));
  if (n != 0) tap.queue->body(tap.id, {reinterpret_cast<const char*>(data), n});
  tap.body_left -= n;
  if (n < len) tap.truncated = true;
  return 0;
}

int H2Session::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* p) noexcept {
  H2Session& h = self_of(p);
  Http2Counters& k = *h.shared_->counters;
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame->hd.type) {
    case NGHTTP2_SETTINGS:
      if (frame->hd.flags & NGHTTP2_FLAG_ACK) {
        h.acked_ = true;
      } else {
        h.settings(frame->settings);
      }
      return 0;
    case NGHTTP2_HEADERS: {
      k.header_block_bytes += frame->hd.length;
      Stream* s = h.stream_of(frame->hd.stream_id);
      if (s == nullptr || s->status == 0) return 0;
      if (!s->head_done && s->req.tap.queue != nullptr) s->req.tap.queue->head(s->req.tap.id, std::string_view("\r\n"));
      if (!s->head_done && s->req.tap.capture != nullptr) capture(s->req.tap.capture->head, "\r\n");
      s->head_done = true;
      if (end_stream) s->complete = true;
      return 0;
    }
    case NGHTTP2_DATA:
      if (Stream* s = h.stream_of(frame->hd.stream_id); s != nullptr && end_stream && s->status != 0)
        s->complete = true;
      return 0;
    case NGHTTP2_GOAWAY:
      ++k.goaways;
      h.goaway_ = true;
      h.last_stream_id_ = frame->goaway.last_stream_id;
      h.c_->capacity = 0;
      return 0;
    case NGHTTP2_RST_STREAM: {
      const uint32_t code = frame->rst_stream.error_code;
      if (code < k.rst_received.size()) {
        ++k.rst_received[code];
      } else {
        ++k.rst_other;
      }
      return 0;
    }
    default: return 0;
  }
}

int H2Session::on_stream_close(nghttp2_session*, int32_t id, uint32_t error_code, void* p) noexcept {
  H2Session& h = self_of(p);
  Stream* s = h.stream_of(id);
  if (s == nullptr) return 0;
  RequestEnd end;
  end.now = h.env_->rx_ns;
  if (s->complete) {
    end.complete = true;
    end.status = s->status;
    end.ok = h.env_->success(s->status);
  } else if (h.goaway_ && id > h.last_stream_id_) {
    // RFC 9113 §6.8: the server did not process it, so it may go again, once.
    ++h.shared_->counters->goaway_unprocessed;
    if (!s->req.resent) {
      ++h.shared_->counters->goaway_retried;
      end.resend = true;
    } else {
      end.message = "not processed: above the server's GOAWAY last_stream_id (already resent once)";
    }
  } else if (error_code == NGHTTP2_REFUSED_STREAM) {
    // RFC 9113 §8.7: a refused stream was not processed either: the same single resend.
    if (!s->req.resent) {
      ++h.shared_->counters->refused_retried;
      end.resend = true;
    } else {
      end.message = "stream refused by the server (REFUSED_STREAM, already resent once)";
    }
  } else {
    std::snprintf(h.message_, sizeof h.message_, "stream reset before its response completed (%s)",
                  nghttp2_http2_strerror(error_code));
    end.message = h.message_;
  }
  h.end_stream(*s, end);
  return 0;
}

ssize_t H2Session::read_body(nghttp2_session*, int32_t id, uint8_t* buf, size_t length, uint32_t* flags,
                             nghttp2_data_source* source, void* p) noexcept {
  H2Session& h = self_of(p);
  auto* s = static_cast<Stream*>(source->ptr);
  if (s->id != id) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // a record reused: that stream ended
  const std::span<const char> body = s->req.body;
  const std::size_t n = std::min(length, body.size() - s->body_sent);
  std::memcpy(buf, body.data() + s->body_sent, n);
  s->body_sent += n;
  h.body_progress_ = true;
  if (s->body_sent == body.size()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    --h.bodies_pending_;
  }
  return static_cast<ssize_t>(n);
}

}  // namespace ringload
