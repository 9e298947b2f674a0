// A request's life on a connection: issued (its head assembled in the slot's scratch),
// its bytes produced by its session and sent by the transport, its response read by the
// session, and the Step the session returns acted on. The one place that finishes a
// request, counts it and recycles its connection.
#include <algorithm>
#include <cstring>

#include "engine/core/clock.hpp"
#include "engine/core/shard.hpp"
#include "engine/core/user_data.hpp"
#include "engine/output/export_queue.hpp"

namespace ringload {

// The HTTP/1.1 head of `req` into `out` (render_head). Returns its length.
uint32_t Shard::assemble_head(char* out, const RequestLine& req) const noexcept {
  return render_head(out, table_, prepared_.origins[req.origin], req);
}

// A request goes out on a connection with room for it (Slab::take_idle). A connection
// whose session is the request's keeps it in Conn::req, its head assembled in the scratch;
// a multiplexing session gives a record of its own and renders the request itself.
// `again`: a resend (pump_resends), in its first attempt's pass.
void Shard::issue(uint32_t slot, uint32_t line, uint64_t intended, const Resend* again) noexcept {
  Conn& c = slab_[slot];
  const RequestLine& req = table_.lines[line];
  InFlight& r = c.mux ? sessions_.acquire(slot, c) : c.req;
  const uint64_t now = now_ns();
  r.request = &req;
  r.body = table_.body(req);
  r.seq = issued_++;
  r.stream = table_.stream(req);
  // The pass (0 for a single URL that loops: its requests are not passes).
  r.iteration = again != nullptr ? again->iteration
                : recorder_.per_pass() ? static_cast<uint32_t>(sequence_.pass()) : 0;
  r.request_queued = false;
  r.resent = again != nullptr;
  r.intended_ns = intended;
  r.first_byte_ns = 0;
  r.tap = {plan_.export_queue, r.seq, config_.export_max_body, false};
  if (!c.mux) {
    r.head_len = assemble_head(c.scratch, req);
    c.session = Sessions::kind_of(r.stream);
    c.exchange.start((req.flags & RequestLine::flag_head) != 0, c.carry, sessions_.sink(slot, c));
  }
  c.state = ConnState::busy;
  ++c.in_flight;
  ++in_flight_;
  const Sessions::Start start = sessions_.start(slot, c, r, env_, table_, now);
  if (start != Sessions::Start::send) {
    // A plugin skipped it, or its hook failed (a failed request, never sent): the
    // connection waits for the next one.
    if (start == Sessions::Start::skip) {
      ++recorder_.stats().counters.skipped;
      --in_flight_;
      --c.in_flight;
    } else {
      const char* why = sessions_.failure_message(env_);
      const ErrorKind kind = sessions_.failure_kind();
      recorder_.error(kind, why);
      const uint64_t failed_at = now_ns();  // the hook's time is the failure's
      recorder_.failure(failed_at - intended);
      r.sent_ns = now;
      finish_request(slot, r, false, failed_at, static_cast<int>(kind), why);
    }
    slab_.release(slot);
    return;
  }
  // Time the plugins' on_request took is send lag, not service time.
  r.sent_ns = env_.plugins != nullptr ? now_ns() : now;
  recorder_.stats().send_lag.record(r.sent_ns - intended);
  if (!c.mux) recorder_.stats().counters.bytes_out += r.head_len + r.body.size();  // a mux session counts its own
  if (c.in_flight < c.capacity) slab_.offer(slot);  // room for more on it
  if (Sessions::batches(c)) {
    // The requests issued to it in a row go out in one send (flush_batched, after pump).
    if (batched_ != slot) flush_batched();
    batched_ = slot;
    return;
  }
  pump_output(slot);
}

// The connection that requests were issued to in a row produces their bytes now.
void Shard::flush_batched() noexcept {
  const uint32_t slot = batched_;
  batched_ = UINT32_MAX;
  if (slot != UINT32_MAX && slab_[slot].state == ConnState::busy) pump_output(slot);
}

// Plaintext from the peer, for the session of the request in flight. Returns whether the
// slot still holds the same connection.
bool Shard::deliver(uint32_t slot, std::span<const char> plaintext) noexcept {
  Conn& c = slab_[slot];
  if (c.mux) return apply(slot, sessions_.on_read(slot, c, env_, plaintext), env_.rx_ns);
  if (c.state != ConnState::busy) {
    fail(slot, ErrorKind::protocol, "data received with no request in flight");
    return false;
  }
  if (c.req.first_byte_ns == 0) c.req.first_byte_ns = env_.rx_ns;
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
    // A multiplexing session may have made room (a stream ended, the peer's limit rose).
    if (c.mux && c.in_flight < c.capacity && (plan_.open_loop || Sessions::refill(c))) slab_.offer(slot);
    pump_output(slot);
    return true;
  }
  if (step.kind == Step::Kind::failed) {
    if (step.farewell) {
      const Transport::Socket to{c.fd, plan_.direct_fds ? ring_.raw() : nullptr, pack(Op::quiet, slot, c.gen)};
      c.transport.send_now(to, sessions_.farewell(slot, c, env_));
    }
    fail(slot, step.error, step.message);
    return false;
  }
  timers_.cancel(slot);
  Step::Then then = step.then;
  if (c.mux) {
    // The connection's session ended (an HTTP/2 GOAWAY): its requests ended one by one
    // through ended(); any left are failures.
    abort_requests(slot, ErrorKind::read, "the connection ended with the request in flight");
  } else {
    // Done: a complete response, or a stream that ended well (a plugin's hook may have
    // failed on it: then it is an error of that kind).
    if (step.message != nullptr) recorder_.error(step.error, step.message);
    finish_request(slot, c.req, step.ok, now, step.message != nullptr ? static_cast<int>(step.error) : -1,
                   step.message);
    recorder_.response(c.exchange.status(), now - c.req.intended_ns, now - c.req.sent_ns,
                       (c.req.first_byte_ns != 0 ? c.req.first_byte_ns : now) - c.req.sent_ns);
    if (then == Step::Then::reuse && config_.tls.handshake_each) then = Step::Then::close_by_client;
    if (then == Step::Then::reuse) {
      slab_.release(slot);
      return true;
    }
  }
  Counters& k = recorder_.stats().counters;
  ++(then == Step::Then::close_by_client ? k.closes_by_client : k.closes_by_server);
  close_conn(slot);
  if (!stopping_) start_connect(slot);
  return false;
}

