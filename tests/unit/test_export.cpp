#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <iterator>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/output/export_writer.hpp"
#include "ringload/stats.hpp"

using json = nlohmann::ordered_json;
using ringload::ExportEnd;
using ringload::ExportOptions;
using ringload::ExportQueue;
using ringload::ExportWriter;

namespace {

std::string temp_path(const char* tag) {
  static std::atomic<int> n{0};
  return "/tmp/ringload_test_export_" + std::to_string(getpid()) + "_" + tag + "_" + std::to_string(n++) + ".jsonl";
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// Three lines: unnamed GET from a file (line 3), named POST on an IPv6 origin, HEAD.
ringload::RequestTable make_table() {
  ringload::RequestTableBuilder b;
  ringload::RequestInput a;
  a.url = *ringload::parse_url("http://127.0.0.1:8080/a/b?x=1&y=\"2\"");
  a.source_line = 3;
  REQUIRE(b.add(a));
  ringload::RequestInput p;
  p.url = *ringload::parse_url("http://[::1]:9090/items");
  p.method = "POST";
  p.body = "{}";
  p.name = "create \"item\"";
  REQUIRE(b.add(p));
  ringload::RequestInput h;
  h.url = *ringload::parse_url("http://127.0.0.1:8080/");
  h.method = "HEAD";
  h.source_line = 7;
  REQUIRE(b.add(h));
  return std::move(b).finish();
}

struct LineExpect {
  json line;
  const char* name;
  const char* url;
  const char* method;
};
const LineExpect line_expect[] = {
    {3, "GET /a/b", "http://127.0.0.1:8080/a/b?x=1&y=\"2\"", "GET"},
    {nullptr, "create \"item\"", "http://[::1]:9090/items", "POST"},
    {7, "HEAD /", "http://127.0.0.1:8080/", "HEAD"},
};

std::string base64_decode(const std::string& s) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  REQUIRE(s.size() % 4 == 0);
  std::string out;
  for (std::size_t i = 0; i < s.size(); i += 4) {
    const int a = val(s[i]), b = val(s[i + 1]), c = val(s[i + 2]), d = val(s[i + 3]);
    REQUIRE(a >= 0);
    REQUIRE(b >= 0);
    out += char(a << 2 | b >> 4);
    if (s[i + 2] != '=') out += char((b & 15) << 4 | c >> 2);
    if (s[i + 3] != '=') out += char((c & 3) << 6 | d);
  }
  return out;
}

// One generated request, a pure function of (queue, k): the producer pushes it, the
// checker regenerates it.
struct Gen {
  uint32_t line_index = 0;
  int status = 0;
  std::string head;  // raw, possibly a 100 Continue head first
  std::vector<std::pair<std::string, std::string>> headers;  // of the final head
  std::string body;
  bool binary = false;  // body is not valid UTF-8
  bool truncated = false;
  int error_kind = -1;
  std::string message;
  uint64_t start_ns = 0, first_byte_ns = 0, end_ns = 0;
  bool ends = true;     // false: left in flight (no end)
  bool retried = false; // a discarded first attempt precedes it
};

constexpr uint64_t t0 = 1'000'000'000;

std::string random_text(std::mt19937_64& rng, std::size_t n) {
  static const std::string pieces[] = {"a", "Z", "0", " ", "\"", "\\", "\n", "\t", "\x01", "\x1f",
                                       "/", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\x7f"};
  std::string s;
  while (s.size() < n) s += pieces[rng() % std::size(pieces)];
  return s;
}

std::string header_value(std::mt19937_64& rng, std::size_t n) {
  static const char chars[] = "abcXYZ019 \"\\,;=/";
  std::string s = "v";
  while (s.size() < n) {
    if (rng() % 10 == 0) s.append("\xc3\xa9"); else s.push_back(chars[rng() % (sizeof chars - 1)]);
  }
  return s + "z";
}

Gen generate(int q, uint32_t k) {
  std::mt19937_64 rng(uint64_t(q) * 10'000'019 + k);
  Gen g;
  g.line_index = static_cast<uint32_t>(rng() % 3);
  const unsigned roll = rng() % 100;
  g.ends = roll >= 2;
  g.retried = roll >= 2 && roll < 4;
  const bool error = rng() % 10 == 0;
  if (error) {
    g.error_kind = static_cast<int>(rng() % ringload::error_kind_count);
    g.message = rng() % 50 == 0 ? std::string(1500, 'm') : "failed \"x\"\n\t\\ " + random_text(rng, rng() % 40);
  }
  static const int statuses[] = {200, 201, 204, 301, 404, 500};
  g.status = error && rng() % 2 ? 0 : statuses[rng() % 6];
  if (g.status != 0) {
    if (rng() % 20 == 0) g.head = "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n";
    g.head += "HTTP/1.1 " + std::to_string(g.status) + " Whatever\r\n";
    const int n = static_cast<int>(rng() % 7);
    static const char* names[] = {"Content-Type", "Set-Cookie", "X-Trace", "Server", "Vary"};
    for (int i = 0; i < n; ++i) {
      std::string name = names[rng() % 5];
      std::string value = header_value(rng, rng() % 300 == 0 ? 6000 : rng() % 40);
      g.head += name + ": " + value + "\r\n";
      g.headers.emplace_back(name, value);
    }
    g.head += "\r\n";
    const unsigned kind = rng() % 100;
    const unsigned big = rng() % 200;  // 0.5%: bodies larger than the queue
    std::size_t size = big == 0 ? 5000 + rng() % 20000 : rng() % 200;
    if (kind >= 90) {
      g.binary = true;
      for (std::size_t i = 0; i < size; ++i) g.body += char(rng());
      g.body += '\xff';
    } else {
      g.body = random_text(rng, size);
    }
    g.truncated = rng() % 50 == 0;
    g.first_byte_ns = t0 + k * 1000 + 5000 + rng() % 100000;
  }
  g.start_ns = t0 + uint64_t(k) * 1000 + rng() % 1000;
  g.end_ns = g.start_ns + rng() % 10'000'000;
  return g;
}

// The pushes of one request, in order; the producer interleaves requests step by step.
struct Active {
  uint64_t id;
  uint32_t k;
  Gen g;
  std::vector<std::pair<int, std::string>> steps;  // 0 head, 1 body, 2 discard
  std::size_t next = 0;
};

Active plan(int q, uint32_t k, uint64_t id, std::mt19937_64& rng) {
  Active a{id, k, generate(q, k), {}, 0};
  auto split = [&](int kind, const std::string& s) {
    for (std::size_t off = 0; off < s.size();) {
      const std::size_t n = rng() % 4 == 0 ? s.size() - off : std::min<std::size_t>(s.size() - off, 1 + rng() % 700);
      a.steps.emplace_back(kind, s.substr(off, n));
      off += n;
    }
  };
  if (a.g.retried) {
    split(0, "HTTP/1.1 503 Stale\r\nX-Old: 1\r\n\r\n");
    split(1, "stale body");
    a.steps.emplace_back(2, "");
  }
  split(0, a.g.head);
  split(1, a.g.body);
  return a;
}

// Pushes `count` requests into q with up to 8 in flight at once, steps interleaved at
// random. Records the k of each end, in push order, and counts the requests left in
// flight with records pushed (the writer drops those).
struct Produced {
  std::vector<uint32_t> ended;
  uint64_t in_flight = 0;
};

Produced produce(ExportQueue& queue, int q, uint32_t count) {
  std::mt19937_64 rng(q + 77);
  std::vector<Active> active;
  Produced out;
  uint32_t k = 0;
  uint64_t id = 1;
  while (k < count || !active.empty()) {
    while (k < count && active.size() < 8) active.push_back(plan(q, k++, id++, rng));
    const std::size_t i = rng() % active.size();
    Active& a = active[i];
    if (a.next < a.steps.size()) {
      const auto& [kind, bytes] = a.steps[a.next++];
      if (kind == 0) queue.head(a.id, bytes);
      if (kind == 1) queue.body(a.id, bytes);
      if (kind == 2) queue.discard(a.id);
      continue;
    }
    if (a.g.ends) {
      const Gen& g = a.g;
      ExportEnd e{a.id, g.line_index, uint32_t(q) * 1'000'000 + a.k, g.status, g.error_kind,
                  g.error_kind >= 0 ? g.message.c_str() : nullptr, g.start_ns, g.first_byte_ns, g.end_ns,
                  g.truncated};
      queue.end(e);
      out.ended.push_back(a.k);
    } else if (!a.steps.empty()) {
      ++out.in_flight;
    }
    active[i] = std::move(active.back());
    active.pop_back();
  }
  return out;
}

std::string us(uint64_t ns) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%llu.%03llu", (unsigned long long)(ns / 1000), (unsigned long long)(ns % 1000));
  return buf;
}

std::string base64_encode(const std::string& s) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t bits = 0;
  int n = 0;
  for (unsigned char c : s) {
    bits = bits << 8 | c;
    for (n += 8; n >= 6; n -= 6) out += alphabet[bits >> (n - 6) & 63];
  }
  if (n > 0) out += alphabet[bits << (6 - n) & 63];
  while (out.size() % 4) out += '=';
  return out;
}

