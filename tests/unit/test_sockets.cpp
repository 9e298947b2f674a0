// Before a run: source addresses and descriptors (engine/core/sockets.cpp), and the
// direct-socket chain on this kernel (engine/core/direct_fd.cpp).
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>
#include <vector>

#include "engine/core/direct_fd.hpp"
#include "engine/core/sockets.hpp"

using namespace ringload;

namespace {

Origin origin(const char* ip, int family = AF_INET) {
  Origin o;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&o.endpoint.addr);
    a->sin_family = AF_INET;
    a->sin_port = htons(8080);
    inet_pton(AF_INET, ip, &a->sin_addr);
    o.endpoint.addr_len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&o.endpoint.addr);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(8080);
    inet_pton(AF_INET6, ip, &a->sin6_addr);
    o.endpoint.addr_len = sizeof *a;
  }
  o.endpoint.address = ip;
  return o;
}

std::vector<std::string> addresses(const Origin& o) {
  std::vector<std::string> out;
  for (const Endpoint& e : o.sources) out.push_back(e.address);
  return out;
}

}  // namespace

TEST_CASE("sockets: --source-addr gives each origin the addresses of its family, in turn", "[sockets]") {
  RunConfig c;
  c.descriptors = Descriptors::regular;
  c.source_addresses = {"127.0.0.2", "::1", "127.0.0.3"};
  std::vector<Origin> origins = {origin("127.0.0.1"), origin("::1", AF_INET6)};
  std::vector<std::string> notices;
  auto plan = plan_sockets(c, origins, {10, 10}, 2, notices);
  REQUIRE(plan);
  CHECK_FALSE(plan->direct);
  CHECK(plan->fds_per_process == 20);
  CHECK(addresses(origins[0]) == std::vector<std::string>{"127.0.0.2", "127.0.0.3"});
  CHECK(addresses(origins[1]) == std::vector<std::string>{"::1"});
  CHECK(notices.empty());
}

TEST_CASE("sockets: an origin with no --source-addr of its family is an error naming the flag", "[sockets]") {
  RunConfig c;
  c.descriptors = Descriptors::regular;
  c.source_addresses = {"::1"};
  std::vector<Origin> origins = {origin("127.0.0.1")};
  std::vector<std::string> notices;
  auto plan = plan_sockets(c, origins, {4}, 1, notices);
  REQUIRE_FALSE(plan);
  CHECK(plan.error().find("--source-addr") != std::string::npos);
  CHECK(plan.error().find("127.0.0.1") != std::string::npos);
}

TEST_CASE("sockets: a loopback origin with more connections than one address has ports is spread", "[sockets]") {
  RunConfig c;
  c.descriptors = Descriptors::regular;
  std::vector<Origin> origins = {origin("127.0.0.1"), origin("127.0.0.1")};
  std::vector<std::string> notices;
  // 100,000 connections to the first origin (planned only: nothing is opened), 8 to the second.
  auto plan = plan_sockets(c, origins, {100'000, 8}, 64, notices);
  if (!plan) {
    // The fd limit may be too low for a regular plan of this size: the spread comes first.
    CHECK(plan.error().find("RLIMIT_NOFILE") != std::string::npos);
  }
  REQUIRE(origins[0].sources.size() >= 2);
  CHECK(origins[0].sources.front().address == "127.0.0.1");
  CHECK(origins[0].sources[1].address == "127.0.0.2");
  CHECK(origins[1].sources.empty());
  REQUIRE_FALSE(notices.empty());
  CHECK(notices.front().find("spread over") != std::string::npos);
}

TEST_CASE("sockets: direct descriptors where the kernel has the chain, else a notice", "[sockets]") {
  RunConfig c;
  std::vector<Origin> origins = {origin("127.0.0.1")};
  std::vector<std::string> notices;
  auto plan = plan_sockets(c, origins, {64}, 2, notices);
  REQUIRE(plan);
  CHECK(plan->slots_per_ring == 32);
  if (probe_direct_sockets(false)) {
    CHECK(plan->direct);
    CHECK(notices.empty());
  } else {
    CHECK_FALSE(plan->direct);
    REQUIRE(notices.size() == 1);
    CHECK(notices[0].find("direct descriptors are unavailable") != std::string::npos);
    c.descriptors = Descriptors::direct;
    CHECK_FALSE(plan_sockets(c, origins, {64}, 2, notices));
  }
}