// A request a multiplexing session owned has ended (session.hpp). Counted like apply()
// and fail() count a request of Conn::req; the connection is left as it is.
void Shard::ended(uint32_t slot, InFlight& r, const RequestEnd& end) noexcept {
  Conn& c = slab_[slot];
  if (end.resend && resend_count_ < resends_.size()) {
    // Still in flight (in_flight_), off this connection: pump_resends() sends it again.
    --c.in_flight;
    resends_[(resend_first_ + resend_count_++) % resends_.size()] =
        Resend{static_cast<uint32_t>(r.request - table_.lines.data()), r.iteration, r.intended_ns};
    if (plan_.export_queue != nullptr) plan_.export_queue->discard(r.tap.id);
    if (c.in_flight == 0 && c.state == ConnState::busy) c.state = ConnState::idle;
    return;
  }
  RequestEnd e = end;  // (the ring holds every request that can be in flight: never full)
  if (e.resend) e.message = "not processed: above the server's GOAWAY last_stream_id";
  if (env_.plugins != nullptr && e.complete && e.message == nullptr) {
    // The plugins' verdict on a complete response; a hook's error fails it as `plugin`.
    if (const char* why = env_.plugins->judge(c, r, e.status, e.ok, e.now)) {
      e.error = ErrorKind::plugin;
      e.message = why;
    }
  }
  if (e.message != nullptr) recorder_.error(e.error, e.message);
  if (e.complete) {
    c.answered = true;
    c.unanswered = 0;
  }
  const int kind = e.message != nullptr ? static_cast<int>(e.error) : -1;
  finish_request(slot, r, e.ok, e.now, kind, e.message, e.complete ? e.status : 0, e.complete);
  if (e.complete) {
    recorder_.response(e.status, e.now - r.intended_ns, e.now - r.sent_ns,
                       (r.first_byte_ns != 0 ? r.first_byte_ns : e.now) - r.sent_ns);
  } else {
    recorder_.failure(e.now - r.intended_ns);
  }
  if (c.in_flight == 0 && c.state == ConnState::busy) c.state = ConnState::idle;
}

