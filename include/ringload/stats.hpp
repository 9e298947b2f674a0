// Run statistics: per-shard counters and histograms of one layout, merged exactly.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ringload/export.hpp"
#include "ringload/histogram.hpp"
#include "ringload/memory.hpp"

namespace ringload {

// Every error the engine can count. One counter each; one place (the shard's error
// exit) increments them.
enum class ErrorKind : uint8_t {
  connect,   // the connection could not be established (refused, unreachable, timed out)
  read,      // the connection failed or closed while a response was due
  write,     // sending the request failed
  timeout,   // the request's deadline passed before its response completed
  protocol,  // the response was not valid HTTP (see ParseError for the first cause)
  tls,       // the TLS handshake or a record failed (unknown CA, name mismatch, alert ...)
  plugin,    // a plugin's hook failed for the request (api->hook_error: a Python exception)
  count_,
};
inline constexpr std::size_t error_kind_count = static_cast<std::size_t>(ErrorKind::count_);
RINGLOAD_API const char* to_string(ErrorKind k) noexcept;

struct RINGLOAD_API Counters {
  uint64_t requests = 0;     // finished: a complete response, or an error after the send
  uint64_t succeeded = 0;    // complete responses with a success status
  uint64_t failed = 0;       // requests - succeeded
  std::array<uint64_t, 1000> status{};              // complete responses by status code
  std::array<uint64_t, error_kind_count> errors{};  // errors by kind (connect errors too)
  uint64_t bytes_in = 0;     // bytes received (headers and body, as on the wire)
  uint64_t bytes_out = 0;    // bytes of requests sent
  uint64_t connects = 0;     // connections established
  uint64_t closes_by_server = 0;  // Connection: close, HTTP/1.0, or EOF between requests
  uint64_t stale_completions = 0; // completions for a recycled connection slot (dropped)
  uint64_t waited_for_connection = 0;  // open loop: no idle connection at the intended time
  uint64_t spun_sends = 0;             // open loop: sends made while the pre-send spin was on
  uint64_t closes_by_client = 0;  // --tls-handshake-each: closed after each response
  uint64_t tls_handshakes = 0;    // completed
  uint64_t tls_resumed = 0;       // of which resumed a session
  uint64_t skipped = 0;           // requests a plugin chose not to send (not in `requests`)
  uint64_t pipeline_unanswered = 0;  // --pipeline: requests whose connection ended before their
                                     // response began (errors of kind read, in `requests`)

  void merge(const Counters& o) noexcept;
  void subtract(const Counters& older) noexcept;
};

// How a stream (SSE) or session (WebSocket) ended; `error` covers every failure.
// run_end: still open when the run stopped (-d, -n reached, Ctrl-C): counted and exported
// with what it received, since a stream may never end by itself.
enum class StreamEnd : uint8_t { server, max_events, until, stream_timeout, expect, idle_timeout, error, run_end, count_ };
inline constexpr std::size_t stream_end_count = static_cast<std::size_t>(StreamEnd::count_);
RINGLOAD_API const char* to_string(StreamEnd e) noexcept;

// WebSocket close codes seen: 1000-1015 counted directly, others in a few (code, count) slots.
struct RINGLOAD_API CloseCodes {
  std::array<uint64_t, 16> standard{};                        // 1000 + i
  std::array<std::pair<uint16_t, uint64_t>, 16> other{};      // code 0: free slot
  uint64_t overflow = 0;                                      // codes that found no slot

