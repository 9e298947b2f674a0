#include <algorithm>
#include <filesystem>
#include <fstream>
#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "cli/summary.hpp"
#include "ringload/hdr_encoding.hpp"
#include "ringload/report.hpp"

using nlohmann::json;
using ringload::ErrorKind;
using ringload::Histogram;

namespace {

std::set<std::string> keys_of(const json& j) {
  std::set<std::string> out;
  for (const auto& item : j.items()) out.insert(item.key());
  return out;
}

// A config of one GET request to `url`, defaults elsewhere.
ringload::RunConfig config_for(const std::string& url) {
  ringload::RunConfig config;
  ringload::RequestSpec spec;
  spec.url = *ringload::parse_url(url);
  config.requests.push_back(spec);
  return config;
}

ringload::RunConfig make_config() {
  ringload::RunConfig config = config_for("http://127.0.0.1:8080/index.html?x=1");
  ringload::RequestSpec& spec = config.requests.front();
  spec.method = "POST";
  spec.headers = {{"X-A", "1"}, {"Content-Type", "text/plain"}};
  spec.body = "hello";
  config.connections = 10;
  config.threads = 2;
  config.duration = std::chrono::seconds(5);
  config.max_requests = 0;
  config.timeout = std::chrono::milliseconds(2500);
  config.success_status = {{200, 299}, {404, 404}};
  return config;
}

std::unique_ptr<ringload::RunResult> make_result() {
  auto r = std::make_unique<ringload::RunResult>();
  r->duration_s = 2.0;
  r->connections = 10;
  r->threads = 2;
  r->in_flight_at_end = 3;
  r->interrupted = true;
  ringload::Counters& c = r->stats.counters;
  c.requests = 1000;
  c.succeeded = 990;
  c.failed = 10;
  c.status[200] = 990;
  c.status[503] = 5;
  c.errors[static_cast<std::size_t>(ErrorKind::timeout)] = 3;
  c.errors[static_cast<std::size_t>(ErrorKind::connect)] = 2;
  c.bytes_in = 2 * 1024 * 1024;
  c.bytes_out = 200 * 1024;
  c.connects = 12;
  c.closes_by_server = 4;
  for (uint64_t i = 1; i <= 1000; ++i) r->stats.latency.record(i * 1000);  // 1 us .. 1 ms
  r->stats.service.record_n(1500, 10);                                   // 1.5 us
  r->stats.error_latency.record_n(2'500'000'000, 5);                     // 5 failures at 2.5 s
  r->first_error[static_cast<std::size_t>(ErrorKind::timeout)] = "request deadline passed";
  r->first_error[static_cast<std::size_t>(ErrorKind::connect)] = "connection refused";
  r->timeline.push_back({1.0, 1.0, 600, 595, 2, 400'000, 990'000});
  r->timeline.push_back({2.0, 0.5, 400, 395, 3, 600'000, 1'000'000, 0, 800'000, 1'200'000, {0, 390, 0, 7, 0}});
  r->notices = {"io_uring bundles unavailable: one buffer per receive"};
  return r;
}

void check_histogram_block(const json& block, const Histogram& h) {
  CHECK(keys_of(block) == std::set<std::string>{"count", "hdr", "min", "mean", "stdev", "p50", "p75", "p90",
                                                "p95", "p99", "p99_9", "p99_99", "max"});
  CHECK(block["count"].get<uint64_t>() == h.count());
  // The whole histogram, HdrHistogram-encoded (test_hdr_encoding checks the encoding).
  CHECK(block["hdr"].get<std::string>() == ringload::hdr_encode(h));
  CHECK(block["min"].get<double>() == Approx(static_cast<double>(h.min()) / 1e3));
  CHECK(block["max"].get<double>() == Approx(static_cast<double>(h.max()) / 1e3));
  CHECK(block["mean"].get<double>() == Approx(h.mean() / 1e3));
  CHECK(block["stdev"].get<double>() == Approx(h.stdev() / 1e3));
  const std::pair<const char*, double> ps[] = {{"p50", 50},  {"p75", 75},     {"p90", 90},       {"p95", 95},
                                               {"p99", 99}, {"p99_9", 99.9}, {"p99_99", 99.99}};
  for (const auto& [key, p] : ps) {
    INFO(key);
    CHECK(block[key].is_number_float());
    CHECK(block[key].get<double>() == Approx(static_cast<double>(h.percentile(p)) / 1e3));
  }
}

}  // namespace

TEST_CASE("report_json: every field of the schema", "[report]") {
  const auto config = make_config();
  const auto result = make_result();
  const json j = json::parse(ringload::report_json(config, *result));

  CHECK(keys_of(j) == std::set<std::string>{"ringload_version", "url", "method", "duration_s", "connections",
                                            "threads", "descriptors", "interrupted", "requests", "status_codes",
                                            "errors", "first_errors", "latency_us", "service_time_us", "ttfb_us",
                                            "throughput", "bytes", "connections_opened", "closes_by_server",
                                            "timeline", "by_name", "by_iteration", "notices", "export", "config", "send_lag_us", "open_loop", "capacity", "qps_timeline", "tls", "tls_handshake_us", "closes_by_client", "sse", "ws", "labels", "plugins", "error_latency_us", "memory", "thresholds", "http2",
                                            "started_at", "shard"});
  CHECK(j["thresholds"] == json::array());  // no --threshold
  CHECK(j["ringload_version"] == RINGLOAD_VERSION);
  CHECK(j["url"] == "http://127.0.0.1:8080/index.html?x=1");
  CHECK(j["method"] == "POST");
  CHECK(j["duration_s"].get<double>() == 2.0);
  CHECK(j["connections"] == 10);
  CHECK(j["threads"] == 2);
  CHECK(j["interrupted"] == true);
  CHECK(j["shard"].is_null());
  CHECK(j["started_at"] == "1970-01-01T00:00:00.000Z");
  CHECK(j["requests"] == json{{"total", 1000}, {"succeeded", 990}, {"failed", 10}, {"in_flight_at_end", 3},
                              {"skipped", 0}, {"pipeline_unanswered", 0}});
  CHECK(j["status_codes"] == json{{"200", 990}, {"503", 5}});
  CHECK(j["errors"] == json{{"connect", 2}, {"read", 0}, {"write", 0}, {"timeout", 3}, {"protocol", 0}, {"tls", 0}, {"plugin", 0}});
  CHECK(j["first_errors"] ==
        json{{"connect", "connection refused"}, {"timeout", "request deadline passed"}});

  check_histogram_block(j["latency_us"], result->stats.latency);
  check_histogram_block(j["service_time_us"], result->stats.service);
  check_histogram_block(j["ttfb_us"], result->stats.ttfb);
  check_histogram_block(j["error_latency_us"], result->stats.error_latency);
  // Known values, independent of the histogram's own answers (3 significant digits).
  CHECK(j["latency_us"]["min"].get<double>() == 1.0);
  CHECK(j["latency_us"]["max"].get<double>() == 1000.0);
  CHECK(j["latency_us"]["mean"].get<double>() == Approx(500.5));
  CHECK(j["latency_us"]["p50"].get<double>() == Approx(500).epsilon(0.001));
  CHECK(j["latency_us"]["p99"].get<double>() == Approx(990).epsilon(0.001));
  CHECK(j["service_time_us"]["p99_99"].get<double>() == 1.5);
  CHECK(j["ttfb_us"]["p50"].get<double>() == 0.0);
  CHECK(j["error_latency_us"]["min"].get<double>() == Approx(2.5e6).epsilon(0.001));
  CHECK(j["error_latency_us"]["p50"].get<double>() == Approx(2.5e6).epsilon(0.001));
  CHECK(j["error_latency_us"]["max"].get<double>() == Approx(2.5e6).epsilon(0.001));

  CHECK(j["throughput"]["rps"].get<double>() == Approx(500));
  CHECK(j["throughput"]["rpm"].get<double>() == Approx(30000));
  CHECK(j["throughput"]["bytes_in_per_s"].get<double>() == Approx(1024 * 1024));
  CHECK(j["throughput"]["bytes_out_per_s"].get<double>() == Approx(100 * 1024));
  CHECK(keys_of(j["throughput"]) == std::set<std::string>{"rps", "rpm", "bytes_in_per_s", "bytes_out_per_s"});
  CHECK(j["bytes"] == json{{"in", 2 * 1024 * 1024}, {"out", 200 * 1024}});
  CHECK(j["connections_opened"] == 12);
  CHECK(j["closes_by_server"] == 4);

  REQUIRE(j["timeline"].size() == 2);
  const json& w = j["timeline"][1];
  CHECK(keys_of(w) == std::set<std::string>{"t_s", "duration_s", "requests", "succeeded", "errors", "rps",
                                            "p50_us", "p90_us", "p99_us", "max_us", "status_classes",
                                            "target_qps"});
  CHECK(w["t_s"].get<double>() == 2.0);
  CHECK(w["duration_s"].get<double>() == 0.5);
  CHECK(w["requests"] == 400);
  CHECK(w["succeeded"] == 395);
  CHECK(w["errors"] == 3);
  CHECK(w["rps"].get<double>() == Approx(800));
  CHECK(w["p50_us"].get<double>() == Approx(600));
  CHECK(w["p99_us"].get<double>() == Approx(1000));
  CHECK(w["p90_us"].get<double>() == Approx(800));
  CHECK(w["max_us"].get<double>() == Approx(1200));
  CHECK(w["status_classes"] == json{{"1xx", 0}, {"2xx", 390}, {"3xx", 0}, {"4xx", 7}, {"5xx", 0}});
  CHECK(j["timeline"][0]["rps"].get<double>() == Approx(600));

  CHECK(j["notices"] == json::array({"io_uring bundles unavailable: one buffer per receive"}));

  const json& cfg = j["config"];
  CHECK(keys_of(cfg) == std::set<std::string>{"connections", "threads", "duration_s", "max_requests", "timeout_s",
                                              "method", "headers", "body_bytes", "success_status", "requests_file", "iterations", "shuffle", "seed", "connections_per_origin", "pipeline", "batch_wait_us", "tls"});
  CHECK(cfg["connections"] == 10);
  CHECK(cfg["threads"] == 2);
  CHECK(cfg["duration_s"].get<double>() == 5.0);
  CHECK(cfg["max_requests"].is_null());
  CHECK(cfg["timeout_s"].get<double>() == 2.5);
  CHECK(cfg["method"] == "POST");
  CHECK(cfg["headers"] == json::array({json::array({"X-A", "1"}), json::array({"Content-Type", "text/plain"})}));
  CHECK(cfg["body_bytes"] == 5);
  CHECK(cfg["success_status"] == json::array({"200-299", "404-404"}));

  // One line when asked, the same document.
  const std::string compact = ringload::report_json(config, *result, -1);
  CHECK(compact.find('\n') == std::string::npos);
  CHECK(json::parse(compact) == j);
}

TEST_CASE("report_json: bytes that are not UTF-8 are replaced, not thrown", "[report]") {
  ringload::RunConfig config = make_config();
  config.requests.front().headers = {{"X-Raw", "a\xff" "b"}};
  const auto result = make_result();
  const json j = json::parse(ringload::report_json(config, *result));
  CHECK(j["config"]["headers"] == json::array({json::array({"X-Raw", "a\xef\xbf\xbd" "b"})}));
}

// The top-level keys of the schema listed in ringload/report.hpp: those of its comment lines
// that open a key at the document's first level ("//   \"key\": ..."), outside any braces.
std::set<std::string> schema_keys() {
  const std::filesystem::path header =
      std::filesystem::path(__FILE__).parent_path() / "../../include/ringload/report.hpp";
  std::ifstream in(header);
  REQUIRE(in);
  std::set<std::string> keys;
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("//   \"")) continue;
    int depth = 0;
    for (std::size_t i = 5; i < line.size(); ++i) {
      const char ch = line[i];
      if (ch == '{' || ch == '[') ++depth;
      if (ch == '}' || ch == ']') --depth;
      if (ch != '"' || depth != 0) continue;
      const std::size_t end = line.find('"', i + 1);
      if (end == std::string::npos) break;
      if (line.compare(end + 1, 1, ":") == 0) keys.insert(line.substr(i + 1, end - i - 1));
      i = end;
    }
  }
  return keys;
}

