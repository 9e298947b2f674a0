// A request's life on a connection: issued (its head assembled in the slot's scratch),
// its bytes produced by its session and sent by the transport, its response read by the
// session, and the Step the session returns acted on. The one place that finishes a
// request, counts it and recycles its connection.
#include <algorithm>
#include <cstring>

#include "engine/core/clock.hpp"
#include "engine/core/shard.hpp"
#include "engine/output/export_queue.hpp"

namespace ringload {

void Shard::issue(uint32_t slot, uint32_t line, uint64_t intended) noexcept {
  Conn& c = slab_[slot];
  const RequestLine& req = table_.lines[line];
  const Origin& origin = prepared_.origins[req.origin];
  // The head: the line's own part, the defaults it did not set, the blank line.
  char* p = c.scratch;
  auto put = [&p](std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  put(table_.head(req));
  if (!(req.flags & RequestLine::flag_has_host)) put(origin.host_line);
  if (!(req.flags & RequestLine::flag_has_user_agent)) put(origin.user_agent_line);
  if (!(req.flags & RequestLine::flag_has_accept)) put(origin.accept_line);
  put("\r\n");
  const uint64_t now = now_ns();
  c.request = &req;
  c.body = table_.body(req);
  c.seq = issued_++;
  c.stream = table_.stream(req);
  c.session = Sessions::kind_of(c.stream);
  // The pass (0 for a single URL that loops: its requests are not passes).
  c.iteration = recorder_.per_pass() ? static_cast<uint32_t>(sequence_.pass()) : 0;
  c.state = ConnState::busy;
  c.request_queued = false;
  c.head_len = static_cast<uint32_t>(p - c.scratch);
  c.intended_ns = intended;
  c.first_byte_ns = 0;
  c.tap = {plan_.export_queue, c.seq, config_.export_max_body, false};
  c.exchange.start((req.flags & RequestLine::flag_head) != 0, c.carry, sessions_.sink(slot, c));
  const Sessions::Start start = sessions_.start(slot, c, env_, table_, now);
  if (start != Sessions::Start::send) {
    // A plugin skipped it, or its hook failed (a failed request, never sent): the
    // connection waits for the next one.
    if (start == Sessions::Start::skip) {
      ++recorder_.stats().counters.skipped;
    } else {
      const char* why = Sessions::failure_message(env_);
      recorder_.error(ErrorKind::plugin, why);
      const uint64_t failed_at = now_ns();  // the hook's time is the failure's
      recorder_.failure(failed_at - intended);
      ++in_flight_;
      c.sent_ns = now;
      finish_request(slot, false, failed_at, static_cast<int>(ErrorKind::plugin), why);
    }
    slab_.release(slot);
    return;
  }
  // Time the plugins' on_request took is send lag, not service time.
  c.sent_ns = env_.plugins != nullptr ? now_ns() : now;
  recorder_.stats().send_lag.record(c.sent_ns - intended);
  recorder_.stats().counters.bytes_out += c.head_len + c.body.size();
  ++in_flight_;
  pump_output(slot);
}

// Plaintext from the peer, for the session of the request in flight. Returns whether the
// slot still holds the same connection.
bool Shard::deliver(uint32_t slot, std::span<const char> plaintext) noexcept {
  Conn& c = slab_[slot];
  if (c.state != ConnState::busy) {
    fail(slot, ErrorKind::protocol, "data received with no request in flight");
    return false;
  }
  if (c.first_byte_ns == 0) c.first_byte_ns = env_.rx_ns;
  return apply(slot, sessions_.on_read(slot, c, env_, plaintext), env_.rx_ns);
}

// While the transport takes more, the session says what to send. Then the session's
// next deadline is in force.
void Shard::pump_output(uint32_t slot) noexcept {
  Conn& c = slab_[slot];
  while (c.transport.writable()) {
    Output out;
    const Step step = sessions_.produce(slot, c, env_, table_, out);
    if (step.terminal()) {
      apply(slot, step, now_ns());
      return;
    }
    if (out.empty()) break;
    const TransportEvent e = c.transport.write(out.a, out.b);
    if (e.kind == TransportEvent::Kind::error) {
      fail(slot, e.error, e.message);
      return;
    }
    flush(slot);
  }
  rearm(slot);
}

// One timer per slot, at least as early as the session's deadline. A deadline that moved
// later leaves the timer early: it fires, the session says go on, and it is armed again.
void Shard::rearm(uint32_t slot) noexcept {
  const uint64_t at = sessions_.deadline(slot, slab_[slot], env_);
  if (at == UINT64_MAX) return;
  if (!timers_.armed(slot) || at < timers_.deadline(slot)) timers_.arm(slot, at);
}

// Acts on a session's Step. Returns whether the slot still holds the same connection.
bool Shard::apply(uint32_t slot, const Step& step, uint64_t now) noexcept {
  Conn& c = slab_[slot];
  if (step.kind == Step::Kind::more) {
    pump_output(slot);
    return true;
  }
  if (step.kind == Step::Kind::failed) {
    if (step.farewell) c.transport.send_now(c.fd, sessions_.farewell(slot, c, env_));
    fail(slot, step.error, step.message);
    return false;
  }
  // Done: a complete response, or a stream that ended well (a plugin's hook may have
  // failed on it: then it is an error of that kind).
  timers_.cancel(slot);
  if (step.message != nullptr) recorder_.error(step.error, step.message);
  finish_request(slot, step.ok, now, step.message != nullptr ? static_cast<int>(step.error) : -1, step.message);
  recorder_.response(c.exchange.status(), now - c.intended_ns, now - c.sent_ns,
                     (c.first_byte_ns != 0 ? c.first_byte_ns : now) - c.sent_ns);
  Step::Then then = step.then;
  if (then == Step::Then::reuse && config_.tls.handshake_each) then = Step::Then::close_by_client;
  if (then == Step::Then::reuse) {
    slab_.release(slot);
    return true;
  }
  Counters& k = recorder_.stats().counters;
  ++(then == Step::Then::close_by_client ? k.closes_by_client : k.closes_by_server);
  close_conn(slot);
  if (!stopping_) start_connect(slot);
  return false;
}

// The one error exit: count it, finish the request in flight as failed, recycle the
// connection. The run goes on.
void Shard::fail(uint32_t slot, ErrorKind kind, const char* message) noexcept {
  Conn& c = slab_[slot];
  recorder_.error(kind, message);
  if (c.state == ConnState::busy) {
    const uint64_t now = now_ns();
    recorder_.failure(now - c.intended_ns);
    finish_request(slot, false, now, static_cast<int>(kind), message);
  }
  timers_.cancel(slot);
  close_conn(slot);
  if (kind == ErrorKind::connect) {
    reconnect_later(slot);
  } else {
    start_connect(slot);
  }
}

// Counts a finished request (a complete response or a failure after its send) in the
// totals, its name, its pass and its session's figures, and exports it.
void Shard::finish_request(uint32_t slot, bool ok, uint64_t now, int error_kind, const char* message) noexcept {
  Conn& c = slab_[slot];
  --in_flight_;
  const bool timed = ok || c.exchange.state() == ExchangeState::complete;
  recorder_.finished(c.request->name, c.iteration, ok, timed, now - c.intended_ns);
  const int stream_end = sessions_.finish(slot, c, env_, ok, now);
  if (plan_.export_queue == nullptr) return;
  ExportEnd e;
  e.id = c.tap.id;
  e.line_index = static_cast<uint32_t>(c.request - table_.lines.data());
  e.iteration = c.iteration;
  e.status = c.exchange.final_status();  // 0 until a final head arrived
  e.error_kind = error_kind;
  e.error_message = message;
  e.start_ns = c.intended_ns;
  e.first_byte_ns = c.first_byte_ns;
  e.end_ns = now;
  e.body_truncated = c.tap.truncated;
  e.stream_end = stream_end;
  plan_.export_queue->end(e);
}

}  // namespace ringload
