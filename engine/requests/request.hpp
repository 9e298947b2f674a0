// The run's requests made ready: the table rendered, each origin resolved with its
// default headers rendered once. Shards only read it.
#pragma once
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "ringload/config.hpp"
#include "engine/transport/tls.hpp"
#include "engine/requests/request_table.hpp"

namespace ringload {

struct Origin {
  Url url;
  Endpoint endpoint;
  std::string host_line;        // "Host: h[:p]\r\n"
  std::string user_agent_line;  // "User-Agent: ringload/x.y.z\r\n"
  std::string accept_line;      // "Accept: */*\r\n"
  std::shared_ptr<TlsContext> tls;  // https: shared read-only by the shards; null for http
  std::vector<Endpoint> sources;    // local addresses to bind, by slot in turn; empty: the kernel's pick
};

struct PreparedRun {
  std::shared_ptr<const RequestTable> table;
  std::vector<Origin> origins;  // parallel to table->origins
  bool direct_fds = false;      // sockets as direct descriptors (engine/core/sockets.hpp)
};

// Renders config.requests into a table unless config.file is set, resolves each origin
// once. Errors name the request and what is wrong.
std::expected<PreparedRun, std::string> prepare_requests(const RunConfig& config);

// One blocking connect with a timeout, before the run: "connection refused" and friends
// become a setup error instead of a run full of connect errors.
std::expected<void, std::string> probe_connect(const Origin& origin, uint64_t timeout_ns);

}  // namespace ringload