// The README's "JSON report" section: a summary that points to the header.
std::string readme_report_section() {
  std::ifstream in(std::filesystem::path(__FILE__).parent_path() / "../../README.md");
  REQUIRE(in);
  std::ostringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  const std::size_t start = all.find("## JSON report\n");
  REQUIRE(start != std::string::npos);
  return all.substr(start, all.find("\n## ", start + 1) - start);
}

TEST_CASE("report_json: the schema in ringload/report.hpp lists every key, and only those", "[report]") {
  const json j = json::parse(ringload::report_json(make_config(), *make_result()));
  CHECK(schema_keys() == keys_of(j));
  // The README's summary names every key too.
  const std::string readme = readme_report_section();
  CHECK_THAT(readme, Catch::Contains("include/ringload/report.hpp"));
  for (const std::string& key : keys_of(j)) {
    INFO(key);
    CHECK_THAT(readme, Catch::Contains("`" + key + "`"));
  }
}

TEST_CASE("report_json: an empty run", "[report]") {
  ringload::RunConfig config = config_for("https://[::1]/");
  config.duration = std::chrono::nanoseconds{0};
  config.timeout = std::chrono::nanoseconds{0};  // no deadline: rendered as null
  config.max_requests = 100;
  auto result = std::make_unique<ringload::RunResult>();
  const json j = json::parse(ringload::report_json(config, *result));
  CHECK(j["url"] == "https://[::1]:443/");
  CHECK(j["method"] == "GET");
  CHECK(j["duration_s"].get<double>() == 0.0);
  CHECK(j["interrupted"] == false);
  CHECK(j["throughput"]["rps"].get<double>() == 0.0);
  CHECK(j["throughput"]["bytes_in_per_s"].get<double>() == 0.0);
  CHECK(j["status_codes"] == json::object());
  CHECK(j["first_errors"] == json::object());
  CHECK(j["errors"] == json{{"connect", 0}, {"read", 0}, {"write", 0}, {"timeout", 0}, {"protocol", 0}, {"tls", 0}, {"plugin", 0}});
  CHECK(j["timeline"] == json::array());
  CHECK(j["notices"] == json::array());
  CHECK(j["latency_us"]["max"].get<double>() == 0.0);
  // No failure: the error histogram is all zeros, like any empty one, and encodes nothing.
  for (const auto& [key, value] : j["error_latency_us"].items()) {
    INFO(key);
    if (key == "hdr") {
      auto decoded = std::make_unique<Histogram>();
      CHECK(ringload::hdr_decode(value.get<std::string>(), *decoded));
      CHECK(decoded->count() == 0);
      continue;
    }
    CHECK(value.get<double>() == 0.0);
  }
  CHECK(j["config"]["duration_s"].is_null());
  CHECK(j["config"]["max_requests"] == 100);
  CHECK(j["config"]["timeout_s"].is_null());
  CHECK(j["config"]["headers"] == json::array());
  CHECK(j["config"]["success_status"] == json::array({"200-399"}));
}