// One assertion per line (Catch's per-assertion cost dominates otherwise): the whole
// line against the expected object, key order included (ordered_json), and the timing
// text for its exact format.
void check_line(const std::string& text, const json& j, int q, uint32_t k) {
  const Gen g = generate(q, k);
  INFO("queue " << q << " k " << k);
  const LineExpect& le = line_expect[g.line_index];
  json x;
  x["seq"] = j["seq"];
  x["line"] = le.line;
  x["iteration"] = uint32_t(q) * 1'000'000 + k;
  x["name"] = le.name;
  x["url"] = le.url;
  x["method"] = le.method;
  x["protocol"] = "HTTP/1.1";
  x["status"] = g.status ? json(g.status) : json(nullptr);
  x["headers"] = json::array();
  for (const auto& [n, v] : g.headers) x["headers"].push_back({n, v});
  if (g.binary) x["body_base64"] = base64_encode(g.body); else x["body"] = g.body;
  if (g.truncated) x["body_truncated"] = true;
  if (g.error_kind >= 0) {
    x["error"]["kind"] = ringload::to_string(static_cast<ringload::ErrorKind>(g.error_kind));
    x["error"]["message"] = g.message.substr(0, ringload::limits::max_export_message);
  }
  x["timing"]["start_us"] = double(g.start_ns - t0) / 1000;  // both sides correctly rounded
  x["timing"]["ttfb_us"] = g.first_byte_ns ? json(double(g.first_byte_ns - g.start_ns) / 1000) : json(nullptr);
  x["timing"]["total_us"] = double(g.end_ns - g.start_ns) / 1000;
  CHECK(j == x);
  const std::string timing = "\"timing\":{\"start_us\":" + us(g.start_ns - t0) + ",\"ttfb_us\":" +
                             (g.first_byte_ns ? us(g.first_byte_ns - g.start_ns) : std::string("null")) +
                             ",\"total_us\":" + us(g.end_ns - g.start_ns) + "}}";
  CHECK(text.ends_with(timing));
}

