#include "engine/session/sse_session.hpp"

#include "engine/output/export_queue.hpp"
#include "engine/plugins/plugin_shard.hpp"
#include "engine/session/http_session.hpp"
#include "proto/token.hpp"

namespace ringload {

void SseSession::start(Conn&, SessionEnv&, uint64_t now) noexcept {
  parser_.reset();
  end_ = StreamEnd::server;
  events_ = 0;
  last_event_ns_ = 0;
  last_rx_ns_ = now;
}

Step SseSession::on_read(Conn& c, SessionEnv& env, std::span<const char> data) noexcept {
  // The head, or an error page's body; once streaming, on_stream_data takes the time.
  if (!c.exchange.streaming()) last_rx_ns_ = env.rx_ns;
  c_ = &c;
  env_ = &env;
  step_ = Step::more();
  const ExchangeEvent ev = c.exchange.on_data(data, c.carry, env.headers, c.req.tap.active() ? &c.req.tap : nullptr);
  switch (ev.kind) {
    case ExchangeEvent::Kind::stopped: return step_;
    // The server ended the stream with its last chunk: the connection carries on.
    case ExchangeEvent::Kind::complete: return HttpSession::complete(c, env);
    case ExchangeEvent::Kind::error:
      return step_.terminal() ? step_
                              : Step::fail(ErrorKind::protocol, ev.message != nullptr ? ev.message : proto::to_string(ev.error));
    default: return step_;
  }
}

StreamSink::Verdict SseSession::on_stream_head(const proto::ResponseHead& head,
                                               std::span<const proto::Header> headers, const char*& why) noexcept {
  last_rx_ns_ = env_->rx_ns;
  // An error page is read as an ordinary response (its status decides); a 2xx must be an
  // event stream.
  if (head.status < 200 || head.status > 299) return Verdict::http;
  for (const proto::Header& h : headers) {
    if (!proto::iequals(h.name, "content-type")) continue;
    if (proto::iequals(proto::trim_ows(h.value.substr(0, h.value.find(';'))), "text/event-stream"))
      return Verdict::stream;
  }
  why = "SSE: the response's Content-Type is not text/event-stream";
  return Verdict::fail;
}

// Decoded body bytes. false: the stream ended here (step_ says how).
bool SseSession::on_stream_data(std::span<const char> in) noexcept {
  Conn& c = *c_;
  SessionEnv& env = *env_;
  const uint64_t now = env.rx_ns;
  last_rx_ns_ = now;
  StreamCounters& k = env.stats.streams;
  k.sse_bytes += in.size();
  const StreamSpec& spec = *c.req.stream;
  while (!in.empty()) {
    proto::SseEvent ev;
    const proto::SseResult r = parser_.feed(in, ev);
    in = in.subspan(r.consumed);
    if (r.status == proto::Status::error) {
      step_ = Step::fail(ErrorKind::protocol, proto::to_string(r.error));
      return false;
    }
    if (r.status != proto::Status::done) break;
    ++k.sse_events;
    ++events_;
    if (last_event_ns_ == 0) {
      env.stats.sse_ttfe.record(now - c.req.sent_ns);
    } else {
      env.stats.sse_gap.record(now - last_event_ns_);
    }
    last_event_ns_ = now;
    if (env.exports != nullptr) {
      ExportItem item;
      item.t_ns = now - c.req.intended_ns;
      item.has_type = !ev.type.empty();
      item.type = ev.type;
      item.event_id = ev.id;
      env.exports->item(c.req.tap.id, item);
      env.exports->item_data(c.req.tap.id, ev.data);
    }
    if (env.plugins != nullptr) env.plugins->message(c, RINGLOAD_MESSAGE_SSE_EVENT, ev.type, ev.data);
    if (spec.has_until && ev.data == spec.until) {
      step_ = end_by_client(StreamEnd::until);
      return false;
    }
    if (spec.max_events != 0 && events_ >= spec.max_events) {
      step_ = end_by_client(StreamEnd::max_events);
      return false;
    }
  }
  return true;
}

Step SseSession::end_by_client(StreamEnd end) noexcept {
  end_ = end;
  return Step::done(env_->success(c_->exchange.status()), Step::Then::close_by_client);
}

Step SseSession::on_eof(Conn& c, SessionEnv& env) noexcept {
  const ExchangeEvent ev = c.exchange.on_eof();
  if (ev.kind == ExchangeEvent::Kind::complete) return HttpSession::complete(c, env);  // close-delimited
  return Step::fail(ErrorKind::read, c.exchange.streaming() ? "connection closed mid-stream" : ev.message);
}

Step SseSession::on_timer(Conn& c, SessionEnv& env, uint64_t now) noexcept {
  const uint64_t timeout = env.request_timeout(*c.req.request);
  const StreamSpec& spec = *c.req.stream;
  if (!c.exchange.streaming()) return before_stream_timer(c, env, last_rx_ns_, now);
  if (spec.stream_timeout_ns != 0 && now >= c.req.sent_ns + spec.stream_timeout_ns) {
    env_ = &env;
    c_ = &c;
    return end_by_client(StreamEnd::stream_timeout);
  }
  if (timeout != 0 && now >= last_rx_ns_ + timeout)
    return Step::fail(ErrorKind::timeout, "SSE: nothing received for longer than the timeout");
  return Step::more();
}

// The earliest deadline in force. Activity moves the gap deadline later without touching
// the timer: it fires early and is armed again.
uint64_t SseSession::deadline(const Conn& c, const SessionEnv& env) const noexcept {
  const uint64_t timeout = env.request_timeout(*c.req.request);
  uint64_t at = UINT64_MAX;
  if (c.req.stream->stream_timeout_ns != 0) at = c.req.sent_ns + c.req.stream->stream_timeout_ns;
  if (timeout != 0) at = std::min(at, last_rx_ns_ + timeout);
  return at;
}

// Still open when the run stops: a feed that never ends by itself is counted and
// exported with everything it received.
Step SseSession::on_stop(Conn& c, SessionEnv& env) noexcept {
  if (!c.exchange.streaming()) return Step::more();
  c_ = &c;
  env_ = &env;
  return end_by_client(StreamEnd::run_end);
}

int SseSession::finish(Conn& c, SessionEnv& env, bool ok, uint64_t now) noexcept {
  StreamCounters& k = env.stats.streams;
  const StreamEnd end = ok ? end_ : StreamEnd::error;
  ++k.sse_streams;
  ++k.sse_end[static_cast<std::size_t>(end)];
  k.sse_comments += parser_.comments();
  if (c.exchange.streaming()) env.stats.sse_duration.record(now - c.req.sent_ns);
  return static_cast<int>(end);
}

}  // namespace ringload
