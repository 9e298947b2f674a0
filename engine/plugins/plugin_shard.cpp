#include "engine/plugins/plugin_shard.hpp"

#include "engine/plugins/plugin_objects.hpp"

#include <utility>

namespace ringload {
namespace {

constexpr std::size_t max_labels = 64;  // distinct labels counted; the rest as "(other)"

}  // namespace

std::string PluginShard::setup(PluginHost& host, unsigned shard, uint32_t slots, std::size_t scratch_size) noexcept {
  host_ = &host;
  shard_ = shard;
  scratch_size_ = scratch_size;
  try {
    slots_.resize(slots);
    header_scratch_.resize(256);
    labels_.reserve(max_labels + 1);
    label_.reserve(256);
  } catch (const std::bad_alloc&) {
    return "out of memory for the plugins' state of " + std::to_string(slots) + " connections";
  }
  for (const LoadedPlugin& p : host.plugins()) states_.push_back(p.shard_init ? p.shard_init(p.state, shard) : p.state);
  return {};
}

PluginShard::Send PluginShard::before_send(Conn& c, const RequestTable& table, uint64_t seq) noexcept {
  table_ = &table;
  Slot& s = slots_[c.slot];
  s.stream_error.failed = false;
  if (host_->wants_responses()) {
    c.req.tap.capture = &s.capture;
    c.req.tap.capture_left = host_->body_limit();
    s.capture.head.clear();
    s.capture.body.clear();
  }
  if (!host_->wants_requests()) return Send::send;
  ringload_request req{&c, &table, RequestHead(c.scratch, c.req.head_len, scratch_size_), &s.body, seq, shard_};
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

ringload_response PluginShard::response_of(Conn& c, ringload_request& req, uint64_t now) noexcept {
  const Slot& s = slots_[c.slot];
  const int64_t ttfb = c.req.first_byte_ns != 0 ? static_cast<int64_t>(c.req.first_byte_ns - c.req.sent_ns) : -1;
  return {&req, &s.capture, c.exchange.final_status(), static_cast<int64_t>(now - c.req.intended_ns), ttfb,
          &header_scratch_};
}

const char* PluginShard::judge(Conn& c, bool& ok, uint64_t now) noexcept {
  // A WebSocket session wrote its frames over the handshake in the scratch: no head.
  uint32_t head_len = c.session == SessionKind::ws ? 0 : c.req.head_len;
  ringload_request req{&c, table_, RequestHead(c.scratch, head_len, head_len), &slots_[c.slot].body, c.req.seq, shard_};
  ringload_response res = response_of(c, req, now);
  if (c.req.tap.queue != nullptr) res.export_tap = &c.req.tap;  // a plugin may change what is exported
  ringload_verdict verdict{ok, nullptr, &label_};
  label_.clear();
  const std::vector<LoadedPlugin>& plugins = host_->plugins();
  error_.failed = false;
  set_hook_error_target(&error_);
  for (std::size_t i = 0; i < plugins.size() && !error_.failed; ++i)
    if (plugins[i].on_response != nullptr) plugins[i].on_response(states_[i], &res, &verdict);
  set_hook_error_target(nullptr);
  if (!label_.empty()) count_label(label_);
  HookError& stream = slots_[c.slot].stream_error;
  if (stream.failed && !error_.failed) std::swap(error_, stream);
  if (error_.failed) {
    ok = false;
    if (host_->fatal()) host_->fail_run();
    return error_.message.c_str();
  }
  ok = verdict.ok;
  return nullptr;
}

void PluginShard::message(const Conn& c, int kind, std::string_view name, std::string_view data) noexcept {
  Conn& conn = const_cast<Conn&>(c);  // the views handed out are read-only
  uint32_t head_len = 0;
  ringload_request req{&conn, table_, RequestHead(conn.scratch, head_len, 0), &slots_[c.slot].body, c.req.seq, shard_};
  const ringload_response res = response_of(conn, req, 0);
  const std::vector<LoadedPlugin>& plugins = host_->plugins();
  // A hook error here fails the stream when it ends well (judge); the first one is kept.
  HookError& stream = slots_[c.slot].stream_error;
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