// Runs a writer over one queue fed from this thread; returns the lines.
template <class Push>
std::vector<std::string> run_with(const ringload::RequestTable& table, ExportOptions options,
                                  std::size_t queue_bytes, Push&& push) {
  options.path = temp_path("single");
  ExportQueue queue(queue_bytes);
  ExportQueue* queues[] = {&queue};
  ExportWriter writer(options, table, queues, t0);
  REQUIRE(writer.open());
  writer.start();
  push(queue);
  REQUIRE(writer.finish());
  auto lines = read_lines(options.path);
  std::remove(options.path.c_str());
  CHECK(lines.size() == writer.lines());
  return lines;
}

// The same over make_table()'s three lines and a 64 KiB queue.
template <class Push>
std::vector<std::string> run_single(ExportOptions options, Push&& push) {
  static const ringload::RequestTable table = make_table();
  return run_with(table, std::move(options), 64 * 1024, std::forward<Push>(push));
}

ExportEnd end_of(uint64_t id, int status, int error_kind = -1, const char* message = nullptr) {
  return ExportEnd{id, 0, 0, status, error_kind, message, t0 + 1000, status ? t0 + 2000 : 0, t0 + 3500, false};
}

void push_response(ExportQueue& q, uint64_t id, int status, std::string_view body) {
  const std::string head = "HTTP/1.1 " + std::to_string(status) + " X\r\nA: 1\r\n\r\n";
  q.head(id, head);
  q.body(id, body);
  q.end(end_of(id, status));
}