TEST_CASE("render_human: the key figures", "[report]") {
  const auto config = make_config();
  const auto result = make_result();
  const std::string text = ringload::cli::render_human(config, *result);
  INFO(text);
  using Catch::Contains;
  CHECK_THAT(text, Contains("ringload " RINGLOAD_VERSION));
  CHECK_THAT(text, Contains("POST http://127.0.0.1:8080/index.html?x=1"));
  CHECK_THAT(text, Contains("2.00s, 2 threads, 10 connections"));
  for (const char* col : {"p50", "p75", "p90", "p99", "p99.9", "max", "mean", "stdev"}) CHECK_THAT(text, Contains(col));
  // One column per non-empty histogram (ttfb recorded nothing), one row per figure.
  // Latency: 1000 values of 1..1000 us -> p50 ~500 us (bucket top), max 1 ms exactly.
  CHECK_THAT(text, Contains("  Latency      latency    service\n"));
  CHECK_THAT(text, Contains("\n    p50       500.22us     1.50us\n"));
  CHECK_THAT(text, Contains("\n    p99.9     999.42us     1.50us\n"));
  CHECK_THAT(text, Contains("\n    max         1.00ms     1.50us\n"));
  CHECK_THAT(text, Contains("\n    mean      500.50us     1.50us\n"));
  CHECK_THAT(text, Contains("\n    stdev     288.67us     0.00us\n"));
  CHECK(text.find("ttfb") == std::string::npos);
  CHECK_THAT(text, Contains("1000 total, 990 succeeded, 10 failed, 3 in flight at end"));
  CHECK_THAT(text, Contains("Requests/s   500.00"));
  CHECK_THAT(text, Contains("1.00MiB in, 100.00KiB out"));
  CHECK_THAT(text, Contains("  Status       200: 990, 503: 5\n"));
  CHECK_THAT(text, Contains("Errors       5"));
  CHECK_THAT(text, Contains("timeout    3  first: request deadline passed"));
  CHECK_THAT(text, Contains("connect    2  first: connection refused"));
  CHECK_THAT(text, Contains("\n    to failure p50 2.50s, p99 2.50s, max 2.50s (5 requests, from the intended send)\n"));
  CHECK_THAT(text, Contains("12 opened, 4 closed by server"));
  CHECK_THAT(text, Contains("Interrupted"));
  CHECK_THAT(text, Contains("Notice       io_uring bundles unavailable"));
  CHECK(text.find("read ") == std::string::npos);  // kinds that did not occur are not listed
  CHECK(text.back() == '\n');
}

