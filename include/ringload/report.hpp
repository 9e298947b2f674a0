// The end-of-run JSON report: one document for every front end (the CLI's --json and -o,
// an embedding program, the Python module), written from a run's config and result.
//
// Schema (stable). Keys are emitted in sorted order; counts are integers; times in the
// histogram blocks ({same keys}) are microseconds as floats, but for "hdr": the whole
// histogram in HdrHistogram's interchange encoding (compressed V2, Base64; values in
// nanoseconds: ringload/hdr_encoding.hpp), which HdrHistogram's libraries decode. This listing is the one the
// README points to; the machine-readable form is the JSON Schema (draft 2020-12) next to
// this header, report.schema.json (installed with it; its $id ends in the version):
// `jsonschema -i report.json report.schema.json` (Debian's python3-jsonschema) checks a
// report. Change the listing, the schema and the README together with the code
// (tools/check_report_schema.py, a CTest test, checks that they agree).
//
// {
//   "ringload_version": "0.1.0",
//   "url": "http://127.0.0.1:8080/",    first request's URL: origin (always with the port) + target
//   "method": "GET",                    first request's method
//   "duration_s": 10.0,                 the run's length (a timed run: exactly its duration)
//   "started_at": "2026-12-04T07:50:00.123Z",   wall-clock time of the start (t0), RFC 3339, UTC, ms
//   "shard": {"index", "count"} | {"merged"} | null,   this process's part of a sharded run
//                                       (--shard index/count); merged: the number of reports
//                                       `ringload merge` added up; null: not sharded
//   "connections": 64, "threads": 2,    as run (RunResult), over all origins
//   "descriptors": direct | regular,    the sockets: io_uring direct descriptors, or ordinary ones
//   "interrupted": false,               stopped early (Engine::request_stop: Ctrl-C)
//   "requests": {"total", "succeeded", "failed", "in_flight_at_end", "skipped", "pipeline_unanswered"},
//                                       skipped: requests a plugin chose not to send (not in total);
//                                       pipeline_unanswered: --pipeline requests whose connection
//                                       ended before their response began (read errors, in total)
//   "status_codes": {"200": n, ...},    complete responses by status (non-zero only)
//   "errors": {"connect", "read", "write", "timeout", "protocol", "tls", "plugin"},   every kind, zeros included
//   "first_errors": {"kind": "message"},  the first message of each kind that occurred
//   "latency_us":      {"count", "hdr", "min", "mean", "stdev", "p50", "p75", "p90", "p95", "p99", "p99_9",
//                       "p99_99", "max"},   completion - intended send; count: values recorded,
//                                       hdr: the histogram, HdrHistogram-encoded (ns)
//   "service_time_us": {same keys},     completion - actual send
//   "ttfb_us":         {same keys},     first response byte - actual send
//   "send_lag_us":     {same keys},     actual send - intended send (open loop)
//   "error_latency_us": {same keys},    failure - intended send, of the requests that failed
//                                       without a complete response (timeout, read, write,
//                                       protocol, tls, plugin); connect errors are not requests
//                                       and not in it; all zeros when there was no such failure
//   "tls_handshake_us": {same keys},
//   "tls": {"version", "cipher", "handshakes", "resumed", "resumed_ratio", "verify"} | null,
//                                       null: no TLS connection and no TLS error
//   "sse": {"streams", "events", "bytes", "comments", "events_per_s", "bytes_per_s",
//           "ended_by": {"server", "max_events", "until", "stream_timeout", "run_end", "error"},
//           "ttfe_us", "inter_event_us", "duration_us": {same keys}} | null,   null: no SSE stream
//   "ws": {"sessions", "messages_sent", "messages_received", "bytes_sent", "bytes_received",
//          "messages_per_s", "bytes_per_s", "pings_received", "pongs_sent", "pongs_received",
//          "close_codes": {"1000": n, ..., "other": n}, "closed_by": {"client", "server", "none"},
//          "ended_by": {"expect", "until", "idle_timeout", "stream_timeout", "server", "run_end", "error"},
//          "handshake_us", "rtt_us": {same keys}} | null,   null: no WebSocket session
//   "http2": {"connections", "alpn_fallbacks",   connections that spoke HTTP/2; --http2: that got http/1.1
//             "max_streams", "streams",          --max-streams; streams opened (each one request)
//             "max_concurrent",                  the most streams open at once on one connection
//             "settings_frames",                 SETTINGS received (ACKs aside)
//             "settings": {"max_concurrent_streams", "initial_window_size", "max_frame_size",
//                          "header_table_size", "max_header_list_size"},   largest received; null: never
//             "goaways", "goaway_unprocessed",   GOAWAYs received; streams above their last_stream_id
//             "goaway_retried",                  of those, requests sent again (once) on another connection
//             "refused_retried",                 streams refused (REFUSED_STREAM) whose request was sent again (once)
//             "rst_stream_received": {"no_error", "protocol_error", "internal_error",
//                 "flow_control_error", "settings_timeout", "stream_closed", "frame_size_error",
//                 "refused_stream", "cancel", "compression_error", "connect_error",
//                 "enhance_your_calm", "inadequate_security", "http_1_1_required", "other"},
//             "rst_stream_sent",                 streams we reset (timeouts, oversized header lists)
//             "flow_control_stalls",             a request body waited for the server's window
//             "header_block_bytes", "header_decoded_bytes"} | null,
//                                       response header blocks as received (HPACK) and decoded
//                                       (names + values); null: no --h2c / --http2 / "http2": true
//   "open_loop": {"target_qps", "schedule", "arrival", "spin", "spun_sends", "preopened_connections",
//                 "warm_up_s", "waited_for_connection", "unsent_at_end"} | null,
//                                       null: closed loop; schedule: fixed (--qps), stages
//                                       or adaptive (the timeline's target_qps follows it)
//   "capacity": f | null,               adaptive: highest rate passing two windows
//   "qps_timeline": [{"t_s", "target_qps", "achieved_qps", "availability", "p50_us", "p99_us", "errors"}],
//                                       open loop only (else [])
//   "throughput": {"rps", "rpm", "bytes_in_per_s", "bytes_out_per_s"},
//                                       rps = requests.total / duration_s (0 if duration_s is 0)
//   "bytes": {"in", "out"},             on the wire, headers included
//   "connections_opened": n,
//   "closes_by_server": n, "closes_by_client": n,
//   "timeline": [{"t_s", "duration_s", "requests", "succeeded", "errors", "rps", "p50_us", "p90_us",
//                 "p99_us", "max_us",   latency of the window's responses (max: its bucket's bound)
//                 "status_classes": {"1xx", "2xx", "3xx", "4xx", "5xx"},   its responses by class
//                 "target_qps"}],       one entry per progress window (the last one may be shorter)
//   "by_name": [{"name", "requests", "succeeded", "failed", "latency_us": {same keys}}],
//                                       names with requests only
//   "by_iteration": [{"iteration", "requests", "succeeded", "failed"}],
//   "notices": ["..."],                 kernel features missing, verification off, slow TLS library
//   "export": {"path", "lines", "waits", "error"} | null,
//                                       lines: whole lines in the file; error: why the export
//                                       failed and stopped the run, else null; null: no export
//   "labels": {"label": n, ...} | null, plugins' verdict labels, counted; null: no plugin
//   "plugins": [{"path", "args", "report": {"key": f, ...}}] | null,
//                                       each plugin in load order, with what its finish
//                                       reported; null: no plugin
//   "thresholds": [{"expression", "name", "metric", "stat", "op", "limit", "unit", "value", "passed",
//                   "abort", "stopped_run"}],
//                                       each --threshold in the order given, [] without
//                                       (ringload/thresholds.hpp); name: a by_name name or null (the
//                                       whole run); metric: latency, service, ttfb, errors,
//                                       availability or rps; stat: pNN, avg, min, max, med or rate;
//                                       op: < <= > >= ==; limit and value in unit: us (times, as in
//                                       the histogram blocks), ratio (errors = failed / total,
//                                       availability = succeeded / total), per_s (rps, as throughput);
//                                       value: null when there was nothing to measure (then it
//                                       fails); abort: stops the run at the first progress window
//                                       that fails it; stopped_run: it did (then it fails)
//   "memory": {"total_bytes",           the engine's own allocations in bytes (ringload/memory.hpp;
//                                       not RSS: no kernel socket buffers, no wolfSSL heap)
//              "per_connection_bytes",  the parts that grow with -c (slots to timers) / connections
//              "connections",           connection slots over all shards
//              "parts": {"slots", "scratch", "buffer_rings", "rings", "session_state", "tls",
//                        "timers", "histograms", "request_table", "export_queues"},
//                                       histograms: the pages their counts span
//              "carry_reserved_bytes"}, reserved for split response heads, backed only where
//                                       written; not in the total
//   "config": {"connections", "threads",          as configured (threads 0: one per CPU)
//              "duration_s" | null,               null: no time limit
//              "max_requests" | null,             null: no request limit
//              "timeout_s" | null,                null: no per-request deadline
//              "method", "headers": [[name, value]], "body_bytes",   the first RequestSpec's
//              "success_status": ["200-399"],     each range as "lo-hi"
//              "requests_file" | null, "iterations" | null, "shuffle", "seed",
//              "connections_per_origin", "pipeline",   pipeline: --pipeline N (1: one at a time)
//              "batch_wait_us",                   HTTP/2 closed loop's --batch-wait (0: a wake per completion)
//              "tls": {"verify", "cacert", "cert", "sni", "resume", "handshake_each"}}
// }
#pragma once
#include <string>

#include "ringload/config.hpp"
#include "ringload/export.hpp"
#include "ringload/stats.hpp"

namespace ringload {

// The document above as text: `indent` spaces per level, or one line when negative; no
// trailing newline. `config` is the engine's (Engine::config(): after prepare() filled in
// its defaults), `result` what Engine::run() returned.
RINGLOAD_API std::string report_json(const RunConfig& config, const RunResult& result, int indent = 2);

// What the report calls the run's request: the first request's URL (origin + target) and
// method, from the request file's table when there is one. Empty without requests.
RINGLOAD_API std::string report_url(const RunConfig& config);
RINGLOAD_API std::string report_method(const RunConfig& config);

// The report's "thresholds" array alone, on one line: what `ringload merge` writes into a
// merged report after judging thresholds on figures it rebuilt from the shards' reports.
RINGLOAD_API std::string report_thresholds_json(const RunConfig& config, const RunResult& result);

}  // namespace ringload