// Random requests from two producer threads through two tiny queues, every line checked.
void run_random(ExportOptions options, uint32_t count0, uint32_t count1) {
  const ringload::RequestTable table = make_table();
  options.path = temp_path("big");
  ExportQueue q0(4096), q1(4096);
  ExportQueue* queues[] = {&q0, &q1};
  ExportWriter writer(options, table, queues, t0);
  REQUIRE(writer.open());
  writer.start();
  Produced r0, r1;
  std::thread p0([&] { r0 = produce(q0, 0, count0); });
  std::thread p1([&] { r1 = produce(q1, 1, count1); });
  p0.join();
  p1.join();
  REQUIRE(writer.finish());
  CHECK(q0.waits() > 0);
  CHECK(q1.waits() > 0);

  const auto lines = read_lines(options.path);
  std::remove(options.path.c_str());
  REQUIRE(lines.size() == r0.ended.size() + r1.ended.size());
  CHECK(writer.lines() == lines.size());
  CHECK(writer.dropped() == r0.in_flight + r1.in_flight);
  CHECK(writer.dropped() > 0);
  if (options.spill_per_request < 1000) CHECK(writer.spills() > 0);
  std::size_t next[2] = {0, 0};
  const std::vector<uint32_t>* ended[2] = {&r0.ended, &r1.ended};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const json j = json::parse(lines[i]);  // also rejects invalid UTF-8
    if (j["seq"] != i) REQUIRE(j["seq"] == i);
    const auto iteration = j["iteration"].get<uint32_t>();
    const int q = static_cast<int>(iteration / 1'000'000);
    const uint32_t k = iteration % 1'000'000;
    REQUIRE(q < 2);
    REQUIRE(next[q] < ended[q]->size());
    if ((*ended[q])[next[q]] != k) REQUIRE((*ended[q])[next[q]] == k);  // per-queue end order kept
    ++next[q];
    check_line(lines[i], j, q, k);
  }
}

// Bounds small enough that every body above a few hundred bytes goes to a temporary file.
ExportOptions tiny_spill() {
  ExportOptions o;
  o.spill_per_request = 300;
  o.spill_total = 4096;
  o.spill_dir = "/tmp";
  return o;
}

// Under AddressSanitizer (a Debug build, ~12x slower here) a tenth of the requests: the
// same paths, in 7 s instead of 83 s of the CI's time.
#if defined(__SANITIZE_ADDRESS__)
constexpr uint32_t scale = 10;
#else
constexpr uint32_t scale = 1;
#endif

}  // namespace

TEST_CASE("export: 200k requests (a tenth sanitized) through two tiny queues", "[export]") {
  run_random({}, 150'000 / scale, 50'000 / scale);
}

TEST_CASE("export: 30k requests (a tenth sanitized) with bodies spilled to temporary files", "[export]") {
  run_random(tiny_spill(), 20'000 / scale, 10'000 / scale);
}

TEST_CASE("export: key order, escaping and nulls", "[export]") {
  const auto lines = run_single({}, [](ExportQueue& q) {
    q.head(1, std::string_view("HTTP/1.1 200 OK\r\nX-Bad: a\xff" "b\r\nX-Q: \"q\"\r\n\r\n"));
    q.body(1, std::string_view("a\"b\\c\n\x01\x7f\xc3\xa9"));
    q.end(end_of(1, 200));
    q.end(end_of(2, 0, static_cast<int>(ringload::ErrorKind::connect), "refused\r\n"));
  });
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] ==
        "{\"seq\":0,\"line\":3,\"iteration\":0,\"name\":\"GET /a/b\",\"url\":\"http://127.0.0.1:8080/a/b?x=1&y=\\\"2\\\"\","
        "\"method\":\"GET\",\"protocol\":\"HTTP/1.1\",\"status\":200,\"headers\":[[\"X-Bad\",\"a\xef\xbf\xbd" "b\"],[\"X-Q\",\"\\\"q\\\"\"]],"
        "\"body\":\"a\\\"b\\\\c\\n\\u0001\x7f\xc3\xa9\",\"timing\":{\"start_us\":1.000,\"ttfb_us\":1.000,\"total_us\":2.500}}");
  CHECK(lines[1] ==
        "{\"seq\":1,\"line\":3,\"iteration\":0,\"name\":\"GET /a/b\",\"url\":\"http://127.0.0.1:8080/a/b?x=1&y=\\\"2\\\"\","
        "\"method\":\"GET\",\"protocol\":\"HTTP/1.1\",\"status\":null,\"headers\":[],\"body\":\"\",\"error\":{\"kind\":\"connect\","
        "\"message\":\"refused\\r\\n\"},\"timing\":{\"start_us\":1.000,\"ttfb_us\":null,\"total_us\":2.500}}");
}

