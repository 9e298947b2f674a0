// ringload-target: a small, fast HTTP/1.1 server for demos, tests and benchmarks of ringload.
// main() opens the listeners, starts one worker per thread and waits for SIGINT/SIGTERM.

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "counters.hpp"
#include "limiter.hpp"
#include "options.hpp"
#include "worker.hpp"

namespace {

using namespace ringload::target;

std::atomic<bool> worker_failed{false};

unsigned default_threads() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return static_cast<unsigned>(CPU_COUNT(&set));
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? n : 1;
}

// The accept queue as deep as the kernel allows: listen() caps it at net.core.somaxconn
// (4096 by default), so thousands of connects at once wait instead of being dropped.
constexpr int listen_backlog = 65535;

// One listening socket per worker, all on the same address: SO_REUSEPORT lets the kernel
// spread incoming connections over them without a shared accept queue.
int open_listener(const sockaddr_storage& addr, socklen_t len, std::string& error) {
  const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // Accepted sockets inherit it (Linux): responses are written whole, and waiting to
  // coalesce them (Nagle) would only add latency.
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0 || ::listen(fd, listen_backlog) != 0) {
    error = std::string("bind/listen: ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

bool resolve(const Options& o, sockaddr_storage& addr, socklen_t& len, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(o.port);
  if (const int rc = ::getaddrinfo(o.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    error = "cannot resolve " + o.host + ": " + ::gai_strerror(rc);
    return false;
  }
  std::memcpy(&addr, res->ai_addr, res->ai_addrlen);
  len = res->ai_addrlen;
  ::freeaddrinfo(res);
  return true;
}

std::uint16_t bound_port(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

void set_port(sockaddr_storage& addr, std::uint16_t port) {
  if (addr.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port = htons(port);
  else reinterpret_cast<sockaddr_in*>(&addr)->sin_port = htons(port);
}

// Written to a temporary name and renamed, so a reader polling for the file never sees it
// half-written.
bool write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return false;
  const bool ok = std::fputs(text.c_str(), f) >= 0;
  if (std::fclose(f) != 0 || !ok) return false;
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

// SO_REUSEPORT would let a second instance of the same user silently share a busy port
// (and a stale server answer the tests). Binding once without it first claims the port
// exclusively and, for port 0, picks a free one; the reuseport listeners then take it over.
bool claim_port(sockaddr_storage& addr, socklen_t len, std::string& error) {
  const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // TIME_WAIT is no conflict
  const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) == 0;
  if (ok) set_port(addr, bound_port(fd));
  else error = std::string("bind: ") + std::strerror(errno);
  ::close(fd);
  return ok;
}

// Opens every listener on one claimed port and creates the workers.
bool start_workers(const Options& o, unsigned threads, RequestCounters& counters,
                   RateLimiter* limiter, std::vector<std::unique_ptr<Worker>>& workers,
                   std::uint16_t& port, std::string& error) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (!resolve(o, addr, len, error) || !claim_port(addr, len, error)) return false;
  const WorkerConfig config{FixedBody{o.body_size, o.latency_ms}, o.close, &counters, limiter};
  for (unsigned i = 0; i < threads; ++i) {
    const int fd = open_listener(addr, len, error);
    if (fd < 0) return false;
    port = bound_port(fd);
    workers.push_back(std::make_unique<Worker>(i, fd, config));
    if (!workers.back()->init(error)) return false;
  }
  return true;
}

// Runs the workers until SIGINT/SIGTERM (or a worker's fatal error); returns the exit code.
int serve(const Options& options, const sigset_t& stop_signals) {
  const unsigned threads = options.threads > 0 ? options.threads : default_threads();
  RequestCounters counters(threads);
  std::unique_ptr<RateLimiter> limiter;
  if (options.capacity > 0)
    limiter = std::make_unique<RateLimiter>(
        options.capacity, options.capacity_burst > 0 ? options.capacity_burst
                                                     : RateLimiter::default_burst(options.capacity));
  std::vector<std::unique_ptr<Worker>> workers;
  std::uint16_t port = 0;
  std::string error;
  if (!start_workers(options, threads, counters, limiter.get(), workers, port, error)) {
    std::fprintf(stderr, "ringload-target: %s:%u: %s\n", options.host.c_str(), options.port,
                 error.c_str());
    return 1;
  }
  // The listeners already queue connections: the port can be announced before the threads run.
  if (!options.port_file.empty() && !write_file(options.port_file, std::to_string(port) + "\n")) {
    std::fprintf(stderr, "ringload-target: cannot write %s\n", options.port_file.c_str());
    return 1;
  }
  if (!options.quiet) {
    std::fprintf(stderr, "ringload-target: listening on %s port %u, %u thread%s",
                 options.host.c_str(), port, threads, threads == 1 ? "" : "s");
    if (options.capacity > 0) std::fprintf(stderr, ", capacity %g/s", options.capacity);
    if (options.latency_ms > 0) std::fprintf(stderr, ", latency %u ms", options.latency_ms);
    std::fputc('\n', stderr);
  }
  std::vector<std::thread> running;
  for (auto& w : workers)
    running.emplace_back([&w] {
      if (!w->run()) {
        worker_failed = true;
        ::kill(::getpid(), SIGTERM);  // wakes the sigwait() below
      }
    });
  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) != 0) {
  }
  for (auto& w : workers) w->stop();
  for (auto& t : running) t.join();
  workers.clear();

  const Totals totals = counters.totals();
  const std::uint64_t served = totals.total();
  if (!options.count_file.empty() && !write_file(options.count_file, std::to_string(served) + "\n")) {
    std::fprintf(stderr, "ringload-target: cannot write %s\n", options.count_file.c_str());
    return 1;
  }
  if (!options.quiet)
    std::fprintf(stderr, "requests: %llu\nrejected: %llu\n", static_cast<unsigned long long>(served),
                 static_cast<unsigned long long>(totals.rejected));
  return worker_failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  switch (parse_options(argc, argv, options)) {
    case OptionsResult::run: break;
    case OptionsResult::exit_ok: return 0;
    case OptionsResult::exit_error: return 2;
  }
  // A peer that resets while we write must give EPIPE, not kill the process.
  ::signal(SIGPIPE, SIG_IGN);
  // Blocked before any thread starts, so only sigwait() in this thread ever takes them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return serve(options, stop_signals);
}
