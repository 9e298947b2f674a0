// RunConfig: plain data describing a run. Built by the CLI or by an embedding program;
// nothing downstream parses flags.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ringload/requests.hpp"
#include "ringload/thresholds.hpp"
#include "ringload/url.hpp"

struct ringload_plugin_entry;

namespace ringload {

using namespace std::chrono_literals;

struct RequestSpec {
  Url url;
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;  // in order; repeats kept
  std::string body;
  std::string name;                    // label in the report; default: method + path
  std::chrono::nanoseconds timeout{0}; // whole-request deadline; 0: RunConfig::timeout
                                       // (streams: the wait for the head and each gap)
  std::optional<StreamSpec> stream;    // an SSE stream or WebSocket session; none: HTTP
  LineHttp2 http2 = LineHttp2::run;    // HTTP/2 or 1.1 for this request (ringload/requests.hpp)
};

// A plugin to load (include/ringload/plugin.h): a shared object and the argument string
// its ringload_plugin_init receives ("" when none). A path ending in ".py" is a Python
// module of hooks, run by ringload's Python plugin (embedded CPython). With `entry` set,
// the plugin is linked into the program: `path` only names it.
struct PluginSpec {
  std::string path;
  std::string args;
  const struct ringload_plugin_entry* entry = nullptr;
};

struct StatusRange {
  int lo = 200;  // inclusive
  int hi = 399;  // inclusive
};

// A k6-style stage: the rate moves linearly to `target_qps` over `duration`.
struct Stage {
  std::chrono::nanoseconds duration{0};
  double target_qps = 0;
};

// The adaptive controller: every `interval`, a window passes when availability
// (succeeded / finished) >= target_availability and, if target_p99 is set, its p99 <=
// target_p99. Passing multiplies the rate by `up`, failing by `down`; each change of
// direction halves the distance of both factors from 1, down to `min_step`.
struct AdaptiveConfig {
  bool enabled = false;
  double qps_min = 1;
  double qps_max = 1e9;
  double up = 1.25;
  double down = 0.7;
  double min_step = 0.02;
  double target_availability = 0.99;
  std::chrono::nanoseconds target_p99{0};  // 0: no latency objective
  std::chrono::nanoseconds interval{1s};
};

// HTTPS settings, for every https:// origin.
struct TlsConfig {
  bool verify = true;           // false: --insecure (the report says so)
  std::string ca_file;          // --cacert: trusted besides the system CA store
  std::string cert_file;        // --cert: client certificate (PEM)
  std::string key_file;         // --key: its private key (PEM)
  std::string sni;              // --sni: name sent and verified instead of the URL host
  bool resume = true;           // resume sessions when reconnecting (--no-tls-resume: off)
  bool handshake_each = false;  // a new connection (and handshake) for every request
};

// The open loop's wait before an intended send. Sleeping wakes late by the timer's
// lateness (tens of microseconds here); spinning the last 250 us sends on time but costs
// the core that stretch before every send.
enum class SpinMode : uint8_t {
  automatic,  // spin only where it pays: while the gap between this shard's sends is
              // shorter than the timer's measured p99 lateness, or that lateness is over
              // 100 us (the send-lag budget); otherwise sleep
  always,     // spin the last 250 us before every send
  never,      // sleep until each send
};

// How connections hold their sockets. Direct descriptors live in each shard's io_uring
// file table, not the process's fd table: -c is then bounded by RLIMIT_NOFILE per shard,
// not per process. automatic: direct where the kernel can (a notice when it cannot).
enum class Descriptors : uint8_t { automatic, direct, regular };

// HTTP/2 (libnghttp2): off, with prior knowledge on http:// origins (h2c), or offered by
// ALPN ("h2,http/1.1") on https:// origins, falling back to HTTP/1.1 when the server
// picks it (a notice says so once).
enum class Http2Mode : uint8_t { off, prior_knowledge, alpn };

// One process's part of a run spread over several (--shard i/N): it does its 1/N share of
// the connections (per origin, the remainder to the low shards), the rates (--qps, stages,
// adaptive bounds) and the request sequence (positions index, index + count, ...: N shards
// of an -n run send exactly -n requests in all). count 0: not sharded.
struct ShardSpec {
  uint32_t index = 0;  // 0-based, < count
  uint32_t count = 0;  // 0: the whole run
};

struct RunConfig {
  std::vector<RequestSpec> requests;   // the requests, in order (ignored when `file` is set)
  RequestFile file;                    // a loaded request file (load_request_file); empty: none
  uint64_t iterations = 0;             // passes over the requests; 0: repeat until -d or -n
  bool shuffle = false;                // a new order for each pass, from `seed`
  uint64_t seed = 1;
  double qps = 0;                      // > 0: open loop at this total rate (the start rate of stages)
  bool poisson = false;                // exponential gaps instead of even spacing
  SpinMode spin = SpinMode::automatic;  // open loop: spin or sleep before an intended send
  std::vector<Stage> stages;           // a rate ramp (open loop); the run lasts their total
  AdaptiveConfig adaptive;             // open loop whose rate follows the target's availability
  TlsConfig tls;
  Http2Mode http2 = Http2Mode::off;    // --h2c: prior_knowledge; --http2: alpn
  uint32_t max_streams = 1;            // HTTP/2: concurrent streams per connection (h2load's -m),
                                       // capped by the server's SETTINGS_MAX_CONCURRENT_STREAMS
  uint32_t pipeline = 1;               // HTTP/1.1: requests in flight per connection (1 to 1024),
                                       // responses matched in order; 1: one at a time
  // The closed loop: how long a wake waits, after a first completion, for one per busy
  // connection (io_uring's min_wait, kernel 6.12+): fewer syscalls for both ends, and a
  // response timed at most this late. 0: a wake at each completion (exact arrival times).
  // The shard waits at most a sixteenth of the mean service time so far. Below 0 (the
  // default): check_config sets 50 us, or 0 when a request is an SSE or WebSocket stream
  // (their events and echoes are timed in microseconds).
  std::chrono::microseconds batch_wait{-1};
  uint32_t connections = 64;           // closed loop: connections kept busy; open loop: the
                                       // most open (and so in flight) per origin
  bool connections_per_origin = true;  // false: `connections` is the total over all origins
  uint32_t threads = 0;                // shards; 0: one per CPU the process may run on
  std::chrono::nanoseconds duration{10s};  // 0: no time limit (then max_requests must be set)
  uint64_t max_requests = 0;           // total over all shards, exact; 0: no limit
  std::chrono::nanoseconds timeout{30s};  // per-request deadline from its send; 0: none
                                         // (a stalled server must not hold a run forever)
  std::chrono::nanoseconds connect_timeout{5s};
  // After a failed connect the slot waits before it tries again: 1 ms, doubling with each
  // consecutive failure, up to this (so a restarting server is not hammered).
  std::chrono::nanoseconds reconnect_backoff{1s};
  uint64_t ws_max_message = 16u << 20; // a bigger WebSocket message fails its session
  std::vector<StatusRange> success_status{{200, 399}};  // what counts as success
  bool pin_threads = true;             // pin shard k to the k-th CPU of the affinity set
  Descriptors descriptors = Descriptors::automatic;
  // Local addresses connections bind to, in turn (numeric; one family per origin is used).
  // Empty: the kernel picks; then a loopback origin with more connections than one
  // address has ports for is spread over 127.0.0.1, 127.0.0.2, ... (a notice says so).
  std::vector<std::string> source_addresses;
  std::chrono::nanoseconds progress_interval{1s};  // control-thread window (timeline, progress)
  std::string export_path;             // every finished request as a JSON line; "-": stdout; "": off
  uint64_t export_max_body = UINT64_MAX;  // body bytes kept per exported request
  bool export_errors_only = false;     // export only failed requests
  std::vector<PluginSpec> plugins;     // loaded by Engine::load_plugins(), called in this order
  bool plugin_errors_fatal = false;    // a hook error (a `plugin` error) stops the run
  ShardSpec shard;                     // this process's share of a sharded run
  // The run's t0 (after the open loop's warm-up) waits for this wall-clock time, so shards
  // on several machines start together; the epoch (the default): start at once. check_config
  // refuses a time over 24 h ahead or over 1 s past.
  std::chrono::system_clock::time_point start_at{};
  std::vector<Threshold> thresholds;   // pass/fail objectives (ringload/thresholds.hpp); the
                                       // report lists them, `abort` ones may stop the run
};

// Whether a response status counts as a success for this run (RunConfig::success_status).
inline bool success_status(const RunConfig& config, int status) noexcept {
  for (const StatusRange& r : config.success_status)
    if (status >= r.lo && status <= r.hi) return true;
  return false;
}

}  // namespace ringload
