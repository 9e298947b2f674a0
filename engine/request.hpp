// Requests rendered to wire bytes once, before the run; shards only read them.
#pragma once
#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "ringload/config.hpp"

namespace ringload {

struct RenderedRequest {
  std::string bytes;          // request line + headers + body, ready to send
  std::string name;           // report label
  uint32_t origin = 0;        // index into PreparedRun::origins
  uint64_t timeout_ns = 0;    // 0: no deadline
  bool head = false;          // HEAD: the response has no body
};

struct Origin {
  Url url;          // scheme, host, port (the target part is unused)
  Endpoint endpoint;
};

struct PreparedRun {
  std::vector<Origin> origins;
  std::vector<RenderedRequest> requests;
};

// Checks and renders every request (header names and values, method), resolving each
// distinct origin once. Errors name the request and what is wrong.
std::expected<PreparedRun, std::string> prepare_requests(const RunConfig& config);

// One blocking connect with a timeout, before the run: "connection refused" and friends
// become a setup error instead of a run full of connect errors.
std::expected<void, std::string> probe_connect(const Origin& origin, uint64_t timeout_ns);

}  // namespace ringload
