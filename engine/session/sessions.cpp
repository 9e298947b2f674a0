#include "engine/session/sessions.hpp"

#include <algorithm>

#include "engine/core/clock.hpp"
#include "engine/plugins/plugin_shard.hpp"

namespace ringload {

std::string Sessions::setup(uint32_t slots, const RequestTable& table, const RunConfig& config,
                            std::span<const Origin> origins, Http2Counters& http2, std::size_t head_room,
                            bool plugins) noexcept {
  bool sse = false, ws = false;
  for (const StreamSpec& s : table.streams) (s.proto == StreamProto::sse ? sse : ws) = true;
  slots_ = slots;
  origins_ = origins;
  try {
    if (sse) sse_ = std::vector<SseSession>(slots);
    if (ws) ws_ = std::vector<WsSession>(slots, WsSession(config.ws_max_message));
    if (any_http2(origins)) {
      h2_shared_ = std::make_unique<H2Shared>();
      if (std::string err = h2_shared_->setup(table, origins, config, http2); !err.empty()) return err;
      h2_ = std::make_unique<H2Session[]>(slots);
      if (plugins) {
        if (std::string err = h2_heads_.setup(head_room); !err.empty()) return err;
      }
    }
    if (config.pipeline > 1) setup_pipeline(slots, table, config, origins, head_room);
  } catch (const std::bad_alloc&) {
    return "out of memory for the stream state of " + std::to_string(slots) + " connections";
  }
  return {};
}

std::size_t Sessions::bytes() const noexcept {
  std::size_t n = sse_.capacity() * sizeof(SseSession) + ws_.capacity() * sizeof(WsSession);
  if (h2_) {
    n += h2_shared_->requests.bytes() + h2_shared_->pool.bytes() + slots_ * sizeof(H2Session) + h2_heads_.bytes();
    for (uint32_t i = 0; i < slots_; ++i) n += h2_[i].bytes();
  }
  if (pipe_) {
    const std::size_t depth = pipe_shared_.depth;
    n += slots_ * (sizeof(PipeSession) + depth * sizeof(InFlight) + pipe_shared_.out_size);
  }
  return n;
}

bool Sessions::on_ready(uint32_t slot, Conn& c, SessionEnv& env, uint64_t now) noexcept {
  if (pipe_) {
    pipe_shared_.plugins = env.plugins;
    pipe_[slot].ready(slot, c);  // (HTTP/2 and pipelining exclude each other)
  }
  if (!h2_) return true;
  // The connection group's protocol: h2c with prior knowledge, ALPN's answer, or HTTP/1.1.
  const Http2Mode mode = origins_[c.origin].http2;
  if (mode == Http2Mode::off) return true;
  if (mode == Http2Mode::alpn && !c.transport.alpn_h2()) {
    ++h2_shared_->counters->alpn_fallbacks;  // the run notes it once
    return true;
  }
  return h2_[slot].ready(slot, c, env, *h2_shared_, now);
}

// Each slot's pipeline: N records, and an output for N heads (the longest the run has)
// and, while they fit, small bodies. The outputs are not touched here: a slot's pages are
// backed once it writes there.
void Sessions::setup_pipeline(uint32_t slots, const RequestTable& table, const RunConfig& config,
                              std::span<const Origin> origins, std::size_t head_room) {
  std::size_t body = 0;
  for (const RequestLine& l : table.lines) body = std::max(body, table.body(l).size());
  PipeShared& s = pipe_shared_;
  s.table = &table;
  s.origins = origins;
  s.depth = config.pipeline;
  s.head_room = head_room;
  s.out_size = s.depth * (head_room + std::min<std::size_t>(body, 4096));
  pipe_ = std::make_unique<PipeSession[]>(slots);
  pipe_records_ = std::make_unique<InFlight[]>(static_cast<std::size_t>(slots) * s.depth);
  pipe_out_.reset(new char[slots * s.out_size]);
  for (uint32_t i = 0; i < slots; ++i)
    pipe_[i].bind(s, pipe_records_.get() + static_cast<std::size_t>(i) * s.depth, pipe_out_.get() + i * s.out_size);
}

Sessions::Start Sessions::before_send(Conn& c, SessionEnv& env, const RequestTable& table) noexcept {
  switch (env.plugins->before_send(c, table, c.req.seq)) {
    case PluginShard::Send::send: return Start::send;
    case PluginShard::Send::skip: return Start::skip;
    case PluginShard::Send::failed: return Start::failed;
  }
  return Start::send;
}

Sessions::Start Sessions::plugged(uint32_t slot, Conn& c, InFlight& r, SessionEnv& env,
                                  const RequestTable& table) noexcept {
  start_error_ = nullptr;
  const RequestLine& line = *r.request;
  r.head_len = render_head(env.plugins->edit_buffer(), table, origins_[line.origin], line);
  const PluginShard::Send send = env.plugins->before_send(c, r, table);
  if (send == PluginShard::Send::send) return Start::send;
  if (c.session == SessionKind::pipe) {
    pipe_[slot].unacquire();
  } else {
    h2_[slot].unacquire();
  }
  return send == PluginShard::Send::skip ? Start::skip : Start::failed;
}

std::span<const nghttp2_nv> Sessions::plugged_h2(const Conn& c, const InFlight& r, const SessionEnv& env) noexcept {
  if (!env.plugins->rewrote()) return {};  // as rendered: the line's prepared list
  const Origin& origin = origins_[r.request->origin];
  std::string_view authority = origin.host_line;  // "Host: h[:p]\r\n", for a head without Host
  authority.remove_prefix(std::min<std::size_t>(6, authority.size()));
  if (authority.ends_with("\r\n")) authority.remove_suffix(2);
  return h2_heads_.convert(env.plugins->head(c, r), origin.tls != nullptr, authority);
}

const char* Sessions::failure_message(const SessionEnv& env) const noexcept {
  return start_error_ != nullptr ? start_error_ : env.plugins->error();
}

// A hook error makes the Step a failure of kind `plugin`, still done: the response came.
Step Sessions::judged(Conn& c, SessionEnv& env, Step step) noexcept {
  if (step.kind != Step::Kind::done) return step;
  if (const char* error = env.plugins->judge(c, step.ok, now_ns())) {
    step.error = ErrorKind::plugin;
    step.message = error;
  }
  return step;
}

Step Sessions::on_eof(uint32_t slot, Conn& c, SessionEnv& env) noexcept {
  Step step = Step::more();
  switch (c.session) {
    case SessionKind::http: step = HttpSession::on_eof(c, env); break;
    case SessionKind::sse: step = sse_[slot].on_eof(c, env); break;
    case SessionKind::ws: step = ws_[slot].on_eof(c, env); break;
    case SessionKind::h2: return h2_[slot].on_eof(c, env);
    case SessionKind::pipe: return pipe_[slot].on_eof(c, env);
  }
  return env.plugins == nullptr ? step : judged(c, env, step);
}

Step Sessions::on_timer(uint32_t slot, Conn& c, SessionEnv& env, uint64_t now) noexcept {
  Step step = Step::more();
  switch (c.session) {
    case SessionKind::http: step = HttpSession::on_timer(c, env, now); break;
    case SessionKind::sse: step = sse_[slot].on_timer(c, env, now); break;
    case SessionKind::ws: step = ws_[slot].on_timer(c, env, now); break;
    case SessionKind::h2: return h2_[slot].on_timer(c, env, now);
    case SessionKind::pipe: return pipe_[slot].on_timer(env, now);
  }
  return env.plugins == nullptr ? step : judged(c, env, step);
}

uint64_t Sessions::deadline(uint32_t slot, const Conn& c, const SessionEnv& env) const noexcept {
  switch (c.session) {
    case SessionKind::http: return HttpSession::deadline(c, env);
    case SessionKind::sse: return sse_[slot].deadline(c, env);
    case SessionKind::ws: return ws_[slot].deadline(c, env);
    case SessionKind::h2: return h2_[slot].deadline();
    case SessionKind::pipe: return pipe_[slot].deadline();
  }
  return UINT64_MAX;
}

Step Sessions::on_stop(uint32_t slot, Conn& c, SessionEnv& env) noexcept {
  Step step = Step::more();
  switch (c.session) {
    case SessionKind::http: step = HttpSession::on_stop(c, env); break;
    case SessionKind::sse: step = sse_[slot].on_stop(c, env); break;
    case SessionKind::ws: step = ws_[slot].on_stop(c, env); break;
    case SessionKind::h2:  // streams stay in flight, like HTTP/1.1
    case SessionKind::pipe: return Step::more();
  }
  return env.plugins == nullptr ? step : judged(c, env, step);
}

int Sessions::finish(uint32_t slot, Conn& c, SessionEnv& env, bool ok, uint64_t now) noexcept {
  switch (c.session) {
    case SessionKind::http: return HttpSession::finish(c, env, ok, now);
    case SessionKind::sse: return sse_[slot].finish(c, env, ok, now);
    case SessionKind::ws: return ws_[slot].finish(c, env, ok, now);
    case SessionKind::h2: return -1;
    case SessionKind::pipe: return -1;
  }
  return -1;
}

std::span<const char> Sessions::farewell(uint32_t slot, Conn& c, SessionEnv& env) noexcept {
  if (c.session == SessionKind::ws) return ws_[slot].farewell(c, env);
  return {};
}

}  // namespace ringload