TEST_CASE("export: base64 for every tail length", "[export]") {
  const auto lines = run_single({}, [](ExportQueue& q) {
    for (uint64_t n = 1; n <= 6; ++n) push_response(q, n, 200, std::string(n, '\xfe'));
  });
  REQUIRE(lines.size() == 6);
  for (std::size_t n = 1; n <= 6; ++n) {
    const json j = json::parse(lines[n - 1]);
    CHECK(base64_decode(j["body_base64"].get<std::string>()) == std::string(n, '\xfe'));
  }
  CHECK(json::parse(lines[0])["body_base64"] == "/g==");
  CHECK(json::parse(lines[1])["body_base64"] == "/v4=");
}

TEST_CASE("export: every byte value at every offset of the fast scan", "[export]") {
  // 40 bytes: one 16-byte block, one 8-byte word, then the byte-wise tail.
  std::vector<std::string> bodies;
  for (int b = 0; b < 256; ++b) {
    for (std::size_t pos = 0; pos < 40; ++pos) {
      std::string body(40, 'a');
      body[pos] = char(b);
      bodies.push_back(body);
    }
  }
  for (std::size_t pos = 0; pos < 38; ++pos) {
    std::string body(40, 'a');
    body.replace(pos, 3, "\xe2\x82\xac");
    bodies.push_back(body);
  }
  const auto lines = run_single({}, [&](ExportQueue& q) {
    for (uint64_t id = 0; id < bodies.size(); ++id) {
      q.body(id, bodies[id]);
      q.end(end_of(id, 200));
    }
  });
  REQUIRE(lines.size() == bodies.size());
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    const json j = json::parse(lines[i]);
    const bool ascii = std::all_of(bodies[i].begin(), bodies[i].end(), [](char c) { return (unsigned char)c < 0x80; });
    if (ascii || i >= 256 * 40) {
      if (!j.contains("body") || j["body"] != bodies[i]) FAIL_CHECK("line " << i << ": " << lines[i]);
    } else if (!j.contains("body_base64") || base64_decode(j["body_base64"].get<std::string>()) != bodies[i]) {
      FAIL_CHECK("line " << i << ": " << lines[i]);
    }
  }
}

TEST_CASE("export: errors_only keeps errors and failed statuses", "[export]") {
  auto push = [](ExportQueue& q) {
    push_response(q, 1, 200, "ok");
    push_response(q, 2, 404, "missing");
    q.end(end_of(3, 0, static_cast<int>(ringload::ErrorKind::timeout), "deadline"));
    push_response(q, 4, 302, "");
    q.head(5, std::string_view("HTTP/1.1 200 OK\r\n\r\n"));
    q.end(end_of(5, 200, static_cast<int>(ringload::ErrorKind::read), "reset"));
  };
  ExportOptions options;
  options.errors_only = true;
  auto lines = run_single(options, push);
  REQUIRE(lines.size() == 3);
  CHECK(json::parse(lines[0])["status"] == 404);
  CHECK(json::parse(lines[1])["error"]["kind"] == "timeout");
  CHECK(json::parse(lines[2])["error"]["kind"] == "read");
  for (std::size_t i = 0; i < lines.size(); ++i) CHECK(json::parse(lines[i])["seq"] == i);

  options.success_status = [](int s) { return s == 404; };
  lines = run_single(options, push);
  REQUIRE(lines.size() == 4);  // the 404 is now a success; 200 and 302 are not
  CHECK(json::parse(lines[0])["status"] == 200);
  CHECK(json::parse(lines[1])["error"]["kind"] == "timeout");
  CHECK(json::parse(lines[2])["status"] == 302);
  CHECK(json::parse(lines[3])["error"]["kind"] == "read");
}

TEST_CASE("export: truncation flag and the writer's own max_body cap", "[export]") {
  ExportOptions options;
  options.max_body = 10;
  const auto lines = run_single(options, [](ExportQueue& q) {
    q.body(1, std::string_view("0123456"));
    q.body(1, std::string_view("789abcdef"));
    q.end(end_of(1, 200));
    q.body(2, std::string_view("0123456789"));
    q.end(end_of(2, 200));
    ExportEnd e = end_of(3, 200);
    e.body_truncated = true;  // the shard cut it
    q.body(3, std::string_view("abc"));
    q.end(e);
  });
  REQUIRE(lines.size() == 3);
  const json a = json::parse(lines[0]), b = json::parse(lines[1]), c = json::parse(lines[2]);
  CHECK(a["body"] == "0123456789");
  CHECK(a["body_truncated"] == true);
  CHECK(b["body"] == "0123456789");
  CHECK(!b.contains("body_truncated"));
  CHECK(c["body"] == "abc");
  CHECK(c["body_truncated"] == true);
}

