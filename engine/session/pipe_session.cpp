#include "engine/session/pipe_session.hpp"

#include <algorithm>
#include <cstring>

#include "engine/plugins/plugin_shard.hpp"

namespace ringload {
namespace {

constexpr const char* unanswered = "pipelined request unanswered: the connection ended before its response";
constexpr const char* no_request = "data received with no request in flight (a response to no request)";

}  // namespace

void PipeSession::ready(uint32_t slot, Conn& c) noexcept {
  slot_ = slot;
  oldest_ = held_ = unwritten_ = 0;
  reading_ = false;
  earliest_ = UINT64_MAX;
  c.mux = true;
  c.capacity = static_cast<uint16_t>(shared_->depth);
  c.session = SessionKind::pipe;
}

InFlight& PipeSession::acquire() noexcept {
  // The shard asks only while Conn::in_flight < capacity == depth: a record is free.
  InFlight& r = at(held_);
  r.record = static_cast<uint16_t>((oldest_ + held_) % shared_->depth);
  ++held_;
  ++unwritten_;
  return r;
}

void PipeSession::start(InFlight& r, SessionEnv& env, uint64_t now) noexcept {
  if (const uint64_t t = env.request_timeout(*r.request); t != 0) earliest_ = std::min(earliest_, now + t);
}

// Every request not yet written, in order, into the slot's output: heads, and bodies
// while they fit (a bigger body goes as the second span, zero-copy from the table, and
// ends the batch). The output is rewritten only here, once the transport is writable:
// what it sent is no longer needed.
Step PipeSession::produce(Conn& c, SessionEnv& env, Output& out) noexcept {
  std::size_t n = 0;
  const PipeShared& s = *shared_;
  while (unwritten_ > 0 && s.out_size - n >= s.head_room) {
    InFlight& r = at(held_ - unwritten_);
    if (s.plugins != nullptr) {
      const std::string_view head = s.plugins->head(c, r);
      std::memcpy(out_ + n, head.data(), head.size());
      n += head.size();
    } else {
      n += render_head(out_ + n, *s.table, s.origins[r.request->origin], *r.request);
    }
    r.request_queued = true;
    --unwritten_;
    if (r.body.empty()) continue;
    if (r.body.size() > s.out_size - n) {
      out.b = r.body;
      break;
    }
    std::memcpy(out_ + n, r.body.data(), r.body.size());
    n += r.body.size();
  }
  env.stats.counters.bytes_out += n + out.b.size();
  out.a = {out_, n};
  return Step::more();
}

void PipeSession::end_oldest(SessionEnv& env, const RequestEnd& end) noexcept {
  InFlight& r = records_[oldest_];
  if (held_ == unwritten_) --unwritten_;
  oldest_ = (oldest_ + 1) % shared_->depth;
  --held_;
  reading_ = false;
  // The record stays intact until the next acquire(), after ended() returned.
  env.ends->ended(slot_, r, end);
}

// The exchange holds a complete response: it ends the oldest request.
void PipeSession::end_answered(const Conn& c, SessionEnv& env) noexcept {
  const int status = c.exchange.status();
  RequestEnd end;
  end.complete = true;
  end.status = status;
  end.ok = env.success(status);
  end.now = env.rx_ns;
  end_oldest(env, end);
}

// Responses in order, as many as the bytes hold: each complete one ends the oldest
// request, and the bytes after it go to the next. Bytes with no written request to
// answer are a protocol error.
Step PipeSession::on_read(Conn& c, SessionEnv& env, std::span<const char> data) noexcept {
  // Each pass ends a request or takes all of `data`: at most depth + 1 passes.
  while (!data.empty()) {
    if (held_ == unwritten_) return Step::fail(ErrorKind::protocol, no_request);
    InFlight& r = records_[oldest_];
    if (!reading_) {
      c.exchange.start((r.request->flags & RequestLine::flag_head) != 0, c.carry);
      reading_ = true;
    }
    if (r.first_byte_ns == 0) r.first_byte_ns = env.rx_ns;
    std::span<const char> rest;
    const ExchangeEvent ev = c.exchange.on_data(data, c.carry, env.headers, r.tap.active() ? &r.tap : nullptr, &rest);
    if (ev.kind == ExchangeEvent::Kind::error)
      return Step::fail(ErrorKind::protocol, ev.message != nullptr ? ev.message : proto::to_string(ev.error));
    if (ev.kind != ExchangeEvent::Kind::complete) return Step::more();
    end_answered(c, env);
    // Connection: close (or HTTP/1.0): the server answers nothing after this one.
    if (!c.exchange.keep_alive()) return Step::done(false, Step::Then::close_by_server);
    data = rest;
  }
  return Step::more();
}

Step PipeSession::on_eof(Conn& c, SessionEnv& env) noexcept {
  if (reading_) {
    // A close-delimited body ends here.
    const ExchangeEvent ev = c.exchange.on_eof();
    if (ev.kind != ExchangeEvent::Kind::complete) return Step::fail(ErrorKind::read, ev.message);
    end_answered(c, env);
  }
  // Between requests: the server's keep-alive timeout. Requests left are unanswered (abort).
  return Step::done(false, Step::Then::close_by_server);
}

// The oldest request blocks every later one: when any request is past its deadline the
// connection fails as a timeout (HTTP/1.1 cannot cancel one request of a pipeline).
Step PipeSession::on_timer(SessionEnv& env, uint64_t now) noexcept {
  if (now < earliest_) return Step::more();
  earliest_ = UINT64_MAX;
  for (uint32_t i = 0; i < held_; ++i) {
    const InFlight& r = at(i);
    const uint64_t t = env.request_timeout(*r.request);
    if (t == 0) continue;
    if (now >= r.sent_ns + t) return Step::fail(ErrorKind::timeout, "request timed out");
    earliest_ = std::min(earliest_, r.sent_ns + t);
  }
  return Step::more();
}

void PipeSession::abort(Conn& c, SessionEnv& env, ErrorKind kind, const char* message, uint64_t now) noexcept {
  // The oldest takes the cause, unless the cause is the connection ending before any of
  // its response came: then it is unanswered like the rest. At most depth passes.
  bool first = kind != ErrorKind::read || (reading_ && c.exchange.received_any());
  while (held_ > 0) {
    RequestEnd end;
    end.now = now;
    if (first) {
      end.error = kind;
      end.message = message;
      first = false;
    } else {
      end.error = ErrorKind::read;
      end.message = unanswered;
      ++env.stats.counters.pipeline_unanswered;
    }
    end_oldest(env, end);
  }
  earliest_ = UINT64_MAX;
}

}  // namespace ringload
