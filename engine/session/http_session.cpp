#include "engine/session/http_session.hpp"

#include "engine/output/export_queue.hpp"

namespace ringload {

Output HttpSession::request(Conn& c, const RequestTable&) noexcept {
  c.req.request_queued = true;
  return {{c.scratch, c.req.head_len}, c.req.body};
}

Step HttpSession::produce(Conn& c, SessionEnv&, const RequestTable& table, Output& out) noexcept {
  if (!c.req.request_queued) out = request(c, table);
  return Step::more();
}

Step HttpSession::complete(const Conn& c, const SessionEnv& env) noexcept {
  return Step::done(env.success(c.exchange.status()),
                    c.exchange.keep_alive() ? Step::Then::reuse : Step::Then::close_by_server);
}

Step HttpSession::on_read(Conn& c, SessionEnv& env, std::span<const char> data) noexcept {
  const ExchangeEvent ev = c.exchange.on_data(data, c.carry, env.headers, c.req.tap.active() ? &c.req.tap : nullptr);
  switch (ev.kind) {
    case ExchangeEvent::Kind::complete: return complete(c, env);
    case ExchangeEvent::Kind::error:
      return Step::fail(ErrorKind::protocol, ev.message != nullptr ? ev.message : proto::to_string(ev.error));
    default: return Step::more();
  }
}

Step HttpSession::on_eof(Conn& c, SessionEnv& env) noexcept {
  const ExchangeEvent ev = c.exchange.on_eof();
  // A close-delimited body ends here.
  if (ev.kind == ExchangeEvent::Kind::complete) return complete(c, env);
  return Step::fail(ErrorKind::read, ev.message);
}

uint64_t HttpSession::deadline(const Conn& c, const SessionEnv& env) noexcept {
  const uint64_t timeout = env.request_timeout(*c.req.request);
  return timeout == 0 ? UINT64_MAX : c.req.sent_ns + timeout;
}

}  // namespace ringload
