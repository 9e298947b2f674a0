#include "engine/request.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proto/http_response.hpp"

namespace ringload {
namespace {

// RFC 9110 §5.6.2: token characters.
bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
    if (std::strchr("\"(),/:;<=>?@[\\]{}", c) != nullptr) return false;
  }
  return true;
}

// RFC 9110 §5.5: no CR, LF or NUL in a field value.
bool is_field_value(std::string_view s) noexcept {
  for (unsigned char c : s)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

bool has_header(const RequestSpec& r, std::string_view name) {
  for (const auto& [n, v] : r.headers)
    if (proto::iequals(n, name)) return true;
  return false;
}

std::expected<std::string, std::string> render(const RequestSpec& r) {
  if (!is_token(r.method)) return std::unexpected("bad method '" + r.method + "'");
  for (const auto& [n, v] : r.headers) {
    if (!is_token(n)) return std::unexpected("bad header name '" + n + "'");
    if (!is_field_value(v)) return std::unexpected("header '" + n + "' has CR, LF or NUL in its value");
  }
  std::string out;
  out.reserve(128 + r.body.size());
  out += r.method;
  out += ' ';
  out += r.url.target;
  out += " HTTP/1.1\r\n";
  if (!has_header(r, "host")) out += "Host: " + r.url.host_header() + "\r\n";
  if (!has_header(r, "user-agent")) out += "User-Agent: ringload/" RINGLOAD_ENGINE_VERSION "\r\n";
  if (!has_header(r, "accept")) out += "Accept: */*\r\n";
  for (const auto& [n, v] : r.headers) out += n + ": " + v + "\r\n";
  bool body_expected = !r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH";
  if (body_expected && !has_header(r, "content-length") && !has_header(r, "transfer-encoding"))
    out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  out += "\r\n";
  out += r.body;
  return out;
}

}  // namespace

std::expected<PreparedRun, std::string> prepare_requests(const RunConfig& config) {
  PreparedRun run;
  if (config.requests.empty()) return std::unexpected("no requests to send");
  for (std::size_t i = 0; i < config.requests.size(); ++i) {
    const RequestSpec& spec = config.requests[i];
    if (spec.url.scheme != Scheme::http)
      return std::unexpected("'" + spec.url.origin() + spec.url.target +
                             "': only http:// is supported so far");
    auto bytes = render(spec);
    if (!bytes) return std::unexpected("request " + std::to_string(i + 1) + ": " + bytes.error());
    uint32_t origin = 0;
    const std::string key = spec.url.origin();
    while (origin < run.origins.size() && run.origins[origin].url.origin() != key) ++origin;
    if (origin == run.origins.size()) {
      auto endpoint = resolve(spec.url);
      if (!endpoint) return std::unexpected(endpoint.error());
      run.origins.push_back({spec.url, *endpoint});
    }
    RenderedRequest rendered;
    rendered.bytes = std::move(*bytes);
    rendered.name = spec.name.empty() ? spec.method + " " + spec.url.target : spec.name;
    rendered.origin = origin;
    auto timeout = spec.timeout.count() > 0 ? spec.timeout : config.timeout;
    rendered.timeout_ns = static_cast<uint64_t>(timeout.count());
    rendered.head = spec.method == "HEAD";
    run.requests.push_back(std::move(rendered));
  }
  return run;
}

std::expected<void, std::string> probe_connect(const Origin& origin, uint64_t timeout_ns) {
  const auto& ep = origin.endpoint;
  auto fail = [&](const char* what) {
    return std::unexpected("cannot connect to " + origin.url.origin() + " (" + ep.address + "): " + what);
  };
  int fd = socket(ep.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(strerror(errno));
  int ret = connect(fd, reinterpret_cast<const sockaddr*>(&ep.addr), ep.addr_len);
  if (ret < 0 && errno == EINPROGRESS) {
    pollfd pfd{fd, POLLOUT, 0};
    ret = poll(&pfd, 1, static_cast<int>(timeout_ns / 1'000'000));
    if (ret == 0) {
      close(fd);
      return fail("timed out");
    }
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    errno = err;
    ret = err == 0 ? 0 : -1;
  }
  int saved = errno;
  close(fd);
  if (ret < 0) return fail(strerror(saved));
  return {};
}

}  // namespace ringload
