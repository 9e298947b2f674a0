// The objects behind plugin.h's opaque types, and the api table's functions over them.
// Each lives on its shard's stack or in its PluginShard, for one hook call.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/core/conn.hpp"
#include "engine/plugins/request_head.hpp"
#include "engine/requests/request_table.hpp"
#include "proto/http_response.hpp"
#include "ringload/plugin.h"

// The request about to be sent: its head edited in place (in the connection's scratch, or
// for a multiplexed request in the shard's edit buffer), its body replaced into
// `body_store`. `req`: the record in flight (Conn::req, or a stream's / pipeline's).
struct ringload_request {
  ringload::Conn* conn;
  ringload::InFlight* req;
  const ringload::RequestTable* table;
  ringload::RequestHead head;
  std::string* body_store;  // the slot's; conn->req.body points into it once a plugin set a body
  uint64_t seq;
  unsigned shard;
};

// A finished response: what the tap kept of it, parsed on demand.
struct ringload_response {
  const ringload_request* request;       // read-only view of the request that was sent
  const ringload::ResponseCapture* capture;
  int status;
  int64_t latency_ns;
  int64_t ttfb_ns;
  std::vector<ringload::proto::Header>* header_scratch;
  mutable std::size_t headers = SIZE_MAX;  // parsed fields in header_scratch (SIZE_MAX: not yet)
  ringload::ResponseTap* export_tap = nullptr;  // on_response with --export: where a plugin's
                                                // version of the response goes; else null
};

struct ringload_verdict {
  bool ok;
  const char* label;  // the plugin's string, valid during its call only: copied at once
  std::string* label_store;
};