TEST_CASE("render_human: a long URL is not cut", "[report]") {
  const std::string query(3000, 'q');
  const ringload::RunConfig config = config_for("http://localhost:8080/search?" + query);
  auto result = std::make_unique<ringload::RunResult>();
  const std::string text = ringload::cli::render_human(config, *result);
  CHECK_THAT(text, Catch::Contains("GET http://localhost:8080/search?" + query + "\n"));
}

TEST_CASE("render_human: clamped latencies are called out", "[report]") {
  const ringload::RunConfig config = config_for("http://localhost:8080/");
  auto result = std::make_unique<ringload::RunResult>();
  result->stats.latency.record(UINT64_MAX);
  result->stats.latency.record(1000);
  const std::string text = ringload::cli::render_human(config, *result);
  CHECK_THAT(text, Catch::Contains("1 latencies above the histogram's 137s range were recorded as 137s"));
  CHECK_THAT(text, Catch::Contains("\n    max        137.44s\n"));
}

TEST_CASE("render_human: an empty run", "[report]") {
  const ringload::RunConfig config = config_for("http://localhost:8080/");
  auto result = std::make_unique<ringload::RunResult>();
  const std::string text = ringload::cli::render_human(config, *result);
  INFO(text);
  using Catch::Contains;
  CHECK_THAT(text, Contains("no completed requests"));
  CHECK_THAT(text, Contains("0 total, 0 succeeded, 0 failed"));
  CHECK_THAT(text, Contains("Requests/s   0.00"));
  CHECK_THAT(text, Contains("Errors       none"));
  CHECK(text.find("to failure") == std::string::npos);
  CHECK_THAT(text, Contains("Status       none"));
  CHECK(text.find("Interrupted") == std::string::npos);
}

