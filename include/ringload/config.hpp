// RunConfig: plain data describing a run. Built by the CLI or by an embedding program;
// nothing downstream parses flags.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ringload/requests.hpp"
#include "ringload/url.hpp"

namespace ringload {

using namespace std::chrono_literals;

struct RequestSpec {
  Url url;
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;  // in order; repeats kept
  std::string body;
  std::string name;                    // label in the report; default: method + path
  std::chrono::nanoseconds timeout{0}; // whole-request deadline; 0: RunConfig::timeout
};

struct StatusRange {
  int lo = 200;  // inclusive
  int hi = 399;  // inclusive
};

struct RunConfig {
  std::vector<RequestSpec> requests;   // the requests, in order (ignored when `table` is set)
  std::shared_ptr<const RequestTable> table;  // pre-rendered requests (a request file)
  uint64_t iterations = 0;             // passes over the requests; 0: repeat until -d or -n
  bool shuffle = false;                // a new order for each pass, from `seed`
  uint64_t seed = 1;
  uint32_t connections = 64;           // closed loop: connections kept busy, per origin
  bool connections_per_origin = true;  // false: `connections` is the total over all origins
  uint32_t threads = 0;                // shards; 0: one per CPU the process may run on
  std::chrono::nanoseconds duration{10s};  // 0: no time limit (then max_requests must be set)
  uint64_t max_requests = 0;           // total over all shards, exact; 0: no limit
  std::chrono::nanoseconds timeout{0}; // per-request deadline from its send; 0: none
  std::chrono::nanoseconds connect_timeout{5s};
  std::vector<StatusRange> success_status{{200, 399}};  // what counts as success
  bool pin_threads = true;             // pin shard k to the k-th CPU of the affinity set
  std::chrono::nanoseconds progress_interval{1s};  // control-thread window (timeline, progress)
  std::string export_path;             // every finished request as a JSON line; "-": stdout; "": off
  uint64_t export_max_body = UINT64_MAX;  // body bytes kept per exported request
  bool export_errors_only = false;     // export only failed requests
};

}  // namespace ringload
