#include "cli/options.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <CLI/CLI.hpp>
#include <fstream>
#include <sstream>

#include "cli/config_flags.hpp"
#include "cli/duration.hpp"
#include "ringload/config_check.hpp"
#include "ringload/request_file.hpp"

namespace ringload::cli {
namespace {

// "Name: value" → {name, value}; the value's leading spaces dropped.
std::expected<std::pair<std::string, std::string>, std::string> split_header(const std::string& h) {
  auto colon = h.find(':');
  if (colon == std::string::npos || colon == 0)
    return std::unexpected("-H '" + h + "': expected 'Name: value'");
  std::string value = h.substr(colon + 1);
  std::size_t start = value.find_first_not_of(" \t");
  value = start == std::string::npos ? "" : value.substr(start);
  return std::pair{h.substr(0, colon), value};
}

// A CLI11 validator from one of our parsers, so the message names the flag.
template <typename Parse>
CLI::Validator checked(Parse parse, const char* what) {
  return CLI::Validator(
      [parse](std::string& s) -> std::string {
        auto r = parse(s);
        return r ? std::string() : r.error();
      },
      what);
}

// CLI11 2.1 converts "-5" to a huge unsigned value: reject signs before conversion.
const CLI::Validator unsigned_number(
    [](std::string& s) { return !s.empty() && s[0] == '-' ? std::string("must not be negative") : std::string(); },
    "", "unsigned");

// "10s:1000,30s:5000,10s:0" → stages.
std::expected<std::vector<Stage>, std::string> parse_stages(std::string_view text) {
  std::vector<Stage> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    if (comma == text.size() - 1) return std::unexpected("a stage is missing after the last ','");
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const auto colon = item.find(':');
    if (colon == std::string_view::npos)
      return std::unexpected("stage '" + std::string(item) + "': expected DURATION:RATE");
    auto d = parse_duration(item.substr(0, colon));
    if (!d) return std::unexpected("stage '" + std::string(item) + "': " + d.error());
    if (d->count() <= 0) return std::unexpected("stage '" + std::string(item) + "': the duration must be above 0");
    const std::string rate(item.substr(colon + 1));
    char* end = nullptr;
    const double r = std::strtod(rate.c_str(), &end);
    if (rate.empty() || end != rate.c_str() + rate.size() || !(r >= 0) || std::isinf(r))
      return std::unexpected("stage '" + std::string(item) + "': the rate must be a number >= 0");
    out.push_back({*d, r});
  }
  if (out.empty()) return std::unexpected("no stages");
  return out;
}

// A rate flag: a positive number.
const CLI::Validator positive_rate(
    [](std::string& s) {
      char* end = nullptr;
      const double v = std::strtod(s.c_str(), &end);
      return s.empty() || end != s.c_str() + s.size() || !(v > 0) || std::isinf(v)
                 ? std::string("must be a number above 0")
                 : std::string();
    },
    "RATE", "positive");

}  // namespace