// Every request in flight on the connection fails with `kind`: Conn::req's, or each one
// a multiplexing session owns (through ended()). Each is an error of that kind.
void Shard::abort_requests(uint32_t slot, ErrorKind kind, const char* message) noexcept {
  Conn& c = slab_[slot];
  if (c.mux) {
    sessions_.abort(slot, c, env_, kind, message, now_ns());
    return;
  }
  if (c.state != ConnState::busy) return;
  recorder_.error(kind, message);
  const uint64_t now = now_ns();
  recorder_.failure(now - c.req.intended_ns);
  finish_request(slot, c.req, false, now, static_cast<int>(kind), message);
}

// The one error exit: count it, finish the requests in flight as failed, recycle the
// connection. The run goes on. With no request in flight the error is the connection's.
void Shard::fail(uint32_t slot, ErrorKind kind, const char* message) noexcept {
  Conn& c = slab_[slot];
  if (c.in_flight == 0 || (!c.mux && c.state != ConnState::busy)) {
    recorder_.error(kind, message);
  } else {
    abort_requests(slot, kind, message);
  }
  timers_.cancel(slot);
  // An HTTP/2 connection that ends before any answer (its preface rejected) is connected
  // again after a back-off, as a refused connect is: such a server is not hammered.
  const bool unanswered = c.session == SessionKind::h2 && !c.answered;
  close_conn(slot);
  if (kind == ErrorKind::connect) {
    reconnect_later(slot, c.connect_failures++);
  } else if (unanswered) {
    reconnect_later(slot, c.unanswered++);
  } else {
    start_connect(slot);
  }
}

// Counts a finished request (a complete response or a failure after its send) in the
// totals, its name, its pass and its session's figures, and exports it. `status` and
// `complete` are a multiplexing session's (-1: the connection's HttpExchange says).
void Shard::finish_request(uint32_t slot, InFlight& r, bool ok, uint64_t now, int error_kind, const char* message,
                           int status, int complete) noexcept {
  Conn& c = slab_[slot];
  --in_flight_;
  --c.in_flight;
  const bool exchange = complete < 0;
  const bool timed = ok || (exchange ? c.exchange.state() == ExchangeState::complete : complete != 0);
  recorder_.finished(r.request->name, r.iteration, ok, timed, now - r.intended_ns);
  const int stream_end = exchange ? sessions_.finish(slot, c, env_, ok, now) : -1;
  if (plan_.export_queue == nullptr) return;
  ExportEnd e;
  e.id = r.tap.id;
  e.line_index = static_cast<uint32_t>(r.request - table_.lines.data());
  e.iteration = r.iteration;
  e.status = exchange ? c.exchange.final_status() : status;  // 0 until a final head arrived
  e.error_kind = error_kind;
  e.error_message = message;
  e.start_ns = r.intended_ns;
  e.first_byte_ns = r.first_byte_ns;
  e.end_ns = now;
  e.body_truncated = r.tap.truncated;
  e.stream_end = stream_end;
  e.protocol = c.mux ? sessions_.protocol(c) : ExportProtocol::http1;
  plan_.export_queue->end(e);
}

}  // namespace ringload