TEST_CASE("report_json: the http2 block", "[report]") {
  auto config = make_config();
  auto result = make_result();
  CHECK(json::parse(ringload::report_json(config, *result))["http2"].is_null());
  // A request that says "http2": true makes the block too, without --h2c / --http2.
  ringload::RequestSpec h2;
  h2.url = *ringload::parse_url("http://h/");
  h2.http2 = ringload::LineHttp2::on;
  config.requests.push_back(h2);
  CHECK(json::parse(ringload::report_json(config, *result))["http2"].is_object());
  config.requests.pop_back();
  config.http2 = ringload::Http2Mode::prior_knowledge;
  config.max_streams = 32;
  ringload::Http2Counters& k = result->stats.http2;
  k.connections = 4;
  k.streams = 1000;
  k.max_concurrent = 32;
  k.settings_frames = 4;
  k.max_concurrent_streams = 128;
  k.max_frame_size = 16384;
  k.goaways = 1;
  k.goaway_unprocessed = 3;
  k.goaway_retried = 2;
  k.refused_retried = 4;
  k.rst_received[7] = 5;   // REFUSED_STREAM
  k.rst_received[13] = 1;  // HTTP_1_1_REQUIRED
  k.rst_other = 2;
  k.rst_sent = 6;
  k.flow_control_stalls = 1;
  k.header_block_bytes = 1200;
  k.header_decoded_bytes = 9000;
  const json h = json::parse(ringload::report_json(config, *result))["http2"];
  CHECK(h["connections"] == 4);
  CHECK(h["alpn_fallbacks"] == 0);
  CHECK(h["max_streams"] == 32);
  CHECK(h["streams"] == 1000);
  CHECK(h["max_concurrent"] == 32);
  CHECK(h["settings_frames"] == 4);
  CHECK(h["settings"] == json{{"max_concurrent_streams", 128}, {"initial_window_size", nullptr},
                              {"max_frame_size", 16384}, {"header_table_size", nullptr},
                              {"max_header_list_size", nullptr}});
  CHECK(h["goaways"] == 1);
  CHECK(h["goaway_unprocessed"] == 3);
  CHECK(h["goaway_retried"] == 2);
  CHECK(h["refused_retried"] == 4);
  CHECK(h["rst_stream_received"]["refused_stream"] == 5);
  CHECK(h["rst_stream_received"]["http_1_1_required"] == 1);
  CHECK(h["rst_stream_received"]["other"] == 2);
  CHECK(h["rst_stream_received"]["no_error"] == 0);
  CHECK(h["rst_stream_received"].size() == 15);
  CHECK(h["rst_stream_sent"] == 6);
  CHECK(h["flow_control_stalls"] == 1);
  CHECK(h["header_block_bytes"] == 1200);
  CHECK(h["header_decoded_bytes"] == 9000);
}

TEST_CASE("report_json: shard and started_at", "[report][shard]") {
  auto config = make_config();
  auto result = make_result();
  config.shard = {2, 4};
  result->started_at_ms = 1796371200123;  // 2026-12-04T08:00:00.123Z
  const json j = json::parse(ringload::report_json(config, *result));
  CHECK(j["shard"] == json{{"index", 2}, {"count", 4}});
  CHECK(j["started_at"] == "2026-12-04T08:00:00.123Z");
}
