#include "engine/plugins/plugin_shard.hpp"

#include "engine/plugins/plugin_objects.hpp"

#include <cstring>
#include <utility>

namespace ringload {
namespace {

constexpr std::size_t max_labels = 64;  // distinct labels counted; the rest as "(other)"

}  // namespace

std::string PluginShard::setup(PluginHost& host, unsigned shard, uint32_t slots, uint32_t per_conn,
                               std::size_t scratch_size) noexcept {
  host_ = &host;
  shard_ = shard;
  per_conn_ = per_conn == 0 ? 1 : per_conn;
  scratch_size_ = scratch_size;
  const std::size_t records = static_cast<std::size_t>(slots) * per_conn_;
  try {
    slots_.resize(records);
    edit_ = std::make_unique<char[]>(scratch_size);
    header_scratch_.resize(256);
    labels_.reserve(max_labels + 1);
    label_.reserve(256);
  } catch (const std::bad_alloc&) {
    return "out of memory for the plugins' state of " + std::to_string(records) + " requests in flight";
  }
  for (const LoadedPlugin& p : host.plugins()) states_.push_back(p.shard_init ? p.shard_init(p.state, shard) : p.state);
  return {};
}

std::size_t PluginShard::bytes() const noexcept {
  std::size_t n = slots_.capacity() * sizeof(Slot) + header_scratch_.capacity() * sizeof(proto::Header) +
                  (edit_ ? scratch_size_ : 0);
  for (const Slot& s : slots_) n += s.head.capacity() + s.body.capacity() + s.capture.head.capacity() + s.capture.body.capacity();
  return n;
}

// The response's head, and its body up to what the plugins asked for, go to the record.
void PluginShard::tap(InFlight& r, Slot& s) noexcept {
  s.stream_error.failed = false;
  if (!host_->wants_responses()) return;
  r.tap.capture = &s.capture;
  r.tap.capture_left = host_->body_limit();
  s.capture.head.clear();
  s.capture.body.clear();
}

// Each plugin's on_request in turn, until one skips or fails.
PluginShard::Send PluginShard::run_requests(ringload_request& req) noexcept {
  const std::vector<LoadedPlugin>& plugins = host_->plugins();
  error_.failed = false;
  set_hook_error_target(&error_);
  Send out = Send::send;
  for (std::size_t i = 0; i < plugins.size() && out == Send::send; ++i) {
    if (plugins[i].on_request == nullptr) continue;
    const int skip = plugins[i].on_request(states_[i], &req);
    out = error_.failed ? Send::failed : skip == 1 ? Send::skip : Send::send;
  }
  set_hook_error_target(nullptr);
  if (out == Send::failed && host_->fatal()) host_->fail_run();
  return out;
}

PluginShard::Send PluginShard::before_send(Conn& c, const RequestTable& table, uint64_t seq) noexcept {
  table_ = &table;
  Slot& s = slots_[index(c, c.req)];
  tap(c.req, s);
  if (!host_->wants_requests()) return Send::send;
  ringload_request req{&c, &c.req, &table, RequestHead(c.scratch, c.req.head_len, scratch_size_), &s.body, seq, shard_};
  return run_requests(req);
}

PluginShard::Send PluginShard::before_send(Conn& c, InFlight& r, const RequestTable& table) noexcept {
  table_ = &table;
  Slot& s = slots_[index(c, r)];
  tap(r, s);
  Send out = Send::send;
  rewrote_ = false;
  if (host_->wants_requests()) {
    ringload_request req{&c, &r, &table, RequestHead(edit_.get(), r.head_len, scratch_size_), &s.body, r.seq, shard_};
    out = run_requests(req);
    rewrote_ = req.head.changed();
  }
  if (out != Send::send) return out;
  // Kept for the send (a pipeline writes it later) and for on_response's view. The
  // record's head grows to the longest it carries, once.
  try {
    s.head.assign(edit_.get(), r.head_len);
  } catch (const std::bad_alloc&) {
    error_.failed = true;
    error_.message = "out of memory for a plugin's request head";
    return Send::failed;
  }
  return out;
}

ringload_response PluginShard::response_of(InFlight& r, ringload_request& req, const Slot& s, int status,
                                           uint64_t now) noexcept {
  const int64_t ttfb = r.first_byte_ns != 0 ? static_cast<int64_t>(r.first_byte_ns - r.sent_ns) : -1;
  return {&req, &s.capture, status, static_cast<int64_t>(now - r.intended_ns), ttfb, &header_scratch_};
}

// Each plugin's on_response in turn (each sees the verdict the ones before it left).
const char* PluginShard::run_responses(ringload_response& res, Slot& s, bool& ok) noexcept {
  ringload_verdict verdict{ok, nullptr, &label_};
  label_.clear();
  const std::vector<LoadedPlugin>& plugins = host_->plugins();
  error_.failed = false;
  set_hook_error_target(&error_);
  for (std::size_t i = 0; i < plugins.size() && !error_.failed; ++i)
    if (plugins[i].on_response != nullptr) plugins[i].on_response(states_[i], &res, &verdict);
  set_hook_error_target(nullptr);
  if (!label_.empty()) count_label(label_);
  HookError& stream = s.stream_error;
  if (stream.failed && !error_.failed) std::swap(error_, stream);
  if (error_.failed) {
    ok = false;
    if (host_->fatal()) host_->fail_run();
    return error_.message.c_str();
  }
  ok = verdict.ok;
  return nullptr;
}

const char* PluginShard::judge(Conn& c, bool& ok, uint64_t now) noexcept {
  // A WebSocket session wrote its frames over the handshake in the scratch: no head.
  uint32_t head_len = c.session == SessionKind::ws ? 0 : c.req.head_len;
  Slot& s = slots_[index(c, c.req)];
  ringload_request req{&c, &c.req, table_, RequestHead(c.scratch, head_len, head_len), &s.body, c.req.seq, shard_};
  ringload_response res = response_of(c.req, req, s, c.exchange.final_status(), now);
  if (c.req.tap.queue != nullptr) res.export_tap = &c.req.tap;  // a plugin may change what is exported
  return run_responses(res, s, ok);
}

const char* PluginShard::judge(Conn& c, InFlight& r, int status, bool& ok, uint64_t now) noexcept {
  Slot& s = slots_[index(c, r)];
  uint32_t head_len = r.head_len;
  ringload_request req{&c, &r, table_, RequestHead(s.head.data(), head_len, head_len), &s.body, r.seq, shard_};
  ringload_response res = response_of(r, req, s, status, now);
  if (r.tap.queue != nullptr) res.export_tap = &r.tap;
  return run_responses(res, s, ok);
}

void PluginShard::message(const Conn& c, int kind, std::string_view name, std::string_view data) noexcept {
  Conn& conn = const_cast<Conn&>(c);  // the views handed out are read-only
  uint32_t head_len = 0;
  Slot& s = slots_[index(conn, conn.req)];
  ringload_request req{&conn, &conn.req, table_, RequestHead(conn.scratch, head_len, 0), &s.body, c.req.seq, shard_};
  const ringload_response res = response_of(conn.req, req, s, conn.exchange.final_status(), 0);
  const std::vector<LoadedPlugin>& plugins = host_->plugins();
  // A hook error here fails the stream when it ends well (judge); the first one is kept.
  HookError& stream = s.stream_error;
  if (stream.failed) return;
  set_hook_error_target(&stream);
  for (std::size_t i = 0; i < plugins.size() && !stream.failed; ++i) {
    if (plugins[i].on_message != nullptr)
      plugins[i].on_message(states_[i], &res, kind, {name.data(), name.size()}, {data.data(), data.size()});
  }
  set_hook_error_target(nullptr);
  if (stream.failed && host_->fatal()) host_->fail_run();
}

// Labels are few and fixed in practice: a new one costs an allocation once.
void PluginShard::count_label(const std::string& label) noexcept {
  for (auto& [name, count] : labels_) {
    if (name == label) {
      ++count;
      return;
    }
  }
  try {
    if (labels_.size() < max_labels) {
      labels_.emplace_back(label, 1);
      return;
    }
    if (labels_.size() == max_labels) labels_.emplace_back("(other)", 0);
    ++labels_.back().second;
  } catch (...) {
  }
}

}  // namespace ringload