  void add(uint16_t code, uint64_t n = 1) noexcept;
  void merge(const CloseCodes& o) noexcept;
  void subtract(const CloseCodes& older) noexcept;
};

struct RINGLOAD_API StreamCounters {
  uint64_t sse_streams = 0;     // finished SSE streams (as in requests: success or not)
  uint64_t sse_events = 0;      // events dispatched
  uint64_t sse_bytes = 0;       // body bytes of the streams (the event stream as sent)
  uint64_t sse_comments = 0;    // ':' lines
  std::array<uint64_t, stream_end_count> sse_end{};
  uint64_t ws_sessions = 0;     // finished WebSocket sessions (handshake sent)
  uint64_t ws_sent = 0;         // data messages sent
  uint64_t ws_received = 0;     // data messages received
  uint64_t ws_bytes_sent = 0;   // payload bytes of data messages
  uint64_t ws_bytes_received = 0;
  uint64_t ws_pings = 0;        // pings received
  uint64_t ws_pongs_sent = 0;
  uint64_t ws_pongs_received = 0;
  std::array<uint64_t, 3> ws_closed_by{};  // client, server, none (no close frame)
  std::array<uint64_t, stream_end_count> ws_end{};
  CloseCodes close_codes;       // the code of each close frame received from a server

  void merge(const StreamCounters& o) noexcept;
  void subtract(const StreamCounters& older) noexcept;
};

// HTTP/2 (the report's `http2` block): counts summed over shards; the maxima and the
// SETTINGS values received are the largest any connection saw.
struct RINGLOAD_API Http2Counters {
  uint64_t connections = 0;          // connections that spoke HTTP/2 (prior knowledge or ALPN h2)
  uint64_t alpn_fallbacks = 0;       // --http2: connections where the server chose http/1.1
  uint64_t streams = 0;              // streams opened (each one request)
  uint64_t max_concurrent = 0;       // the most streams open at once on one connection
  uint64_t settings_frames = 0;      // SETTINGS received (not ACKs)
  // SETTINGS values received (largest seen; 0: never sent by the server)
  uint64_t max_concurrent_streams = 0;
  uint64_t initial_window_size = 0;
  uint64_t max_frame_size = 0;
  uint64_t header_table_size = 0;
  uint64_t max_header_list_size = 0;
  uint64_t goaways = 0;              // GOAWAY frames received
  uint64_t goaway_unprocessed = 0;   // streams above a GOAWAY's last_stream_id (not processed)
  uint64_t goaway_retried = 0;       // of those, requests sent again on another connection
  uint64_t refused_retried = 0;      // streams reset with REFUSED_STREAM whose request was sent again (once)
  std::array<uint64_t, 14> rst_received{};  // RST_STREAM received, by error code (RFC 9113 §7)
  uint64_t rst_other = 0;            // RST_STREAM with a code past 13
  uint64_t rst_sent = 0;             // streams we reset (timeouts, oversized header lists)
  uint64_t flow_control_stalls = 0;  // a request body waited for the server's window
  uint64_t header_block_bytes = 0;   // response header blocks as received (HPACK)
  uint64_t header_decoded_bytes = 0; // their fields decoded: names + values

  void merge(const Http2Counters& o) noexcept;
  void subtract(const Http2Counters& older) noexcept;
};

struct RINGLOAD_API Stats {
  // User-provided, so that `new Stats()` and make_unique do not zero the histograms'
  // pages first: only the pages that come to hold counts cost memory (histogram.hpp).
  Stats() noexcept {}

  Counters counters;
  StreamCounters streams;
  Http2Counters http2;
  Histogram latency;  // completion - intended send time (closed loop: the send)
  Histogram service;  // completion - actual send
  Histogram ttfb;     // first response byte - actual send
  Histogram send_lag; // actual send - intended send (open loop; 0 in the closed loop)
  Histogram tls_handshake;  // TCP connected -> TLS handshake done
  Histogram sse_ttfe;       // request sent -> first event
  Histogram sse_gap;        // between consecutive events of a stream
  Histogram sse_duration;   // request sent -> end of the stream
  Histogram ws_handshake;   // upgrade request sent -> 101 checked
  Histogram ws_rtt;         // a message sent -> the next message received (FIFO matched)
  Histogram error_latency;  // a failed request without a complete response (timeout, read,
                            // write, protocol, tls, plugin): the failure - intended send time.
                            // Connect errors are not in it: they are not requests

