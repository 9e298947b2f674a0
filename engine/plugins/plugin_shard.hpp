// One shard's side of the plugins: each plugin's shard state, what each connection keeps
// of its request and response for them, and the verdict labels counted. Runs on the
// shard's thread only. The sessions call it through SessionEnv::plugins (null: no
// plugins, and none of this costs anything).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/conn.hpp"
#include "engine/plugins/plugin_host.hpp"
#include "engine/requests/request_table.hpp"

namespace ringload {

class PluginShard {
 public:
  // Each plugin's ringload_plugin_shard_init for this shard, and room for `slots`
  // connections. Returns an error text.
  std::string setup(PluginHost& host, unsigned shard, uint32_t slots, std::size_t scratch_size) noexcept;

  enum class Send : uint8_t { send, skip, failed };
  // The request in c.scratch (c.req.head_len bytes) and c.req.body is about to be sent: each
  // plugin's on_request may change it, skip it, or fail (error() says why). Also makes the
  // tap keep what on_response will need of the response.
  Send before_send(Conn& c, const RequestTable& table, uint64_t seq) noexcept;
  // A response (or a stream) ended well: each plugin's on_response may change `ok` and
  // set a label, counted here. Returns a hook's error message (valid until the next hook
  // call), or null.
  const char* judge(Conn& c, bool& ok, uint64_t now) noexcept;
  const char* error() const noexcept { return error_.message.c_str(); }
  // An SSE event or a piece of a WebSocket message arrived (plugin.h: kinds).
  void message(const Conn& c, int kind, std::string_view name, std::string_view data) noexcept;

  const std::vector<std::pair<std::string, uint64_t>>& labels() const noexcept { return labels_; }

 private:
 public:
  // Per-slot state and the response-header scratch (not what the hooks allocate).
  std::size_t bytes() const noexcept {
    return slots_.capacity() * sizeof(Slot) + header_scratch_.capacity() * sizeof(proto::Header);
  }

 private:
  struct Slot {
    ResponseCapture capture;
    std::string body;       // a body a plugin set
    HookError stream_error; // an on_message hook failed during the stream in flight
  };
  ringload_response response_of(Conn& c, ringload_request& req, uint64_t now) noexcept;
  void count_label(const std::string& label) noexcept;

  PluginHost* host_ = nullptr;
  const RequestTable* table_ = nullptr;
  unsigned shard_ = 0;
  std::size_t scratch_size_ = 0;
  std::vector<void*> states_;  // per plugin
  std::vector<Slot> slots_;
  std::vector<proto::Header> header_scratch_;
  std::string label_;
  std::vector<std::pair<std::string, uint64_t>> labels_;  // at most max_labels, then "(other)"
  HookError error_;  // api->hook_error during the current hook
};

}  // namespace ringload
