#include "ringload/config_check.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "engine/requests/request.hpp"
#include "engine/requests/request_table.hpp"
#include "engine/session/h2_requests.hpp"

namespace ringload {
namespace {

std::unexpected<ConfigError> bad(std::string field, std::string message) {
  return std::unexpected(ConfigError{std::move(field), std::move(message)});
}

bool finite_rate(double r) noexcept { return r >= 0 && !std::isinf(r); }

// Stages fix the run's duration: their total.
std::expected<void, ConfigError> check_stages(RunConfig& c) {
  if (c.adaptive.enabled) return bad("stages", "{stages} and {adaptive.enabled} exclude each other");
  std::chrono::nanoseconds total{0};
  for (const Stage& s : c.stages) {
    if (s.duration.count() <= 0) return bad("stages", "{stages}: every stage needs a duration above 0");
    if (!finite_rate(s.target_qps)) return bad("stages", "{stages}: rates must be 0 or more");
    total += s.duration;
  }
  c.duration = total;
  return {};
}

std::expected<void, ConfigError> check_adaptive(RunConfig& c) {
  const AdaptiveConfig& a = c.adaptive;
  if (c.qps == 0) c.qps = 100;
  if (!(a.qps_min > 0) || !(a.qps_max >= a.qps_min))
    return bad("adaptive.qps_min", "{adaptive.enabled} needs 0 < {adaptive.qps_min} <= {adaptive.qps_max}");
  if (c.qps < a.qps_min || c.qps > a.qps_max)
    return bad("qps", "{adaptive.enabled}: the start rate {qps} must lie within {adaptive.qps_min} and {adaptive.qps_max}");
  if (!(a.up > 1)) return bad("adaptive.up", "{adaptive.up} must be above 1");
  if (!(a.down > 0 && a.down < 1)) return bad("adaptive.down", "{adaptive.down} must be between 0 and 1");
  if (!(a.min_step > 0 && a.min_step < 1))
    return bad("adaptive.min_step", "{adaptive.min_step} must be between 0 and 1");
  if (!(a.target_availability > 0 && a.target_availability <= 1))
    return bad("adaptive.target_availability", "{adaptive.target_availability} must be in (0, 1]");
  if (a.interval.count() < 100'000'000)
    return bad("adaptive.interval", "{adaptive.interval} must be at least 100ms");
  if (c.duration.count() == 0 && c.max_requests == 0)
    return bad("adaptive.enabled", "{adaptive.enabled} needs {duration} or {max_requests} to end the run");
  c.progress_interval = a.interval;
  return {};
}

// HTTP/2: streams per connection, and what does not run on it. A request file's lines
// without "http2" are checked by Engine::prepare, its "http2": true on a stream line by the
// loader.
std::expected<void, ConfigError> check_http2(const RunConfig& c) {
  if (c.max_streams == 0 || c.max_streams > 1024) return bad("max_streams", "{max_streams} must be 1 to 1024");
  if (c.batch_wait > std::chrono::seconds(1)) return bad("batch_wait", "{batch_wait} must be 0 to 1s");
  if (!run_speaks_http2(c)) {
    // No requests yet: a request file still to be loaded, whose lines may ask for HTTP/2
    // (checked again with it, as the CLI and Engine::prepare do).
    const bool undecided = c.file.empty() && c.requests.empty();
    if (c.max_streams > 1 && !undecided)
      return bad("max_streams", "{max_streams} is for HTTP/2: add --h2c, --http2 or a line's \"http2\": true");
    return {};
  }
  for (std::size_t i = 0; i < c.requests.size(); ++i) {
    const RequestSpec& r = c.requests[i];
    if (r.http2 == LineHttp2::on && r.stream.has_value())
      return bad("http2", "request " + std::to_string(i + 1) + ": \"http2\": true: SSE and WebSocket do not run "
                          "over HTTP/2");
    if (r.http2 != LineHttp2::run) continue;
    if (auto e = http2_refusal(c.http2, r.url.scheme, r.stream.has_value()); !e.empty()) return bad("http2", e);
  }
  return {};
}

// Some request is an SSE or WebSocket stream (a --sse/--ws flag, a request file's line).
bool has_streams(const RunConfig& c) {
  for (const RequestSpec& r : c.requests)
    if (r.stream.has_value()) return true;
  if (c.file.empty()) return false;
  for (const RequestLine& l : c.file.table()->lines)
    if (l.stream != 0) return true;
  return false;
}

// HTTP/1.1 pipelining: what it does not run with. A request file's stream lines are
// checked by Engine::prepare.
std::expected<void, ConfigError> check_pipeline(const RunConfig& c) {
  if (c.pipeline == 0 || c.pipeline > 1024) return bad("pipeline", "{pipeline} must be 1 to 1024");
  if (c.pipeline == 1) return {};
  if (c.http2 != Http2Mode::off)
    return bad("pipeline", "{pipeline} is for HTTP/1.1, not {http2}: HTTP/2 multiplexes streams instead "
                           "({max_streams})");
  if (const std::string at = first_http2_line(c); !at.empty())
    return bad("pipeline", at + ": \"http2\": true does not run with {pipeline} (HTTP/1.1 pipelining; HTTP/2 "
                                "multiplexes streams instead: {max_streams})");
  if (c.tls.handshake_each)
    return bad("pipeline", "{pipeline} needs connections that carry several requests: not --tls-handshake-each");
  const char* streams = "{pipeline} does not run with SSE or WebSocket streams";
  for (const RequestSpec& r : c.requests) {
    if (r.stream.has_value()) return bad("pipeline", streams);
  }
  if (c.file.empty()) return {};
  const RequestTable& t = *c.file.table();
  for (const RequestLine& l : t.lines) {
    if (l.stream != 0) return bad("pipeline", t.source + ":" + std::to_string(l.source_line) + ": " + streams);
  }
  return {};
}

// A shard's index within its count; a start time within [now - 1 s, now + 24 h].
std::expected<void, ConfigError> check_shard(const RunConfig& c) {
  const ShardSpec& s = c.shard;
  if (s.count > 0 && s.index >= s.count)
    return bad("shard", "{shard} " + std::to_string(s.index) + "/" + std::to_string(s.count) +
                            ": the index must be below the count (0-based)");
  if (s.count > 0 && c.connections < s.count)
    return bad("connections", "{connections} " + std::to_string(c.connections) + " cannot be shared out over " +
                                  std::to_string(s.count) + " shards: each needs one");
  if (c.start_at == std::chrono::system_clock::time_point{}) return {};
  const auto now = std::chrono::system_clock::now();
  if (c.start_at > now + 24h) return bad("start_at", "{start_at} is more than 24 h away");
  if (c.start_at < now - 1s) return bad("start_at", "{start_at} is already past");
  return {};
}

}  // namespace

std::string ConfigError::to_string(const std::function<std::string(std::string_view)>& name) const {
  std::string out;
  std::size_t at = 0;
  while (at < message.size()) {
    const std::size_t open = message.find('{', at);
    const std::size_t close = open == std::string::npos ? open : message.find('}', open);
    if (close == std::string::npos) break;
    out.append(message, at, open - at);
    const std::string_view path = std::string_view(message).substr(open + 1, close - open - 1);
    out += name ? name(path) : std::string(path);
    at = close + 1;
  }
  if (at < message.size()) out.append(message, at);
  return out;
}

std::expected<void, ConfigError> check_load_model(RunConfig& c) {
  if (!finite_rate(c.qps)) return bad("qps", "{qps} must be a positive rate");
  if (!c.stages.empty()) {
    if (auto r = check_stages(c); !r) return r;
  }
  if (c.adaptive.enabled) return check_adaptive(c);
  return {};
}

std::expected<void, ConfigError> check_config(RunConfig& c) {
  if (c.connections == 0) return bad("connections", "{connections} must be at least 1");
  if (c.duration.count() <= 0 && c.max_requests == 0 && c.iterations == 0)
    return bad("duration", "give {duration}, {max_requests} or {iterations}");
  if (c.success_status.empty()) return bad("success_status", "{success_status} is empty");
  if (auto r = check_shard(c); !r) return r;
  if (auto r = check_thresholds(c); !r) return r;
  if (auto r = check_http2(c); !r) return r;
  if (auto r = check_pipeline(c); !r) return r;
  if (auto r = check_load_model(c); !r) return r;
  // The batch wait's default: request/response runs, not streams, whose events and echoes
  // are timed in microseconds (see RunConfig::batch_wait).
  if (c.batch_wait.count() < 0) c.batch_wait = has_streams(c) ? std::chrono::microseconds(0) : std::chrono::microseconds(50);
  return {};
}

std::expected<void, ConfigError> check_origin_connections(const RunConfig& c, std::size_t origins) {
  const uint64_t shards = std::max<uint32_t>(c.shard.count, 1);
  if (c.connections_per_origin || c.connections >= origins * shards) return {};
  if (shards > 1)
    return bad("connections", "{connections} " + std::to_string(c.connections) + " cannot give each of the " +
                                  std::to_string(origins) + " origins one connection in each of " +
                                  std::to_string(shards) + " shards");
  return bad("connections", "{connections} " + std::to_string(c.connections) + " is fewer than the " +
                                std::to_string(origins) + " origins");
}

std::expected<void, std::string> check_request(const RequestSpec& spec) {
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  RequestTableBuilder probe;
  return probe.add(to_input(spec, headers));
}

}  // namespace ringload
