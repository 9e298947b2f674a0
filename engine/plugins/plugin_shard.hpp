// One shard's side of the plugins: each plugin's shard state, what each request in flight
// keeps of its request and response for them, and the verdict labels counted. Runs on the
// shard's thread only. The sessions call it through SessionEnv::plugins (null: no
// plugins, and none of this costs anything).
//
// The per-request state is a record per request that can be in flight: a connection slot
// carries `per_conn` of them (--max-streams with HTTP/2, N with --pipeline N, else 1),
// addressed by slot and InFlight::record. A request of Conn::req is edited in the slot's
// scratch; a multiplexed one (an HTTP/2 stream, a pipelined request) in the shard's edit
// buffer, then kept in its record's head until its response was judged.
#pragma once
#include <cstdint>
#include <memory>
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
  // connections of `per_conn` requests each. Returns an error text.
  std::string setup(PluginHost& host, unsigned shard, uint32_t slots, uint32_t per_conn,
                    std::size_t scratch_size) noexcept;

  enum class Send : uint8_t { send, skip, failed };
  // The request in c.scratch (c.req.head_len bytes) and c.req.body is about to be sent: each
  // plugin's on_request may change it, skip it, or fail (error() says why). Also makes the
  // tap keep what on_response will need of the response.
  Send before_send(Conn& c, const RequestTable& table, uint64_t seq) noexcept;
  // A multiplexed request `r` (a record of c's session): its head was rendered into
  // edit_buffer(), r.head_len bytes. As above; then the head, as the plugins left it, is
  // the record's: head(c, r).
  Send before_send(Conn& c, InFlight& r, const RequestTable& table) noexcept;
  char* edit_buffer() noexcept { return edit_.get(); }
  // The last multiplexed request's head was changed by a plugin (else it is as rendered).
  bool rewrote() const noexcept { return rewrote_; }
  std::string_view head(const Conn& c, const InFlight& r) const noexcept {
    const std::string& h = slots_[index(c, r)].head;
    return {h.data(), r.head_len};
  }
  // A response (or a stream) ended well: each plugin's on_response may change `ok` and
  // set a label, counted here. Returns a hook's error message (valid until the next hook
  // call), or null.
  const char* judge(Conn& c, bool& ok, uint64_t now) noexcept;
  // The same for a multiplexed request `r` whose response (final status `status`) completed.
  const char* judge(Conn& c, InFlight& r, int status, bool& ok, uint64_t now) noexcept;
  const char* error() const noexcept { return error_.message.c_str(); }
  // An SSE event or a piece of a WebSocket message arrived (plugin.h: kinds).
  void message(const Conn& c, int kind, std::string_view name, std::string_view data) noexcept;

  const std::vector<std::pair<std::string, uint64_t>>& labels() const noexcept { return labels_; }

  // Per-request state and the response-header scratch (not what the hooks allocate). A
  // record's strings grow to the longest head, body and response they held, once each.
  std::size_t bytes() const noexcept;

 private:
  struct Slot {
    ResponseCapture capture;
    std::string body;        // a body a plugin set
    std::string head;        // a multiplexed request's head, as sent
    HookError stream_error;  // an on_message hook failed during the stream in flight
  };
  std::size_t index(const Conn& c, const InFlight& r) const noexcept {
    return static_cast<std::size_t>(c.slot) * per_conn_ + r.record;
  }
  void tap(InFlight& r, Slot& s) noexcept;
  Send run_requests(ringload_request& req) noexcept;
  const char* run_responses(ringload_response& res, Slot& s, bool& ok) noexcept;
  ringload_response response_of(InFlight& r, ringload_request& req, const Slot& s, int status,
                                uint64_t now) noexcept;
  void count_label(const std::string& label) noexcept;

  PluginHost* host_ = nullptr;
  const RequestTable* table_ = nullptr;
  unsigned shard_ = 0;
  uint32_t per_conn_ = 1;
  std::size_t scratch_size_ = 0;
  std::vector<void*> states_;  // per plugin
  std::vector<Slot> slots_;    // per request that can be in flight
  std::unique_ptr<char[]> edit_;  // scratch_size_ bytes: a multiplexed request's head (per_conn_ > 1)
  std::vector<proto::Header> header_scratch_;
  std::string label_;
  std::vector<std::pair<std::string, uint64_t>> labels_;  // at most max_labels, then "(other)"
  HookError error_;  // api->hook_error during the current hook
  bool rewrote_ = false;
};

}  // namespace ringload