  void merge(const Stats& o) noexcept;
  void subtract(const Stats& older) noexcept;
};

// Stats of the requests that share a name (a request-file line's `name`, or method + path).
struct NameStats {
  NameStats() noexcept {}  // as Stats(): a histogram's untouched pages stay unbacked
  std::string name;
  uint64_t requests = 0;
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  Histogram latency;
};

// Counts of one pass over the requests (--iterations, --loop).
struct IterationStats {
  uint64_t requests = 0;
  uint64_t succeeded = 0;
  uint64_t failed = 0;
};

namespace limits {
inline constexpr std::size_t max_tracked_iterations = 4096;  // later passes count in the last
}

// One control-thread window (the timeline and live progress).
struct Window {
  double t_s = 0;          // end of the window, seconds since the run's start
  double duration_s = 0;
  uint64_t requests = 0;
  uint64_t succeeded = 0;
  uint64_t errors = 0;     // all error kinds, connect included
  uint64_t latency_p50_ns = 0;
  uint64_t latency_p99_ns = 0;
  double target_qps = 0;   // open loop: the rate asked for during the window (0: closed loop)
  uint64_t latency_p90_ns = 0;
  uint64_t latency_max_ns = 0;  // the highest bucket's upper bound (a window is a difference)
  std::array<uint64_t, 5> status_classes{};  // complete responses by class: 1xx ... 5xx
};

// What a plugin added to the report from its finish (plugin.h: report_number).
struct PluginReport {
  std::string path;
  std::vector<std::pair<std::string, double>> numbers;  // in the order reported
};

struct RunResult {
  RunResult() {}                 // as Stats(): no zeroing of the histograms' pages
  Stats stats;                   // merged over all shards
  double duration_s = 0;         // from the first send to the stop
  uint32_t connections = 0;
  uint32_t threads = 0;
  bool direct_fds = false;       // the sockets were io_uring direct descriptors
  uint64_t in_flight_at_end = 0; // sent, not finished when the run stopped (not in requests)
  uint64_t unsent_at_end = 0;    // open loop: due before the stop but never sent
  uint32_t preopened = 0;        // open loop: connections open when the schedule started
  double warm_up_s = 0;          // open loop: opening them, before the start (not in duration_s)
  int64_t started_at_ms = 0;     // the wall-clock time of the run's start (t0), Unix ms
  double capacity_qps = -1;      // adaptive: highest rate passing >= 2 windows; -1: none
  bool interrupted = false;      // stopped by request_stop (Ctrl-C)
  bool plugin_stopped = false;   // stopped at a plugin's hook error (plugin_errors_fatal)
  int threshold_stop = -1;       // index into RunConfig::thresholds of the `abort` threshold
                                 // that stopped the run; -1: none did
  std::vector<Window> timeline;
  std::vector<NameStats> by_name;            // one per name, in first-seen order
  std::vector<IterationStats> by_iteration;  // one per pass (empty for a single looping URL)
  std::array<std::string, error_kind_count> first_error;  // first message of each kind
  std::vector<std::string> notices;  // once-per-run facts (kernel features missing ...)
  uint64_t export_lines = 0;     // whole lines in the --export file (== requests, unless it failed)
  std::string export_error;      // why the export failed ("" : it did not); the run stopped there
  uint64_t export_waits = 0;     // times a shard waited for the export writer (backpressure)
  std::vector<std::pair<std::string, uint64_t>> labels;  // plugins' verdict labels, counted
  std::vector<PluginReport> plugins;  // one per plugin loaded, in load order
  std::string tls_version;       // of the first TLS handshake ("TLSv1.3"); "" without TLS
  std::string tls_cipher;
  MemoryUsage memory;            // the engine's own allocations for the run (memory.hpp)
};

}  // namespace ringload
