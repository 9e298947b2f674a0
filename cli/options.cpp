#include "cli/options.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iterator>

#include <CLI/CLI.hpp>
#include <fstream>
#include <sstream>

#include "cli/config_flags.hpp"
#include "cli/duration.hpp"
#include "cli/header_flag.hpp"
#include "cli/pipeline_flag.hpp"
#include "cli/shard_flags.hpp"
#include "cli/socket_flags.hpp"
#include "cli/thresholds.hpp"
#include "ringload/config_check.hpp"
#include "ringload/request_file.hpp"
#include "ringload/stream_keys.hpp"

namespace ringload::cli {
namespace {

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

// The stream flags, each standing for a request file's stream key (ringload/stream_keys.hpp
// holds which streams it applies to), in the order a misuse is reported.
struct ScopedFlag {
  const char* flag;
  std::string_view key;
};
constexpr ScopedFlag scoped_flags[] = {
    {"--max-events", "max_events"},
    {"--ws-message", "messages"},
    {"--expect", "expect"},
    {"--idle-timeout", "idle_timeout"},
    {"--ws-subprotocol", "subprotocols"},
    {"--ws-interval", "interval"},
    {"--ws-repeat", "repeat"},
    {"--stream-timeout", "stream_timeout"},
    {"--until", "until"},
};
static_assert(std::size(scoped_flags) == std::size(stream_keys) &&
                  std::ranges::all_of(stream_keys, [](const StreamKey& k) {
                    return std::ranges::count(scoped_flags, k.key, &ScopedFlag::key) == 1;
                  }),
              "one flag for each stream key");

// Every flag's value as given. Flags that map one-to-one onto a field write into
// `options` directly. CLI11 keeps pointers into this struct: it stays where it was made.
struct Flags {
  Options options;
  // What to send: a URL, or a request file.
  std::string url, requests_file;
  uint64_t iterations = 0;
  bool loop = false, connections_total = false;
  std::string export_max_body;
  // The request (a URL run), and its protocol.
  std::string method = "GET", body, body_file, timeout, reconnect_backoff;
  std::vector<std::string> headers;
  bool h2c = false, http2 = false;  // HTTP/2
  // How long and how much.
  std::string duration = "10s";
  uint64_t requests = 0;
  // Open loop.
  std::string stages, arrival = "uniform", adapt_interval, target_p99, spin = "auto";
  bool no_spin = false;
  // Streams.
  bool sse = false, ws = false;
  uint64_t max_events = 0, expect = 0, ws_repeat = 1;
  std::string stream_timeout, idle_timeout, until, ws_interval, ws_max_message;
  std::vector<std::string> ws_messages, subprotocols;
  // Report.
  std::string success = "200-399", progress_every;
  std::vector<std::string> thresholds;
  // Plugins, as given: PATH[:ARGS].
  std::vector<std::string> plugins;
  std::string plugin_errors = "count";
  // Options whose presence matters, not only their value.
  CLI::Option* url_opt = nullptr;
  CLI::Option* file_opt = nullptr;
  CLI::Option* iterations_opt = nullptr;
  CLI::Option* duration_opt = nullptr;
  CLI::Option* requests_opt = nullptr;
  CLI::Option* body_opt = nullptr;
  CLI::Option* stages_opt = nullptr;
  CLI::Option* until_opt = nullptr;
  CLI::Option* expect_opt = nullptr;
};

std::unexpected<UsageError> usage(std::string message, int exit_code = 2) {
  return std::unexpected(UsageError{std::move(message), exit_code});
}

// The flag groups. parse_options declares them in the order CLI11 lists them in --help
// and checks them, so the first of several bad flags is the one named.
void add_source_flags(CLI::App& app, Flags& f) {
  RunConfig& c = f.options.config;
  const char* group = "Request files and export";
  f.url_opt = app.add_option("url", f.url, "Target URL (http://host[:port]/path)");
  f.file_opt = app.add_option("-f,--requests-file", f.requests_file,
                              "Requests from a JSONL file (url, method, headers, body, timeout, name)")
                   ->excludes(f.url_opt)->group(group);
  f.iterations_opt = app.add_option("--iterations", f.iterations, "Passes over the requests (a file: default 1)")
                         ->check(unsigned_number)->check(CLI::Range(uint64_t{1}, UINT64_MAX))->group(group);
  app.add_flag("--loop", f.loop, "Repeat the requests until -d or -n stops the run")
      ->excludes(f.iterations_opt)->group(group);
  app.add_flag("--shuffle", c.shuffle, "A new random order for each pass (reproducible with --seed)")->group(group);
  app.add_option("--seed", c.seed, "Seed for --shuffle")->capture_default_str()->check(unsigned_number)->group(group);
  app.add_flag("--connections-total", f.connections_total, "-c is the total over all origins, not per origin")->group(group);
}

void add_export_flags(CLI::App& app, Flags& f) {
  RunConfig& c = f.options.config;
  const char* group = "Request files and export";
  app.add_option("--export", c.export_path, "Write every finished request as a JSON line to FILE (- for stdout)")->group(group);
  app.add_option("--export-max-body", f.export_max_body,
                 "Body bytes kept per exported response, e.g. 64KiB (default: the whole body)")
      ->check(checked(parse_size, "SIZE"))->group(group);
  app.add_flag("--export-errors-only", c.export_errors_only, "Export only failed requests")->group(group);
}

void add_https_flags(CLI::App& app, Flags& f) {
  TlsConfig& tls = f.options.config.tls;
  const char* group = "HTTPS";
  app.add_option("--cacert", tls.ca_file, "Trust this CA (PEM) besides the system's")
      ->check(CLI::ExistingFile)->group(group);
  app.add_option("--cert", tls.cert_file, "Client certificate (PEM)")->check(CLI::ExistingFile)->group(group);
  app.add_option("--key", tls.key_file, "Client certificate's private key (PEM)")
      ->check(CLI::ExistingFile)->group(group);
  app.add_flag("!-k,!--insecure", tls.verify, "Do not verify the server's certificate")->group(group);
  app.add_option("--sni", tls.sni, "Server name sent (SNI) and verified instead of the URL's host")->group(group);
  app.add_flag("!--no-tls-resume", tls.resume, "Full handshakes on reconnects (no session resumption)")->group(group);
  app.add_flag("--tls-handshake-each", tls.handshake_each, "A new connection, and handshake, for every request")
      ->group(group);
}

void add_open_loop_flags(CLI::App& app, Flags& f) {
  RunConfig& c = f.options.config;
  AdaptiveConfig& a = c.adaptive;
  const char* group = "Open loop";
  app.add_option("--qps", c.qps, "Open loop: requests per second, sent at their intended times")
      ->check(positive_rate)->group(group);
  app.add_option("--arrival", f.arrival, "Open-loop gaps: uniform or poisson")
      ->capture_default_str()->check(CLI::IsMember({"uniform", "poisson"}))->group(group);
  f.stages_opt = app.add_option("--stages", f.stages, "Rate ramp, k6 style: 10s:1000,30s:5000,10s:0 (sets -d)")
                     ->check(checked(parse_stages, "STAGES"))->group(group);
  auto* adaptive = app.add_flag("--adaptive", a.enabled, "Raise the rate while availability holds, cut it when it drops")
                       ->excludes(f.stages_opt)->group(group);
  const auto adaptive_option = [&](const char* name, auto& value, const char* help) {
    return app.add_option(name, value, help)->needs(adaptive)->group(group);
  };
  adaptive_option("--qps-min", a.qps_min, "Adaptive: lowest rate")->capture_default_str()->check(positive_rate);
  adaptive_option("--qps-max", a.qps_max, "Adaptive: highest rate")->check(positive_rate);
  adaptive_option("--target-availability", a.target_availability, "Adaptive: succeeded/finished a window must reach")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  adaptive_option("--target-p99", f.target_p99, "Adaptive: a window with a higher p99 fails (500ms, 2s)")
      ->check(checked(parse_duration, "DURATION"));
  adaptive_option("--adapt-interval", f.adapt_interval, "Adaptive: window length")
      ->check(checked(parse_duration, "DURATION"));
  adaptive_option("--adapt-up", a.up, "Adaptive: rate factor after a passing window")->capture_default_str();
  adaptive_option("--adapt-down", a.down, "Adaptive: rate factor after a failing window")->capture_default_str();
  adaptive_option("--adapt-min-step", a.min_step, "Adaptive: smallest step the factors shrink to")
      ->capture_default_str();
  auto* spin = app.add_option("--spin", f.spin, "Open loop: spin the last 250us before a send (always), sleep "
                              "(never), or spin where the timer's lateness would miss it (auto)")
                   ->capture_default_str()->check(CLI::IsMember({"auto", "always", "never"}))->group(group);
  app.add_flag("--no-spin", f.no_spin, "Open loop: --spin never")->excludes(spin)->group(group);
}

// How many connections and threads, how long, how many requests.
void add_run_flags(CLI::App& app, Flags& f) {
  RunConfig& c = f.options.config;
  app.add_option("-c,--connections", c.connections, "Connections kept open (closed loop)")
      ->capture_default_str()->check(unsigned_number)->check(CLI::Range(1u, 1'000'000u));
  app.add_option("-t,--threads", c.threads, "Shards (threads), each pinned to a CPU; default: CPUs available")
      ->check(unsigned_number)->check(CLI::Range(1u, 1024u));
  f.duration_opt = app.add_option("-d,--duration", f.duration, "Run time: 500ms, 10s, 2m")
                       ->capture_default_str()->check(checked(parse_duration, "DURATION"));
  f.requests_opt = app.add_option("-n,--requests", f.requests, "Total requests to send, exactly (no time limit unless -d)")
                       ->check(unsigned_number)->check(CLI::Range(uint64_t{1}, UINT64_MAX));
}

void add_http2_flags(CLI::App& app, Flags& f) {
  auto* h2c = app.add_flag("--h2c", f.h2c, "HTTP/2 with prior knowledge on http:// URLs (h2c)")->group("HTTP/2");
  app.add_flag("--http2", f.http2, "Offer HTTP/2 by ALPN on https:// URLs (h2, else HTTP/1.1)")->group("HTTP/2")->excludes(h2c);
  app.add_option("--max-streams", f.options.config.max_streams, "HTTP/2: streams at once per connection (h2load's -m)")
      ->capture_default_str()->check(unsigned_number)->group("HTTP/2");
}

// The request of a URL run, and how long each may take.
void add_request_flags(CLI::App& app, Flags& f) {
  app.add_option("-m,--method", f.method, "HTTP method")->capture_default_str();
  // One value per -H: the URL positional is optional (-f), so a greedy -H would eat it.
  app.add_option("-H,--header", f.headers, "Request header 'Name: value' (repeatable)")->allow_extra_args(false);
  f.body_opt = app.add_option("-b,--body", f.body, "Request body");
  app.add_option("--body-file", f.body_file, "Request body from a file")->excludes(f.body_opt)->check(CLI::ExistingFile);
  app.add_option("--timeout", f.timeout, "Per-request deadline, counted as a timeout error (default 30s; 0: none)")
      ->check(checked(parse_duration, "DURATION"));
  app.add_option("--reconnect-backoff", f.reconnect_backoff,
                 "Longest wait before reconnecting after failed connects (from 1ms, doubling; default 1s)")
      ->check(checked(parse_duration, "DURATION"));
}

void add_stream_flags(CLI::App& app, Flags& f) {
  const char* group = "Streams (SSE, WebSocket)";
  const CLI::Validator duration = checked(parse_duration, "DURATION");
  auto* sse = app.add_flag("--sse", f.sse, "The URL is a Server-Sent Events stream (Accept: text/event-stream)")
                  ->group(group);
  app.add_flag("--ws", f.ws, "The URL is a WebSocket endpoint (implied by ws:// and wss://)")->group(group)->excludes(sse);
  app.add_option("--max-events", f.max_events, "SSE: end each stream after N events")
      ->group(group)->check(unsigned_number)->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  app.add_option("--stream-timeout", f.stream_timeout, "End each SSE stream / WebSocket session after this long (a success)")
      ->group(group)->check(duration);
  f.until_opt = app.add_option("--until", f.until, "SSE: an event with this data ends the stream; WS: a text message")
                    ->group(group);
}

void add_ws_flags(CLI::App& app, Flags& f) {
  const char* group = "Streams (SSE, WebSocket)";
  const CLI::Validator duration = checked(parse_duration, "DURATION");
  app.add_option("--ws-message", f.ws_messages, "WS: a text message to send after the handshake (repeatable)")
      ->group(group)->allow_extra_args(false);
  f.expect_opt = app.add_option("--expect", f.expect, "WS: the session is done after N received messages")
                     ->group(group)->check(unsigned_number);
  app.add_option("--idle-timeout", f.idle_timeout, "WS: the session is done after this long with nothing received")
      ->group(group)->check(duration);
  app.add_option("--ws-repeat", f.ws_repeat, "WS: passes over the messages; 0: until the session ends otherwise")
      ->group(group)->check(unsigned_number);
  app.add_option("--ws-interval", f.ws_interval, "WS: send the messages this far apart (the first at once)")
      ->group(group)->check(duration);
  app.add_option("--ws-subprotocol", f.subprotocols, "WS: offer this subprotocol (repeatable)")
      ->group(group)->allow_extra_args(false);
  app.add_option("--ws-max-message", f.ws_max_message, "WS: a bigger received message fails the session: 16MiB")
      ->group(group)->check(checked(parse_size, "SIZE"));
}

void add_plugin_flags(CLI::App& app, Flags& f) {
  app.add_option("--plugin", f.plugins,
                 "Load a plugin: a .so (include/ringload/plugin.h) or a .py of hooks; PATH[:ARGS], repeatable")
      ->allow_extra_args(false)->group("Plugins");
  app.add_option("--plugin-errors", f.plugin_errors, "A hook's error: count it and go on, or stop the run")
      ->capture_default_str()->check(CLI::IsMember({"count", "fatal"}))->group("Plugins");
}

// "PATH[:ARGS]": the arguments start after the first ':'.
std::vector<PluginSpec> plugin_specs(const std::vector<std::string>& given) {
  std::vector<PluginSpec> out;
  for (const std::string& g : given) {
    const std::size_t colon = g.find(':');
    out.push_back({g.substr(0, colon), colon == std::string::npos ? std::string() : g.substr(colon + 1)});
  }
  return out;
}

void add_report_flags(CLI::App& app, Flags& f) {
  Options& o = f.options;
  app.add_option("--success-status", f.success, "Statuses that count as success: 200-299,404 or 2xx")
      ->capture_default_str()->check(checked(parse_status_ranges, "STATUSES"));
  app.add_flag("--json", o.json, "Print the JSON report instead of the summary");
  app.add_option("-o,--output", o.output, "Write the JSON report to this file");
  app.add_option("--html", o.html, "Write the HTML report (one self-contained page) to this file");
  app.add_flag("-q,--quiet", o.quiet, "No live progress on stderr");
  app.add_option("--progress-interval", f.progress_every, "Off a terminal: a plain progress line this often (default: none)")
      ->check(checked(parse_duration, "DURATION"));
}

// Which stream flags were given.
std::vector<const CLI::Option*> given_stream_flags(const CLI::App& app) {
  std::vector<const CLI::Option*> out;
  for (const ScopedFlag& s : scoped_flags)
    if (const CLI::Option* opt = app.get_option(s.flag); opt->count() > 0) out.push_back(opt);
  return out;
}

// The values every run shares, and the checks that concern flags of several groups.
std::expected<void, UsageError> apply_common(const CLI::App& app, Flags& f) {
  Options& o = f.options;
  RunConfig& c = o.config;
  o.terminal = isatty(STDERR_FILENO) != 0;
  if (!f.progress_every.empty()) o.progress_every = *parse_duration(f.progress_every);
  o.requests_file = f.requests_file;
  c.poisson = f.arrival == "poisson";
  c.spin = f.no_spin || f.spin == "never" ? SpinMode::never
           : f.spin == "always"           ? SpinMode::always
                                          : SpinMode::automatic;
  if (f.stages_opt->count() > 0) {
    c.stages = *parse_stages(f.stages);
    if (f.duration_opt->count() > 0) return usage("--stages sets the duration: drop -d");
  }
  if (!f.adapt_interval.empty()) c.adaptive.interval = *parse_duration(f.adapt_interval);
  if (!f.target_p99.empty()) c.adaptive.target_p99 = *parse_duration(f.target_p99);
  if (c.export_path == "-" && o.json)
    return usage("--export - and --json both write to stdout: send one to a file (-o FILE)");
  if (f.url_opt->count() == 0 && f.file_opt->count() == 0) return usage("give a URL or -f/--requests-file");
  c.iterations = f.iterations;
  c.connections_per_origin = !f.connections_total;
  if (!f.export_max_body.empty()) c.export_max_body = *parse_size(f.export_max_body);
  if (!f.ws_max_message.empty()) c.ws_max_message = *parse_size(f.ws_max_message);
  // Whether the run is a stream is known only once the URL's scheme is read; a request
  // file sets it per line.
  if (f.file_opt->count() > 0 && (f.sse || f.ws || !given_stream_flags(app).empty()))
    return usage("--sse, --ws and the stream flags apply to a URL; a request file sets them per line "
                 "(\"proto\", \"max_events\", \"messages\" ...)");
  if (f.duration_opt->count() > 0) c.duration = *parse_duration(f.duration);
  if (!f.timeout.empty()) c.timeout = *parse_duration(f.timeout);
  if (!f.reconnect_backoff.empty()) {
    c.reconnect_backoff = *parse_duration(f.reconnect_backoff);
    if (c.reconnect_backoff < 1ms) return usage("--reconnect-backoff must be at least 1ms");
  }
  c.success_status = *parse_status_ranges(f.success);
  c.max_requests = f.requests;
  return {};
}

// A run over a request file (loaded later, by main).
std::expected<void, UsageError> apply_file_run(Flags& f) {
  RunConfig& c = f.options.config;
  // A file is sent once by default; --loop repeats it until -d or -n.
  if (f.iterations_opt->count() == 0) c.iterations = f.loop ? 0 : 1;
  if (f.duration_opt->count() == 0) c.duration = std::chrono::nanoseconds{0};
  if (c.iterations == 0 && c.duration.count() == 0 && c.max_requests == 0)
    return usage("--loop needs -d/--duration or -n/--requests to end the run");
  if (f.url_opt->count() == 0 && (f.body_opt->count() > 0 || !f.body_file.empty() || !f.headers.empty() || f.method != "GET"))
    return usage("-m, -H, -b and --body-file apply to a URL; a request file sets them per line");
  return {};
}

// --sse / --ws / the URL's scheme decide the kind of stream; each stream flag must fit it.
std::expected<void, UsageError> check_stream_kind(const CLI::App& app, Flags& f, RequestSpec& spec) {
  if (spec.url.scheme == Scheme::ws || spec.url.scheme == Scheme::wss) {
    if (f.sse) return usage("--sse needs an http:// or https:// URL, not '" + f.url + "'");
    f.ws = true;
  }
  if (f.ws && spec.url.scheme == Scheme::http) spec.url.scheme = Scheme::ws;
  if (f.ws && spec.url.scheme == Scheme::https) spec.url.scheme = Scheme::wss;
  for (const ScopedFlag& s : scoped_flags) {
    const CLI::Option* opt = app.get_option(s.flag);
    if (opt->count() == 0) continue;
    const StreamScope scope = find_stream_key(s.key)->scope;
    if (f.sse && applies_to(scope, StreamProto::sse)) continue;
    if (f.ws && applies_to(scope, StreamProto::ws)) continue;
    if (scope == StreamScope::sse) return usage(opt->get_name() + " applies to --sse streams");
    if (scope == StreamScope::ws) return usage(opt->get_name() + " applies to WebSocket sessions (ws://, wss:// or --ws)");
    return usage(opt->get_name() + " applies to --sse streams and WebSocket sessions");
  }
  return {};
}

StreamSpec stream_spec(const Flags& f) {
  StreamSpec st;
  const auto ns = [](const std::string& d) { return static_cast<uint64_t>(parse_duration(d)->count()); };
  st.proto = f.sse ? StreamProto::sse : StreamProto::ws;
  st.max_events = f.max_events;
  if (!f.stream_timeout.empty()) st.stream_timeout_ns = ns(f.stream_timeout);
  if (!f.idle_timeout.empty()) st.idle_timeout_ns = ns(f.idle_timeout);
  st.repeat = f.ws_repeat;
  if (!f.ws_interval.empty()) st.interval_ns = ns(f.ws_interval);
  st.has_until = f.until_opt->count() > 0;
  st.until = f.until;
  for (const std::string& m : f.ws_messages) st.messages.push_back({false, m});
  st.has_expect = f.expect_opt->count() > 0;
  st.expect = f.expect;
  st.subprotocols = f.subprotocols;
  return st;
}

// Method, headers and body of the URL's request.
std::expected<void, UsageError> add_message(const Flags& f, RequestSpec& spec) {
  spec.method = f.method;
  for (const std::string& h : f.headers) {
    auto kv = split_header(h);
    if (!kv) return usage(kv.error());
    spec.headers.push_back(*kv);
  }
  if (f.body_file.empty()) {
    spec.body = f.body;
    return {};
  }
  std::ifstream in(f.body_file, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in) return usage("--body-file '" + f.body_file + "': cannot read it", 1);
  spec.body = ss.str();
  return {};
}

// The request as the engine will render it: a bad header, method or stream setting is a
// usage error (exit 2), not a failed run.
std::expected<void, UsageError> probe_request(const RequestSpec& spec) {
  if (auto ok = check_request(spec); !ok) return usage("the request: " + ok.error());
  return {};
}

// A run of the one request the URL and the request flags describe.
std::expected<void, UsageError> apply_url_run(const CLI::App& app, Flags& f) {
  RunConfig& c = f.options.config;
  auto parsed_url = parse_url(f.url);
  if (!parsed_url) return usage("URL '" + f.url + "': " + parsed_url.error());
  RequestSpec spec;
  spec.url = *parsed_url;
  if (auto ok = check_stream_kind(app, f, spec); !ok) return ok;
  if (f.sse || f.ws) spec.stream = stream_spec(f);
  if (auto ok = add_message(f, spec); !ok) return ok;
  if (auto ok = probe_request(spec); !ok) return ok;
  c.requests.push_back(std::move(spec));
  // -n or --iterations alone run until done; -d alone or with them: whichever comes first.
  const bool counted = f.requests_opt->count() > 0 || f.iterations_opt->count() > 0;
  c.duration = counted && f.duration_opt->count() == 0 ? std::chrono::nanoseconds{0} : *parse_duration(f.duration);
  if (c.duration.count() == 0 && c.max_requests == 0 && c.iterations == 0)
    return usage("-d/--duration must be more than 0");
  return {};
}

// The flags as given → the run's config, checked as the engine will check it.
std::expected<Options, UsageError> build_options(const CLI::App& app, Flags& f) {
  if (auto ok = apply_common(app, f); !ok) return std::unexpected(ok.error());
  auto run = f.file_opt->count() > 0 ? apply_file_run(f) : apply_url_run(app, f);
  if (!run) return std::unexpected(run.error());
  RunConfig& c = f.options.config;
  c.plugins = plugin_specs(f.plugins);
  c.plugin_errors_fatal = f.plugin_errors == "fatal";
  c.thresholds = parsed_thresholds(f.thresholds);
  c.http2 = f.h2c ? Http2Mode::prior_knowledge : f.http2 ? Http2Mode::alpn : Http2Mode::off;
  if (auto ok = check_config(c); !ok) return usage(flag_message(ok.error(), c));
  return std::move(f.options);
}

}  // namespace

std::expected<Options, UsageError> parse_options(int argc, char** argv) {
  CLI::App app{"ringload: an io_uring HTTP load generator", "ringload"};
  app.set_version_flag("--version", "ringload " RINGLOAD_VERSION);
  app.get_formatter()->column_width(32);
  Flags f;
  add_source_flags(app, f);
  add_export_flags(app, f);
  add_https_flags(app, f);
  add_open_loop_flags(app, f);
  add_run_flags(app, f);
  add_request_flags(app, f);
  add_http2_flags(app, f);
  add_pipeline_flag(app, f.options.config);
  add_batch_wait_flag(app, f.options.config);
  add_stream_flags(app, f);
  add_ws_flags(app, f);
  add_report_flags(app, f);
  add_threshold_flag(app, f.thresholds);
  add_plugin_flags(app, f);
  add_shard_flags(app, f.options.config);
  add_socket_flags(app, f.options.config);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return usage(app.help(), 0);
  } catch (const CLI::CallForVersion&) {
    return usage("ringload " RINGLOAD_VERSION, 0);
  } catch (const CLI::ParseError& e) {
    return usage(e.what(), 2);
  }
  return build_options(app, f);
}

}  // namespace ringload::cli
