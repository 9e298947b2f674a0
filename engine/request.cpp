#include "engine/request.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>


namespace ringload {
std::expected<PreparedRun, std::string> prepare_requests(const RunConfig& config) {
  PreparedRun run;
  if (config.table) {
    run.table = config.table;
  } else {
    RequestTableBuilder builder;
    std::vector<std::pair<std::string_view, std::string_view>> headers;
    for (std::size_t i = 0; i < config.requests.size(); ++i) {
      const RequestSpec& spec = config.requests[i];
      headers.clear();
      for (const auto& [n, v] : spec.headers) headers.emplace_back(n, v);
      RequestInput in;
      in.url = spec.url;
      in.method = spec.method;
      in.headers = headers;
      in.body = spec.body;
      in.name = spec.name;
      in.timeout = spec.timeout;
      if (auto r = builder.add(in); !r)
        return std::unexpected("request " + std::to_string(i + 1) + ": " + r.error());
    }
    run.table = std::make_shared<const RequestTable>(std::move(builder).finish());
  }
  if (run.table->lines.empty()) return std::unexpected("no requests to send");
  for (const Url& url : run.table->origins) {
    if (url.scheme != Scheme::http)
      return std::unexpected("'" + url.origin() + "': only http:// is supported so far");
    auto endpoint = resolve(url);
    if (!endpoint) return std::unexpected(endpoint.error());
    Origin o;
    o.url = url;
    o.endpoint = *endpoint;
    o.host_line = "Host: " + url.host_header() + "\r\n";
    o.user_agent_line = "User-Agent: ringload/" RINGLOAD_ENGINE_VERSION "\r\n";
    o.accept_line = "Accept: */*\r\n";
    run.origins.push_back(std::move(o));
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