TEST_CASE("export: HEAD lines, unknown line index, in-flight requests dropped", "[export]") {
  const auto lines = run_single({}, [](ExportQueue& q) {
    q.head(7, std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"));
    q.body(8, std::string_view("never ends"));
    ExportEnd e = end_of(7, 200);
    e.line_index = 2;
    q.end(e);
    ExportEnd bad = end_of(9, 200);
    bad.line_index = 1000;
    q.end(bad);
  });
  REQUIRE(lines.size() == 2);
  const json a = json::parse(lines[0]), b = json::parse(lines[1]);
  CHECK(a["method"] == "HEAD");
  CHECK(a["headers"] == json::parse(R"([["Content-Length","99"]])"));
  CHECK(b["line"].is_null());
  CHECK(b["name"] == "");
}

TEST_CASE("export: open errors name the path", "[export]") {
  const ringload::RequestTable table = make_table();
  ExportOptions options;
  options.path = "/nonexistent-dir/out.jsonl";
  ExportWriter writer(options, table, {}, t0);
  auto r = writer.open();
  REQUIRE(!r);
  CHECK(r.error().find("/nonexistent-dir/out.jsonl") != std::string::npos);
  CHECK(writer.finish());
}

// Writer throughput: ./unit_tests "[export-perf]" (hidden). RINGLOAD_EXPORT_PERF_PATH
// picks the output file (default /dev/null: serializer and queue cost only).
TEST_CASE("export: writer throughput, 200-byte bodies", "[.][export-perf]") {
  const ringload::RequestTable table = make_table();
  ExportOptions options;
  const char* path = std::getenv("RINGLOAD_EXPORT_PERF_PATH");
  options.path = path ? path : "/dev/null";
  constexpr uint32_t count = 1'000'000;
  ExportQueue queue(8u << 20);
  ExportQueue* queues[] = {&queue};
  ExportWriter writer(options, table, queues, t0);
  REQUIRE(writer.open());
  const std::string head =
      "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
      "Content-Type: application/json\r\nContent-Length: 200\r\nConnection: keep-alive\r\n\r\n";
  std::string body = "{\"items\":[";
  while (body.size() < 199) body += "1,";
  body.resize(199);
  body += ']';
  const auto t_start = std::chrono::steady_clock::now();
  writer.start();
  for (uint32_t i = 0; i < count; ++i) {
    queue.head(i, head);
    queue.body(i, body);
    queue.end(ExportEnd{i, 0, 0, 200, -1, nullptr, t0 + i, t0 + i + 20000, t0 + i + 45000, false});
  }
  const auto t_produced = std::chrono::steady_clock::now();
  REQUIRE(writer.finish());
  const auto t_done = std::chrono::steady_clock::now();
  const double s = std::chrono::duration<double>(t_done - t_start).count();
  const double sp = std::chrono::duration<double>(t_produced - t_start).count();
  WARN("writer: " << count / s / 1e6 << " M lines/s (" << s << " s); producer pushes done in " << sp
                  << " s; producer waits " << queue.waits());
  CHECK(writer.lines() == count);
}

TEST_CASE("export: a failing file is reported and the producer is never blocked", "[export]") {
  if (access("/dev/full", W_OK) != 0) {
    WARN("no writable /dev/full: case skipped");
    return;
  }
  const ringload::RequestTable table = make_table();
  ExportOptions options;
  options.path = "/dev/full";  // every write fails with ENOSPC
  ExportQueue queue(4096);
  ExportQueue* queues[] = {&queue};
  ExportWriter writer(options, table, queues, t0);
  REQUIRE(writer.open());
  writer.start();
  const std::string body(3000, 'x');
  for (uint64_t id = 0; id < 2000; ++id) push_response(queue, id, 200, body);  // 6 MB through 4 KiB
  auto r = writer.finish();
  REQUIRE(!r);
  CHECK(r.error().find("/dev/full") != std::string::npos);
  CHECK(r.error().find("No space left") != std::string::npos);
  CHECK(writer.failed());
  CHECK(writer.lines() == 0);  // what is in the file, not what was formatted
}

// A file that fills up part way (RLIMIT_FSIZE stands in for a full disk): the file keeps
// whole lines only, lines() counts exactly those, and the error names the cause.
TEST_CASE("export: a file that fills up keeps whole lines, counted exactly", "[export]") {
  const ringload::RequestTable table = make_table();
  for (const std::size_t limit : {std::size_t{100'000}, std::size_t{1'000'003}}) {
    INFO("limit " << limit);
    ExportOptions options;
    options.path = temp_path("full");
    ExportQueue queue(64 * 1024);
    ExportQueue* queues[] = {&queue};
    ExportWriter writer(options, table, queues, t0);
    REQUIRE(writer.open());
    rlimit old{};
    getrlimit(RLIMIT_FSIZE, &old);
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lim = old;
    lim.rlim_cur = limit;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    writer.start();
    const std::string body(777, 'b');
    for (uint64_t id = 0; id < 5000 && !writer.failed(); ++id) push_response(queue, id, 200, body);
    auto r = writer.finish();
    setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    REQUIRE(!r);
    CHECK(r.error().find("File too large") != std::string::npos);
    std::ifstream in(options.path, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::remove(options.path.c_str());
    CHECK(data.size() <= limit);
    REQUIRE(!data.empty());
    CHECK(data.back() == '\n');
    const auto newlines = static_cast<uint64_t>(std::count(data.begin(), data.end(), '\n'));
    CHECK(writer.lines() == newlines);
    std::size_t start = 0, parsed = 0;
    for (std::size_t end; (end = data.find('\n', start)) != std::string::npos; start = end + 1, ++parsed)
      CHECK(json::parse(data.substr(start, end - start))["body"] == body);
    CHECK(parsed == newlines);
  }
}

// A body far beyond the memory bound comes back whole from its temporary file, as text
// and as base64, whatever the piece sizes it arrived in.
TEST_CASE("export: spilled bodies are exported whole", "[export]") {
  std::mt19937_64 rng(5);
  std::string text, binary;
  while (text.size() < 3'000'000) text += random_text(rng, 1000);
  for (int i = 0; i < 2'000'001; ++i) binary += char(rng());
  ExportOptions options;
  options.spill_per_request = 64 * 1024;
  options.spill_total = 256 * 1024;
  options.spill_dir = "/tmp";
  const auto lines = run_single(options, [&](ExportQueue& q) {
    q.head(1, std::string_view("HTTP/1.1 200 OK\r\n\r\n"));
    q.head(2, std::string_view("HTTP/1.1 200 OK\r\n\r\n"));
    for (std::size_t off = 0; off < text.size() || off < binary.size();) {
      const std::size_t n = 1 + rng() % 40000;
      if (off < text.size()) q.body(1, std::string_view(text).substr(off, n));
      if (off < binary.size()) q.body(2, std::string_view(binary).substr(off, n));
      off += n;
    }
    q.end(end_of(1, 200));
    q.end(end_of(2, 200));
  });
  REQUIRE(lines.size() == 2);
  CHECK(json::parse(lines[0])["body"] == text);
  CHECK(json::parse(lines[1])["body_base64"] == base64_encode(binary));
}

// Two stream lines: SSE (index 0) and WebSocket (index 1).
ringload::RequestTable stream_table() {
  ringload::RequestTableBuilder b;
  const std::pair<const char*, ringload::StreamProto> lines[] = {
      {"http://127.0.0.1:8080/feed", ringload::StreamProto::sse},
      {"ws://127.0.0.1:8080/chat", ringload::StreamProto::ws},
  };
  for (const auto& [url, proto] : lines) {
    ringload::StreamSpec spec;
    spec.proto = proto;
    ringload::RequestInput in;
    in.url = *ringload::parse_url(url);
    in.stream = &spec;
    REQUIRE(b.add(in));
  }
  return std::move(b).finish();
}

TEST_CASE("export: SSE events and WebSocket messages, close and ends", "[export][streams]") {
  for (const bool spill : {false, true}) {
  INFO("spill " << spill);
  const ExportOptions base = spill ? tiny_spill() : ExportOptions{};
  const ringload::RequestTable table = stream_table();
  const std::string big(10000, 'z');
  ExportEnd session_end = end_of(2, 101);
  session_end.line_index = 1;
  session_end.stream_end = static_cast<int>(ringload::StreamEnd::server);
  // A WebSocket session: text, empty binary, binary; the server's close.
  auto push_session = [&](ExportQueue& q) {
    q.head(2, std::string_view("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"));
    q.item(2, {10, true, false, false, {}, {}});
    q.item_data(2, std::string_view("h\xc3\xa9"));
    q.item(2, {20, true, true, false, {}, {}});
    q.item(2, {30, true, true, false, {}, {}});
    q.item_data(2, std::string_view("\x00\x01", 2));
    q.close(2, 4001, true, "done");
    q.end(session_end);
  };

  ExportOptions options = base;
  options.errors_only = true;  // a 101 counts as a success for a WebSocket line
  // The smallest ring: items and their data wrap around.
  const auto lines = run_with(table, options, 4096, [&](ExportQueue& queue) {
    // An SSE stream: a named event with an ID, a split data item, then invalid UTF-8.
    queue.head(1, std::string_view("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"));
    queue.item(1, {1500, false, false, true, "update", "7"});
    queue.item_data(1, std::string_view("a\nb"));
    queue.item(1, {2500, false, false, false, {}, "7"});
    queue.item_data(1, std::string_view(big).substr(0, 3000));
    queue.item_data(1, std::string_view(big).substr(3000));
    queue.item(1, {3000, false, false, false, {}, {}});
    queue.item_data(1, std::string_view("\xff"));
    ExportEnd e1 = end_of(1, 200, static_cast<int>(ringload::ErrorKind::read), "connection closed mid-stream");
    e1.stream_end = static_cast<int>(ringload::StreamEnd::error);
    queue.end(e1);
    push_session(queue);
  });
  // errors_only: the failed SSE stream only.
  REQUIRE(lines.size() == 1);
  const json j = json::parse(lines[0]);
  CHECK_FALSE(j.contains("body"));
  CHECK(j["stream_end"] == "error");
  CHECK(j["error"]["kind"] == "read");
  REQUIRE(j["events"].size() == 3);
  CHECK(j["events"][0] == json({{"t_us", 1.5}, {"event", "update"}, {"id", "7"}, {"data", "a\nb"}}));
  CHECK(j["events"][1]["event"].is_null());
  CHECK(j["events"][1]["data"] == big);
  CHECK(j["events"][2]["id"].is_null());
  CHECK(j["events"][2]["data_base64"] == "/w==");
  CHECK(lines[0].find("\"events\":[{\"t_us\":1.500,\"event\":\"update\",\"id\":\"7\",\"data\":\"a\\nb\"}") !=
        std::string::npos);

  // Without errors_only: the session's messages and close, and a session cut by the stop.
  const auto lines2 = run_with(table, base, 4096, [&](ExportQueue& q) {
    push_session(q);
    ExportEnd e3 = end_of(3, 101);
    e3.line_index = 1;
    e3.stream_end = static_cast<int>(ringload::StreamEnd::run_end);
    q.end(e3);
  });
  REQUIRE(lines2.size() == 2);
  const json w1 = json::parse(lines2[0]);
  CHECK(w1["status"] == 101);
  CHECK(w1["messages"] == json::parse(R"([{"t_us":0.01,"opcode":"text","data":"hé"},
                                          {"t_us":0.02,"opcode":"binary","data_base64":""},
                                          {"t_us":0.03,"opcode":"binary","data_base64":"AAE="}])"));
  CHECK(w1["close"] == json({{"code", 4001}, {"reason", "done"}, {"by", "server"}}));
  CHECK(w1["session_end"] == "server");
  const json w2 = json::parse(lines2[1]);
  CHECK(w2["messages"] == json::array());
  CHECK(w2["close"].is_null());
  CHECK(w2["session_end"] == "run_end");
}
}

TEST_CASE("export: --export-max-body caps a stream's item data in all", "[export][streams]") {
  ExportOptions options;
  options.max_body = 10;
  const auto lines = run_with(stream_table(), options, 4096, [](ExportQueue& queue) {
    for (int i = 0; i < 3; ++i) {
      queue.item(1, {static_cast<uint64_t>(i) * 1000, false, false, false, {}, {}});
      queue.item_data(1, std::string_view("abcdef"));
    }
    ExportEnd e = end_of(1, 200);
    e.stream_end = static_cast<int>(ringload::StreamEnd::server);
    queue.end(e);
  });
  REQUIRE(lines.size() == 1);
  const json j = json::parse(lines[0]);
  REQUIRE(j["events"].size() == 3);  // every event listed, its data cut at 10 bytes in all
  CHECK(j["events"][0]["data"] == "abcdef");
  CHECK(j["events"][1]["data"] == "abcd");
  CHECK(j["events"][2]["data"] == "");
  CHECK(j["data_truncated"] == true);
  CHECK(j["stream_end"] == "server");
}
