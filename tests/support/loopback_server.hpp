// A socket server in the test process, on a free 127.0.0.1 port: each connection runs a
// behaviour (a function of the socket) on its own thread; every wait is bounded. For C++
// tests that drive the engine against a peer they control.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace ringload::test {

// Accepts on a free 127.0.0.1 port until stopped; `serve(fd)` runs per connection on its
// own thread. Counts the requests the behaviours report.
class Server {
 public:
  explicit Server(std::function<void(int, Server&)> serve) : serve_(std::move(serve)) {
    listen_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(listen_, 64) != 0)
      throw std::runtime_error("cannot listen on 127.0.0.1");
    socklen_t len = sizeof a;
    getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accepter_ = std::thread([this] { accept_loop(); });
  }
  ~Server() {
    stop_ = true;
    accepter_.join();
    for (auto& t : workers_) t.join();
    close(listen_);
  }
  uint16_t port() const { return port_; }
  bool stopping() const { return stop_; }
  std::atomic<int> requests{0};

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listen_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int fd = accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      workers_.emplace_back([this, fd] {
        serve_(fd, *this);
        close(fd);
      });
    }
  }
  std::function<void(int, Server&)> serve_;
  int listen_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accepter_;
  std::vector<std::thread> workers_;
};

// Reads one request head (bounded); false when the client closed or the server stops.
inline bool read_head(int fd, const Server& s) {
  std::string got;
  char buf[4096];
  while (got.find("\r\n\r\n") == std::string::npos && got.size() < 65536) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) {
      if (s.stopping()) return false;
      continue;
    }
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

inline void send_all(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Keep-alive: "ok" for every request.
inline void keep_alive(int fd, Server& s) {
  while (read_head(fd, s)) {
    ++s.requests;
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  }
}

// One response per connection, then close (Connection: close).
inline void close_each(int fd, Server& s) {
  if (!read_head(fd, s)) return;
  ++s.requests;
  send_all(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
}

// Not HTTP.
inline void garbage(int fd, Server& s) {
  while (read_head(fd, s)) {
    ++s.requests;
    send_all(fd, "SMTP ready\r\n\r\n");
  }
}

// Reads requests, never answers.
inline void silent(int fd, Server& s) {
  while (read_head(fd, s)) ++s.requests;
}

}  // namespace ringload::test
