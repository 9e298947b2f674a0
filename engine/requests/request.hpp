// The run's requests made ready: the table rendered, each origin resolved with its
// default headers rendered once. Shards only read it.
#pragma once
#include <cstdint>
#include <cstring>
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ringload/config.hpp"
#include "engine/transport/tls.hpp"
#include "engine/requests/request_table.hpp"

namespace ringload {

struct Origin {
  Url url;
  Endpoint endpoint;
  std::string host_line;        // "Host: h[:p]\r\n"
  std::string user_agent_line;  // "User-Agent: ringload/x.y.z\r\n"
  std::string accept_line;      // "Accept: */*\r\n"
  std::shared_ptr<TlsContext> tls;  // https: shared read-only by the shards; null for http
  std::vector<Endpoint> sources;    // local addresses to bind, by slot in turn; empty: the kernel's pick
  Http2Mode http2 = Http2Mode::off; // this connection group's protocol: its lines' "http2" or the run's
};

// The protocol of an origin's connection group: a line's "http2": true picks h2c (http://)
// or ALPN h2 (https://), false HTTP/1.1, no key the run's --h2c / --http2.
inline Http2Mode group_http2(Http2Mode run, LineHttp2 line, Scheme scheme) noexcept {
  switch (line) {
    case LineHttp2::off: return Http2Mode::off;
    case LineHttp2::on:
      return scheme == Scheme::https || scheme == Scheme::wss ? Http2Mode::alpn : Http2Mode::prior_knowledge;
    case LineHttp2::run: break;
  }
  return run;
}

// Some connection group speaks HTTP/2.
inline bool any_http2(std::span<const Origin> origins) noexcept {
  for (const Origin& o : origins)
    if (o.http2 != Http2Mode::off) return true;
  return false;
}

// The HTTP/1.1 head of `line` into `out` (room for the line's head and the origin's
// default lines, plus 2): the line's own part, the defaults it did not set, the blank
// line. Returns its length.
inline uint32_t render_head(char* out, const RequestTable& table, const Origin& origin,
                            const RequestLine& line) noexcept {
  char* p = out;
  auto put = [&p](std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  put(table.head(line));
  if (!(line.flags & RequestLine::flag_has_host)) put(origin.host_line);
  if (!(line.flags & RequestLine::flag_has_user_agent)) put(origin.user_agent_line);
  if (!(line.flags & RequestLine::flag_has_accept)) put(origin.accept_line);
  put("\r\n");
  return static_cast<uint32_t>(p - out);
}

struct PreparedRun {
  std::shared_ptr<const RequestTable> table;
  std::vector<Origin> origins;  // parallel to table->origins
  bool direct_fds = false;      // sockets as direct descriptors (engine/core/sockets.hpp)
};

// Renders config.requests into a table unless config.file is set, resolves each origin
// once. Errors name the request and what is wrong.
std::expected<PreparedRun, std::string> prepare_requests(const RunConfig& config);

// Some request of the run goes over HTTP/2: a line (or RequestSpec) with "http2": true,
// or one without the key in a --h2c / --http2 run.
bool run_speaks_http2(const RunConfig& config);
// Where the first "http2": true is, for messages: "file:line:column", "request N"; "" : none.
std::string first_http2_line(const RunConfig& config);

// One blocking connect with a timeout, before the run: "connection refused" and friends
// become a setup error instead of a run full of connect errors.
std::expected<void, std::string> probe_connect(const Origin& origin, uint64_t timeout_ns);

}  // namespace ringload
