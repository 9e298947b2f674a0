#include "engine/core/sockets.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdio>

#include "engine/core/direct_fd.hpp"
#include "engine/core/host.hpp"

namespace ringload {
namespace {

constexpr uint64_t fd_slack = 64;  // stdio, the rings, the export file ...

// Local ports one source address has towards one destination (ip_local_port_range),
// less a margin for the machine's other connections.
uint32_t usable_ports() {
  unsigned lo = 32768;
  unsigned hi = 60999;
  if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(f, "%u %u", &lo, &hi) != 2) lo = 32768, hi = 60999;
    std::fclose(f);
  }
  const uint32_t ports = hi >= lo ? hi - lo + 1 : 1;
  return ports > 4096 ? ports - 1024 : ports;
}

std::expected<Endpoint, std::string> parse_source(const std::string& text) {
  Endpoint e;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&e.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&e.addr);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    e.addr_len = sizeof *v4;
  } else if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    e.addr_len = sizeof *v6;
  } else {
    return std::unexpected("--source-addr: '" + text + "' is not a numeric IPv4 or IPv6 address");
  }
  e.address = text;
  return e;
}

bool loopback_v4(const Endpoint& e) {
  if (e.addr.ss_family != AF_INET) return false;
  return ntohl(reinterpret_cast<const sockaddr_in*>(&e.addr)->sin_addr.s_addr) >> 24 == 127;
}

// 127.0.0.1, 127.0.0.2, ...: all of 127.0.0.0/8 is this machine's.
Endpoint loopback_source(uint32_t k) {
  Endpoint e;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&e.addr);
  v4->sin_family = AF_INET;
  v4->sin_addr.s_addr = htonl(0x7f000001u + k);
  e.addr_len = sizeof *v4;
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
  e.address = text;
  return e;
}

std::expected<void, std::string> plan_sources(const RunConfig& config, std::vector<Origin>& origins,
                                              const std::vector<uint32_t>& per_origin,
                                              std::vector<std::string>& notices) {
  std::vector<Endpoint> given;
  for (const std::string& text : config.source_addresses) {
    auto e = parse_source(text);
    if (!e) return std::unexpected(e.error());
    given.push_back(*e);
  }
  const uint32_t ports = usable_ports();
  for (std::size_t o = 0; o < origins.size(); ++o) {
    Origin& origin = origins[o];
    origin.sources.clear();
    const uint32_t conns = o < per_origin.size() ? per_origin[o] : 0;
    if (!given.empty()) {
      for (const Endpoint& e : given)
        if (e.addr.ss_family == origin.endpoint.addr.ss_family) origin.sources.push_back(e);
      if (origin.sources.empty())
        return std::unexpected("--source-addr: no address of the family of " + origin.endpoint.address);
    } else if (conns > ports && loopback_v4(origin.endpoint)) {
      const uint32_t k = (conns + ports - 1) / ports;
      for (uint32_t i = 0; i < k; ++i) origin.sources.push_back(loopback_source(i));
      notices.push_back(std::to_string(conns) + " connections to " + origin.endpoint.address + " are spread over " +
                        std::to_string(k) + " source addresses (127.0.0.1-" + origin.sources.back().address +
                        "): one has " + std::to_string(ports) + " local ports");
    }
    const uint64_t room = static_cast<uint64_t>(ports) * std::max<std::size_t>(origin.sources.size(), 1);
    if (conns > room)
      notices.push_back(std::to_string(conns) + " connections to " + origin.endpoint.address + " exceed the " +
                        std::to_string(room) + " local ports their source addresses have: give more with --source-addr");
  }
  return {};
}

}  // namespace

std::expected<SocketPlan, std::string> plan_sockets(const RunConfig& config, std::vector<Origin>& origins,
                                                    const std::vector<uint32_t>& per_origin, uint32_t shards,
                                                    std::vector<std::string>& notices) {
  if (auto r = plan_sources(config, origins, per_origin, notices); !r) return std::unexpected(r.error());
  SocketPlan plan;
  bool bind = false;
  for (const Origin& o : origins) bind = bind || !o.sources.empty();
  for (uint32_t n : per_origin) {
    plan.fds_per_process += n;
    plan.slots_per_ring += (n + std::max(shards, 1u) - 1) / std::max(shards, 1u);
  }
  if (config.descriptors != Descriptors::regular) {
    auto probe = probe_direct_sockets(bind);
    if (probe) {
      plan.direct = true;
    } else if (config.descriptors == Descriptors::direct) {
      return std::unexpected("--descriptors direct: this kernel cannot make direct sockets (" + probe.error() + ")");
    } else {
      notices.push_back("direct descriptors are unavailable (" + probe.error() +
                        "): connections use ordinary ones, so -c is bounded by RLIMIT_NOFILE");
    }
  }
  if (!plan.direct) {
    if (auto r = raise_fd_limit(plan.fds_per_process + fd_slack); !r) return std::unexpected(r.error());
    return plan;
  }
  // Each ring's file table may hold up to RLIMIT_NOFILE slots.
  if (auto r = raise_fd_limit(plan.slots_per_ring + fd_slack); !r)
    return std::unexpected("each shard's " + std::to_string(plan.slots_per_ring) +
                           " direct sockets need that many slots in its ring's file table, which RLIMIT_NOFILE "
                           "bounds: use more shards (-t), fewer connections, or raise the limit (" + r.error() + ")");
  return plan;
}

}  // namespace ringload