std::expected<Options, UsageError> parse_options(int argc, char** argv) {
  Options o;
  RunConfig& c = o.config;
  CLI::App app{"ringload: an io_uring HTTP load generator", "ringload"};
  app.set_version_flag("--version", "ringload " RINGLOAD_VERSION);
  app.get_formatter()->column_width(32);

  std::string url, method = "GET", body, body_file, duration = "10s", timeout, success = "200-399";
  std::string requests_file, export_max_body;
  uint64_t iterations = 0;
  bool loop = false, connections_total = false;
  std::vector<std::string> headers;
  uint64_t requests = 0;
  auto* url_opt = app.add_option("url", url, "Target URL (http://host[:port]/path)");
  auto* file_opt = app.add_option("-f,--requests-file", requests_file,
                                  "Requests from a JSONL file (url, method, headers, body, timeout, name)")
                       ->excludes(url_opt)
      ->group("Request files and export");
  auto* iter_opt = app.add_option("--iterations", iterations, "Passes over the requests (a file: default 1)")
                       ->check(unsigned_number)->check(CLI::Range(uint64_t{1}, UINT64_MAX))
      ->group("Request files and export");
  app.add_flag("--loop", loop, "Repeat the requests until -d or -n stops the run")->excludes(iter_opt)
      ->group("Request files and export");
  app.add_flag("--shuffle", c.shuffle, "A new random order for each pass (reproducible with --seed)")
      ->group("Request files and export");
  app.add_option("--seed", c.seed, "Seed for --shuffle")->capture_default_str()->check(unsigned_number)
      ->group("Request files and export");
  app.add_flag("--connections-total", connections_total,
               "-c is the total over all origins, not per origin")
      ->group("Request files and export");
  app.add_option("--export", c.export_path, "Write every finished request as a JSON line to FILE (- for stdout)")
      ->group("Request files and export");
  app.add_option("--export-max-body", export_max_body,
                 "Body bytes kept per exported response, e.g. 64KiB (default: the whole body)")
      ->check(checked(parse_size, "SIZE"))
      ->group("Request files and export");
  app.add_flag("--export-errors-only", c.export_errors_only, "Export only failed requests")
      ->group("Request files and export");

  // HTTPS.
  app.add_option("--cacert", c.tls.ca_file, "Trust this CA (PEM) besides the system's")->check(CLI::ExistingFile)
      ->group("HTTPS");
  app.add_option("--cert", c.tls.cert_file, "Client certificate (PEM)")->check(CLI::ExistingFile)
      ->group("HTTPS");
  app.add_option("--key", c.tls.key_file, "Client certificate's private key (PEM)")->check(CLI::ExistingFile)
      ->group("HTTPS");
  app.add_flag("!-k,!--insecure", c.tls.verify, "Do not verify the server's certificate")
      ->group("HTTPS");
  app.add_option("--sni", c.tls.sni, "Server name sent (SNI) and verified instead of the URL's host")
      ->group("HTTPS");
  app.add_flag("!--no-tls-resume", c.tls.resume, "Full handshakes on reconnects (no session resumption)")
      ->group("HTTPS");
  app.add_flag("--tls-handshake-each", c.tls.handshake_each, "A new connection, and handshake, for every request")
      ->group("HTTPS");

  // Open loop.
  std::string stages, arrival = "uniform", adapt_interval, target_p99;
  AdaptiveConfig& a = c.adaptive;
  auto* qps_opt = app.add_option("--qps", c.qps, "Open loop: requests per second, sent at their intended times")
                      ->check(positive_rate)
      ->group("Open loop");
  app.add_option("--arrival", arrival, "Open-loop gaps: uniform or poisson")
      ->capture_default_str()->check(CLI::IsMember({"uniform", "poisson"}))
      ->group("Open loop");
  auto* stages_opt = app.add_option("--stages", stages, "Rate ramp, k6 style: 10s:1000,30s:5000,10s:0 (sets -d)")
                         ->check(checked(parse_stages, "STAGES"))
      ->group("Open loop");
  auto* adaptive_opt = app.add_flag("--adaptive", a.enabled,
                                    "Raise the rate while availability holds, cut it when it drops")
                           ->excludes(stages_opt)
      ->group("Open loop");
  app.add_option("--qps-min", a.qps_min, "Adaptive: lowest rate")->capture_default_str()->check(positive_rate)
      ->needs(adaptive_opt)->group("Open loop");
  app.add_option("--qps-max", a.qps_max, "Adaptive: highest rate")->check(positive_rate)
      ->needs(adaptive_opt)->group("Open loop");
  app.add_option("--target-availability", a.target_availability, "Adaptive: succeeded/finished a window must reach")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0))
      ->needs(adaptive_opt)->group("Open loop");
  app.add_option("--target-p99", target_p99, "Adaptive: a window with a higher p99 fails (500ms, 2s)")
      ->check(checked(parse_duration, "DURATION"))
      ->needs(adaptive_opt)->group("Open loop");
  app.add_option("--adapt-interval", adapt_interval, "Adaptive: window length")->check(checked(parse_duration, "DURATION"))
      ->needs(adaptive_opt)->group("Open loop");
  app.add_option("--adapt-up", a.up, "Adaptive: rate factor after a passing window")->capture_default_str()
      ->needs(adaptive_opt)->group("Open loop");
  app.add_option("--adapt-down", a.down, "Adaptive: rate factor after a failing window")->capture_default_str()
      ->needs(adaptive_opt)->group("Open loop");
  app.add_option("--adapt-min-step", a.min_step, "Adaptive: smallest step the factors shrink to")->capture_default_str()
      ->needs(adaptive_opt)->group("Open loop");
  app.add_flag("!--no-spin", c.spin, "Open loop: sleep until each send instead of spinning the last 250us")
      ->group("Open loop");
  app.add_option("-c,--connections", c.connections, "Connections kept open (closed loop)")
      ->capture_default_str()->check(unsigned_number)->check(CLI::Range(1u, 1'000'000u));
  app.add_option("-t,--threads", c.threads, "Shards (threads), each pinned to a CPU; default: CPUs available")
      ->check(unsigned_number)->check(CLI::Range(1u, 1024u));
  auto* dur = app.add_option("-d,--duration", duration, "Run time: 500ms, 10s, 2m")
                  ->capture_default_str()->check(checked(parse_duration, "DURATION"));
  auto* nreq = app.add_option("-n,--requests", requests, "Total requests to send, exactly (no time limit unless -d)")
                   ->check(unsigned_number)->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  app.add_option("-m,--method", method, "HTTP method")->capture_default_str();
  // One value per -H: the URL positional is optional (-f), so a greedy -H would eat it.
  app.add_option("-H,--header", headers, "Request header 'Name: value' (repeatable)")->allow_extra_args(false);
  auto* b = app.add_option("-b,--body", body, "Request body");
  app.add_option("--body-file", body_file, "Request body from a file")->excludes(b)->check(CLI::ExistingFile);
  app.add_option("--timeout", timeout, "Per-request deadline, counted as a timeout error (default 30s; 0: none)")
      ->check(checked(parse_duration, "DURATION"));
  std::string reconnect_backoff;
  app.add_option("--reconnect-backoff", reconnect_backoff,
                 "Longest wait before reconnecting after failed connects (from 1ms, doubling; default 1s)")
      ->check(checked(parse_duration, "DURATION"));
  std::string stream_timeout, idle_timeout, until, ws_max_message;
  bool sse = false, ws = false;
  uint64_t max_events = 0, expect = 0;
  std::vector<std::string> ws_messages, subprotocols;
  const char* streams = "Streams (SSE, WebSocket)";
  auto* sse_opt = app.add_flag("--sse", sse, "The URL is a Server-Sent Events stream (Accept: text/event-stream)")
                      ->group(streams);
  app.add_flag("--ws", ws, "The URL is a WebSocket endpoint (implied by ws:// and wss://)")
                     ->group(streams)->excludes(sse_opt);
  auto* max_events_opt = app.add_option("--max-events", max_events, "SSE: end each stream after N events")
                             ->group(streams)->check(unsigned_number)->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  auto* stream_timeout_opt = app.add_option("--stream-timeout", stream_timeout, "End each SSE stream / WebSocket session after this long (a success)")
                                 ->group(streams)->check(checked(parse_duration, "DURATION"));
  auto* until_opt = app.add_option("--until", until, "SSE: an event with this data ends the stream; WS: a text message")
                        ->group(streams);
  auto* message_opt = app.add_option("--ws-message", ws_messages, "WS: a text message to send after the handshake (repeatable)")
                          ->group(streams)->allow_extra_args(false);
  auto* expect_opt = app.add_option("--expect", expect, "WS: the session is done after N received messages")
                         ->group(streams)->check(unsigned_number);
  auto* idle_opt = app.add_option("--idle-timeout", idle_timeout, "WS: the session is done after this long with nothing received")
                       ->group(streams)->check(checked(parse_duration, "DURATION"));
  uint64_t ws_repeat = 1;
  auto* repeat_opt = app.add_option("--ws-repeat", ws_repeat, "WS: passes over the messages; 0: until the session ends otherwise")
                         ->group(streams)->check(unsigned_number);
  std::string ws_interval;
  auto* interval_opt = app.add_option("--ws-interval", ws_interval, "WS: send the messages this far apart (the first at once)")
                           ->group(streams)->check(checked(parse_duration, "DURATION"));
  auto* subprotocol_opt = app.add_option("--ws-subprotocol", subprotocols, "WS: offer this subprotocol (repeatable)")
                              ->group(streams)->allow_extra_args(false);
  app.add_option("--ws-max-message", ws_max_message, "WS: a bigger received message fails the session: 16MiB")
      ->group(streams)->check(checked(parse_size, "SIZE"));
  app.add_option("--success-status", success, "Statuses that count as success: 200-299,404 or 2xx")
      ->capture_default_str()->check(checked(parse_status_ranges, "STATUSES"));
  app.add_flag("--json", o.json, "Print the JSON report instead of the summary");
  app.add_option("-o,--output", o.output, "Write the JSON report to this file");
  app.add_flag("-q,--quiet", o.quiet, "No live progress on stderr");
  std::string progress_every;
  app.add_option("--progress-interval", progress_every,
                 "When stderr is not a terminal, a plain progress line this often (default: none)")
      ->check(checked(parse_duration, "DURATION"));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return std::unexpected(UsageError{app.help(), 0});
  } catch (const CLI::CallForVersion&) {
    return std::unexpected(UsageError{"ringload " RINGLOAD_VERSION, 0});
  } catch (const CLI::ParseError& e) {
    return std::unexpected(UsageError{e.what(), 2});
  }

  o.terminal = isatty(STDERR_FILENO) != 0;
  if (!progress_every.empty()) o.progress_every = *parse_duration(progress_every);
  o.requests_file = requests_file;
  c.poisson = arrival == "poisson";
  if (stages_opt->count() > 0) {
    c.stages = *parse_stages(stages);
    if (dur->count() > 0) return std::unexpected(UsageError{"--stages sets the duration: drop -d"});
  }
  if (!adapt_interval.empty()) a.interval = *parse_duration(adapt_interval);
  if (!target_p99.empty()) a.target_p99 = *parse_duration(target_p99);
  (void)qps_opt;
  if (c.export_path == "-" && o.json)
    return std::unexpected(UsageError{"--export - and --json both write to stdout: send one to a file (-o FILE)"});
  if (url_opt->count() == 0 && file_opt->count() == 0)
    return std::unexpected(UsageError{"give a URL or -f/--requests-file"});
  c.iterations = iterations;
  c.connections_per_origin = !connections_total;
  if (!export_max_body.empty()) c.export_max_body = *parse_size(export_max_body);
  if (!ws_max_message.empty()) c.ws_max_message = *parse_size(ws_max_message);
  // Each stream flag belongs to some kinds of stream: elsewhere it would be silently ignored.
  // (Whether the run is a stream is known only once the URL's scheme is read.)
  enum class For : uint8_t { sse, ws, either };
  const struct {
    CLI::Option* opt;
    For kind;
  } scoped[] = {
      {max_events_opt, For::sse},  {message_opt, For::ws},     {expect_opt, For::ws},
      {idle_opt, For::ws},         {subprotocol_opt, For::ws}, {interval_opt, For::ws},
      {repeat_opt, For::ws},       {stream_timeout_opt, For::either}, {until_opt, For::either},
  };
  const bool stream_flags = std::any_of(std::begin(scoped), std::end(scoped), [](const auto& f) { return f.opt->count() > 0; });
  if (file_opt->count() > 0 && (sse || ws || stream_flags))
    return std::unexpected(UsageError{"--sse, --ws and the stream flags apply to a URL; a request file sets them per line "
                                      "(\"proto\", \"max_events\", \"messages\" ...)"});
  if (dur->count() > 0) c.duration = *parse_duration(duration);
  if (!timeout.empty()) c.timeout = *parse_duration(timeout);
  if (!reconnect_backoff.empty()) {
    c.reconnect_backoff = *parse_duration(reconnect_backoff);
    if (c.reconnect_backoff < 1ms) return std::unexpected(UsageError{"--reconnect-backoff must be at least 1ms"});
  }
  c.success_status = *parse_status_ranges(success);
  c.max_requests = requests;
  if (file_opt->count() > 0) {
    // A file is sent once by default; --loop repeats it until -d or -n.
    if (iter_opt->count() == 0) c.iterations = loop ? 0 : 1;
    if (dur->count() == 0) c.duration = std::chrono::nanoseconds{0};
    if (c.iterations == 0 && c.duration.count() == 0 && c.max_requests == 0)
      return std::unexpected(UsageError{"--loop needs -d/--duration or -n/--requests to end the run"});
    if (url_opt->count() == 0 && (b->count() > 0 || !body_file.empty() || !headers.empty() || method != "GET"))
      return std::unexpected(UsageError{"-m, -H, -b and --body-file apply to a URL; a request file sets them per line"});
    if (auto r = check_config(c); !r) return std::unexpected(UsageError{flag_message(r.error(), c)});
    return o;
  }
  auto parsed_url = parse_url(url);
  if (!parsed_url) return std::unexpected(UsageError{"URL '" + url + "': " + parsed_url.error()});
  RequestSpec spec;
  spec.url = *parsed_url;
  if (spec.url.scheme == Scheme::ws || spec.url.scheme == Scheme::wss) {
    if (sse) return std::unexpected(UsageError{"--sse needs an http:// or https:// URL, not '" + url + "'"});
    ws = true;
  }
  if (ws && spec.url.scheme == Scheme::http) spec.url.scheme = Scheme::ws;
  if (ws && spec.url.scheme == Scheme::https) spec.url.scheme = Scheme::wss;
  for (const auto& f : scoped) {
    if (f.opt->count() == 0) continue;
    if (f.kind == For::sse && !sse) return std::unexpected(UsageError{f.opt->get_name() + " applies to --sse streams"});
    if (f.kind == For::ws && !ws)
      return std::unexpected(UsageError{f.opt->get_name() + " applies to WebSocket sessions (ws://, wss:// or --ws)"});
    if (f.kind == For::either && !sse && !ws)
      return std::unexpected(UsageError{f.opt->get_name() + " applies to --sse streams and WebSocket sessions"});
  }
  if (sse || ws) {
    StreamSpec st;
    st.proto = sse ? StreamProto::sse : StreamProto::ws;
    st.max_events = max_events;
    if (!stream_timeout.empty()) st.stream_timeout_ns = static_cast<uint64_t>(parse_duration(stream_timeout)->count());
    if (!idle_timeout.empty()) st.idle_timeout_ns = static_cast<uint64_t>(parse_duration(idle_timeout)->count());
    st.repeat = ws_repeat;
    if (!ws_interval.empty()) st.interval_ns = static_cast<uint64_t>(parse_duration(ws_interval)->count());
    st.has_until = until_opt->count() > 0;
    st.until = until;
    for (const std::string& m : ws_messages) st.messages.push_back({false, m});
    st.has_expect = expect_opt->count() > 0;
    st.expect = expect;
    st.subprotocols = subprotocols;
    spec.stream = std::move(st);
  }
  spec.method = method;
  for (const std::string& h : headers) {
    auto kv = split_header(h);
    if (!kv) return std::unexpected(UsageError{kv.error()});
    spec.headers.push_back(*kv);
  }
  if (!body_file.empty()) {
    std::ifstream in(body_file, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (!in) return std::unexpected(UsageError{"--body-file '" + body_file + "': cannot read it", 1});
    spec.body = ss.str();
  } else {
    spec.body = body;
  }
  // The request as the engine will render it: a bad header, method or stream setting is
  // a usage error (exit 2), not a failed run.
  {
    std::vector<std::pair<std::string_view, std::string_view>> hv(spec.headers.begin(), spec.headers.end());
    RequestInput in;
    in.url = spec.url;
    in.method = spec.method;
    in.headers = hv;
    in.body = spec.body;
    in.stream = spec.stream ? &*spec.stream : nullptr;
    RequestTableBuilder probe;
    if (auto ok = probe.add(in); !ok) return std::unexpected(UsageError{"the request: " + ok.error()});
  }
  c.requests.push_back(std::move(spec));
  // -n or --iterations alone run until done; -d alone or with them: whichever comes first.
  const bool counted = nreq->count() > 0 || iter_opt->count() > 0;
  c.duration = counted && dur->count() == 0 ? std::chrono::nanoseconds{0} : *parse_duration(duration);
  if (c.duration.count() == 0 && c.max_requests == 0 && c.iterations == 0)
    return std::unexpected(UsageError{"-d/--duration must be more than 0"});
  if (auto r = check_config(c); !r) return std::unexpected(UsageError{flag_message(r.error(), c)});
  return o;
}

}  // namespace ringload::cli
