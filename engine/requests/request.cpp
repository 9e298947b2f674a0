#include "engine/requests/request.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>


namespace ringload {
std::expected<PreparedRun, std::string> prepare_requests(const RunConfig& config) {
  PreparedRun run;
  if (!config.file.empty()) {
    run.table = config.file.table();
  } else {
    RequestTableBuilder builder;
    std::vector<std::pair<std::string_view, std::string_view>> headers;
    for (std::size_t i = 0; i < config.requests.size(); ++i) {
      const RequestInput in = to_input(config.requests[i], headers);
      if (auto r = builder.add(in); !r)
        return std::unexpected("request " + std::to_string(i + 1) + ": " + r.error());
    }
    run.table = std::make_shared<const RequestTable>(std::move(builder).finish());
  }
  if (run.table->lines.empty()) return std::unexpected("no requests to send");
  for (std::size_t i = 0; i < run.table->origins.size(); ++i) {
    const Url& url = run.table->origins[i];
    auto endpoint = resolve(url);
    if (!endpoint) return std::unexpected(endpoint.error());
    Origin o;
    o.url = url;
    o.endpoint = *endpoint;
    o.host_line = "Host: " + url.host_header() + "\r\n";
    o.user_agent_line = "User-Agent: ringload/" RINGLOAD_ENGINE_VERSION "\r\n";
    o.accept_line = "Accept: */*\r\n";
    o.http2 = group_http2(config.http2, run.table->http2_of(static_cast<uint16_t>(i)), url.scheme);
    if (url.scheme == Scheme::https || url.scheme == Scheme::wss) {
      TlsOptions t;
      t.verify = config.tls.verify;
      t.ca_file = config.tls.ca_file;
      t.cert_file = config.tls.cert_file;
      t.key_file = config.tls.key_file;
      t.sni_override = config.tls.sni;
      t.resume = config.tls.resume;
      t.offer_h2 = o.http2 == Http2Mode::alpn;
      auto ctx = TlsContext::create(t, url.host);
      if (!ctx) return std::unexpected(ctx.error());
      o.tls = std::shared_ptr<TlsContext>(std::move(*ctx));
    }
    run.origins.push_back(std::move(o));
  }
  return run;
}

bool run_speaks_http2(const RunConfig& config) {
  const auto speaks = [&](LineHttp2 line) {
    return line == LineHttp2::on || (line == LineHttp2::run && config.http2 != Http2Mode::off);
  };
  if (!config.file.empty()) {
    const RequestTable& t = *config.file.table();
    for (std::size_t i = 0; i < t.origins.size(); ++i)
      if (speaks(t.http2_of(static_cast<uint16_t>(i)))) return true;
    return false;
  }
  if (config.requests.empty()) return config.http2 != Http2Mode::off;
  for (const RequestSpec& r : config.requests)
    if (speaks(r.http2)) return true;
  return false;
}

std::string first_http2_line(const RunConfig& config) {
  if (!config.file.empty()) {
    const RequestTable& t = *config.file.table();
    if (t.first_h2_line == 0) return {};
    return t.source + ":" + std::to_string(t.first_h2_line) + ":" + std::to_string(t.first_h2_column);
  }
  for (std::size_t i = 0; i < config.requests.size(); ++i)
    if (config.requests[i].http2 == LineHttp2::on) return "request " + std::to_string(i + 1);
  return {};
}

namespace {

// A blocking TLS handshake on the probe's socket, so a certificate or protocol problem
// stops the run before it starts, with wolfSSL's reason.
std::expected<void, std::string> probe_tls(int fd, const Origin& origin, uint64_t timeout_ns) {
  TlsSession session;
  auto fail = [&](const std::string& why) {
    return std::unexpected("TLS handshake with " + origin.url.origin() + " failed: " + why);
  };
  if (!session.start(*origin.tls, nullptr)) return fail(session.error_reason());
  const uint64_t ms = timeout_ns / 1'000'000;
  char buf[16 * 1024];
  for (int round = 0; round < 64; ++round) {
    TlsStatus st = session.handshake();
    while (!session.output().empty()) {
      auto out = session.output();
      ssize_t n = send(fd, out.data(), out.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        if (n < 0 && errno == EAGAIN) {
          pollfd pfd{fd, POLLOUT, 0};
          if (poll(&pfd, 1, static_cast<int>(ms)) <= 0) return fail("timed out");
          continue;
        }
        return fail(st == TlsStatus::error ? session.error_reason() : strerror(errno));
      }
      session.consume_output(static_cast<std::size_t>(n));
    }
    if (st == TlsStatus::done) return {};
    if (st == TlsStatus::error || st == TlsStatus::closed) return fail(session.error_reason());
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(ms)) <= 0) return fail("timed out");
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EAGAIN) continue;
    if (n <= 0) {
      session.feed_eof();
      st = session.handshake();
      return fail(session.error_reason()[0] != '\0' ? session.error_reason() : "the server closed the connection");
    }
    session.feed({buf, static_cast<std::size_t>(n)});
    st = session.handshake();
    session.end_feed();
    if (st == TlsStatus::done) return {};
    if (st == TlsStatus::error || st == TlsStatus::closed) return fail(session.error_reason());
    // want_read / want_write: send what it produced and go round again.
    if (st == TlsStatus::want_read || st == TlsStatus::want_write) {
      while (!session.output().empty()) {
        auto out = session.output();
        ssize_t m = send(fd, out.data(), out.size(), MSG_NOSIGNAL);
        if (m <= 0) break;
        session.consume_output(static_cast<std::size_t>(m));
      }
    }
  }
  return fail("the handshake did not finish");
}

}  // namespace

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
  if (ret < 0) {
    close(fd);
    return fail(strerror(saved));
  }
  std::expected<void, std::string> result;
  if (origin.tls) result = probe_tls(fd, origin, timeout_ns);
  close(fd);
  return result;
}

}  // namespace ringload
