// TlsSession against real servers on loopback: nginx (TLS 1.2 / 1.3, client certificates,
// resumption) and small in-process fakes (garbage, alerts, EOF). Certificates are made at
// test time with the openssl CLI. The TLS bytes move over a blocking socket here, the way
// the shard moves them over io_uring: recv -> feed -> call -> send output() -> end_feed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/transport/tls.hpp"

// For the error codes of the classification table only.
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

namespace {

using namespace ringload;
namespace fs = std::filesystem;

std::string find_tool(const std::string& name) {
  std::string dirs = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  dirs += ":/usr/sbin:/sbin:/usr/bin";
  std::stringstream ss(dirs);
  for (std::string dir; std::getline(ss, dir, ':');) {
    const std::string p = dir + "/" + name;
    if (!dir.empty() && ::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// The temp dir with a CA, server certificates for localhost/127.0.0.1 and for a wrong
// name, and a client certificate; made once, removed at exit.
struct Lab {
  std::string dir, nginx, openssl, skip;
  std::string path(const std::string& f) const { return dir + "/" + f; }
  ~Lab() {
    if (!dir.empty()) fs::remove_all(dir);
  }
};

bool make_leaf(const Lab& l, const std::string& name, const std::string& cn, const std::string& ext) {
  write_file(l.path(name + ".ext"), ext);
  const std::string o = l.openssl, q = " >/dev/null 2>&1";
  return std::system((o + " req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " +
                      l.path(name + ".key") + " -out " + l.path(name + ".csr") + " -subj /CN=" + cn + q)
                         .c_str()) == 0 &&
         std::system((o + " x509 -req -in " + l.path(name + ".csr") + " -CA " + l.path("ca.pem") +
                      " -CAkey " + l.path("ca.key") + " -CAcreateserial -days 3 -out " +
                      l.path(name + ".pem") + " -extfile " + l.path(name + ".ext") + q)
                         .c_str()) == 0;
}

void make_lab(Lab& l) {
  l.nginx = find_tool("nginx");
  l.openssl = find_tool("openssl");
  if (l.nginx.empty() || l.openssl.empty()) {
    l.skip = "nginx or openssl not installed";
    return;
  }
  char tmpl[] = "/tmp/ringload-tls-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    l.skip = "mkdtemp failed";
    return;
  }
  l.dir = tmpl;
  const bool ok =
      std::system((l.openssl + " req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
                   " -keyout " + l.path("ca.key") + " -out " + l.path("ca.pem") +
                   " -days 3 -subj /CN=ringload-test-ca"
                   " -addext basicConstraints=critical,CA:TRUE"
                   " -addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1")
                      .c_str()) == 0 &&
      make_leaf(l, "server", "localhost",
                "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n") &&
      make_leaf(l, "wrong", "wrong.example",
                "subjectAltName=DNS:wrong.example\nextendedKeyUsage=serverAuth\n") &&
      make_leaf(l, "client", "ringload-client", "extendedKeyUsage=clientAuth\n");
  if (!ok) l.skip = "openssl could not make the test certificates";
}

const Lab& lab() {
  static Lab l;
  static const bool made = (make_lab(l), true);
  (void)made;
  return l;
}

#define TLS_LAB_OR_SKIP()                               \
  const Lab& L = lab();                                 \
  if (!L.skip.empty()) {                                \
    WARN("skipping TLS tests: " << L.skip);             \
    return;                                             \
  }

int connect_to(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int listen_any(uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 8) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return -1;
  }
  port = ntohs(a.sin_port);
  return fd;
}

// nginx in the foreground, one process, stopped by its PID.
struct Nginx {
  pid_t pid = -1;
  uint16_t port = 0;
  bool start(const Lab& l, const std::string& server_extra, const std::string& cert = "server") {
    const int probe = listen_any(port);
    if (probe < 0) return false;
    ::close(probe);  // the port stays free long enough on an idle loopback
    const std::string conf = l.path("nginx-" + std::to_string(port) + ".conf");
    const std::string tmp = l.dir + "/tmp-" + std::to_string(port);
    write_file(conf,
               "daemon off; master_process off; worker_processes 1;\n"
               "pid " + l.path("nginx-" + std::to_string(port) + ".pid") + ";\n"
               "error_log " + l.path("error.log") + " warn;\n"
               "events { worker_connections 64; }\n"
               "http {\n access_log off;\n"
               " client_body_temp_path " + tmp + "-body; proxy_temp_path " + tmp + "-proxy;\n"
               " fastcgi_temp_path " + tmp + "-fcgi; uwsgi_temp_path " + tmp + "-uwsgi;\n"
               " scgi_temp_path " + tmp + "-scgi;\n"
               " ssl_session_cache shared:SSL:1m; ssl_session_tickets on;\n"
               " server {\n  listen 127.0.0.1:" + std::to_string(port) + " ssl;\n"
               "  ssl_certificate " + l.path(cert + ".pem") + ";\n"
               "  ssl_certificate_key " + l.path(cert + ".key") + ";\n" + server_extra +
               "  location / { return 200 \"ok\"; }\n }\n}\n");
    const std::string err = l.path("error.log");
    const char* argv[] = {l.nginx.c_str(), "-p", l.dir.c_str(), "-c", conf.c_str(), "-e", err.c_str(), nullptr};
    pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // no stray nginx if the test binary dies
      ::execv(l.nginx.c_str(), const_cast<char**>(argv));
      ::_exit(127);
    }
    for (int i = 0; i < 100; ++i) {  // up to 5 s for the listener
      if (const int fd = connect_to(port); fd >= 0) {
        ::close(fd);
        return true;
      }
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  ~Nginx() {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
};

std::unique_ptr<TlsContext> make_ctx(TlsOptions o, const std::string& host = "localhost") {
  auto c = TlsContext::create(o, host);
  INFO((c ? std::string("ok") : c.error()));
  REQUIRE(c);
  return std::move(*c);
}

// One client connection over a blocking socket, every wait bounded (5 s poll).
struct Client {
  int fd = -1;
  TlsSession s;
  std::string plain;
  bool early_release = false;  // end_feed() after every read, as a caller that stops early
  char buf[16384];
  explicit Client(uint16_t port) : fd(connect_to(port)) {}
  ~Client() {
    if (fd >= 0) ::close(fd);
  }
  bool flush() {
    for (int i = 0; i < 100000 && !s.output().empty(); ++i) {
      const auto o = s.output();
      const ssize_t n = ::send(fd, o.data(), o.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.consume_output(static_cast<size_t>(n));
    }
    return s.output().empty();
  }
  bool pull() {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return false;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0) return false;
    if (n == 0) s.feed_eof();
    else s.feed({buf, static_cast<size_t>(n)});
    return true;
  }
  TlsStatus handshake() {
    for (int i = 0; i < 200; ++i) {
      const TlsStatus st = s.handshake();
      flush();
      REQUIRE(s.end_feed());
      if (st == TlsStatus::want_write) continue;
      if (st != TlsStatus::want_read) return st;
      if (!pull()) return TlsStatus::error;
    }
    return TlsStatus::error;
  }
  bool send_all(std::string_view data, int* want_writes = nullptr) {
    size_t off = 0;
    for (int i = 0; i < 10000; ++i) {
      const WriteResult r = s.write({data.data() + off, data.size() - off});
      off += r.bytes;
      if (!flush()) return false;
      if (r.status == TlsStatus::done) return off == data.size();
      if (r.status != TlsStatus::want_write) return false;
      if (want_writes != nullptr) ++*want_writes;
    }
    return false;
  }
  // Reads until the peer closes; `chunk` bytes of plaintext per read() call.
  TlsStatus read_all(size_t chunk = 4096) {
    std::string out(chunk, '\0');
    for (int i = 0; i < 100000; ++i) {
      const ReadResult r = s.read({out.data(), out.size()});
      plain.append(out.data(), r.bytes);
      flush();
      if (early_release) REQUIRE(s.end_feed());
      if (r.status == TlsStatus::done || r.status == TlsStatus::want_write) continue;
      REQUIRE(s.end_feed());
      if (r.status != TlsStatus::want_read) return r.status;
      if (!pull()) return TlsStatus::error;
    }
    return TlsStatus::error;
  }
};

const std::string get_close = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

// Handshake + GET on a fresh connection; checks the 200 "ok" response.
void expect_get_ok(Client& c, TlsContext& ctx, WOLFSSL_SESSION* resume = nullptr) {
  REQUIRE(c.fd >= 0);
  REQUIRE(c.s.start(ctx, resume));
  const TlsStatus st = c.handshake();
  INFO(c.s.error_reason());
  REQUIRE(st == TlsStatus::done);
  REQUIRE(c.send_all(get_close));
  CHECK(c.read_all() == TlsStatus::closed);
  CHECK_THAT(c.plain, Catch::StartsWith("HTTP/1.1 200"));
  CHECK_THAT(c.plain, Catch::EndsWith("\r\n\r\nok"));
}

std::string protocols(const char* p) { return std::string("  ssl_protocols ") + p + ";\n"; }

}  // namespace

TEST_CASE("TlsContext::create reports file problems by name", "[tls]") {
  TLS_LAB_OR_SKIP();
  TlsOptions o;
  o.ca_file = L.path("missing.pem");
  auto c = TlsContext::create(o, "localhost");
  REQUIRE_FALSE(c);
  CHECK_THAT(c.error(), Catch::Contains("missing.pem"));
  CHECK_THAT(c.error(), Catch::Contains("No such file"));

  write_file(L.path("garbage.pem"), "this is not PEM\n");
  o.ca_file = L.path("garbage.pem");
  c = TlsContext::create(o, "localhost");
  REQUIRE_FALSE(c);
  CHECK_THAT(c.error(), Catch::Contains("garbage.pem"));

  o.ca_file = L.path("ca.pem");
  o.cert_file = L.path("client.pem");
  o.key_file = L.path("server.key");
  c = TlsContext::create(o, "localhost");
#ifdef RINGLOAD_WOLFSSL_SLOW
  // Debian's build (--enable-distro) accepts a mismatched ECDSA key here; the
  // handshake fails later instead. The AES-NI build checks it.
  if (c) WARN("system wolfSSL: mismatched client key not detected at load time");
#else
  REQUIRE_FALSE(c);
  CHECK_THAT(c.error(), Catch::Contains("does not match"));
#endif

  o.cert_file.clear();
  c = TlsContext::create(o, "localhost");
  REQUIRE_FALSE(c);
  CHECK_THAT(c.error(), Catch::Contains("--cert"));

  o.key_file.clear();
  o.sni_override = "example.org";
  c = TlsContext::create(o, "127.0.0.1");
  REQUIRE(c);
  CHECK((*c)->sni() == "example.org");
  CHECK(make_ctx({.verify = false}, "127.0.0.1")->sni().empty());  // RFC 6066 section 3
  CHECK(make_ctx({.verify = false}, "::1")->sni().empty());
}

TEST_CASE("TLS 1.2 and 1.3: handshake and GET through memory I/O", "[tls]") {
  TLS_LAB_OR_SKIP();
  for (const char* proto : {"TLSv1.2", "TLSv1.3"}) {
    DYNAMIC_SECTION(proto) {
      Nginx server;
      REQUIRE(server.start(L, protocols(proto)));
      auto ctx = make_ctx({.ca_file = L.path("ca.pem")});
      Client c(server.port);
      expect_get_ok(c, *ctx);
      CHECK(std::string(c.s.version()) == proto);
      CHECK_THAT(std::string(c.s.cipher()), Catch::StartsWith("TLS_"));
      CHECK_FALSE(c.s.resumed());
      CHECK(c.s.output().empty());

      // Tiny read buffers and a caller that hands its buffer back before want_read:
      // plaintext comes out in pieces and the unread ciphertext goes through the carry.
      Client slow(server.port);
      slow.early_release = true;
      REQUIRE(slow.s.start(*ctx, nullptr));
      REQUIRE(slow.handshake() == TlsStatus::done);
      REQUIRE(slow.send_all(get_close));
      CHECK(slow.read_all(7) == TlsStatus::closed);
      CHECK(slow.plain.size() == c.plain.size());  // same response; only Date may differ
      CHECK_THAT(slow.plain, Catch::StartsWith("HTTP/1.1 200") && Catch::EndsWith("\r\n\r\nok"));

      // An IP literal host: no SNI, the certificate's IP subjectAltName is checked.
      auto ip_ctx = make_ctx({.ca_file = L.path("ca.pem")}, "127.0.0.1");
      Client by_ip(server.port);
      expect_get_ok(by_ip, *ip_ctx);
    }
  }
}

TEST_CASE("TLS verification failures carry a reason", "[tls]") {
  TLS_LAB_OR_SKIP();
  Nginx server;
  REQUIRE(server.start(L, ""));

  SECTION("unknown CA") {
    auto ctx = make_ctx({});  // system CAs only
    Client c(server.port);
    REQUIRE(c.s.start(*ctx, nullptr));
    REQUIRE(c.handshake() == TlsStatus::error);
    CHECK(c.s.failure() == TlsFailure::unknown_ca);
    CHECK_THAT(std::string(c.s.error_reason()), Catch::Contains("unknown CA"));
    CHECK(c.s.handshake() == TlsStatus::error);  // stays failed
  }
  SECTION("--insecure accepts it") {
    auto ctx = make_ctx({.verify = false});
    Client c(server.port);
    expect_get_ok(c, *ctx);
  }
  SECTION("name mismatch") {
    auto ctx = make_ctx({.ca_file = L.path("ca.pem")}, "wrong.example");
    Client c(server.port);
    REQUIRE(c.s.start(*ctx, nullptr));
    REQUIRE(c.handshake() == TlsStatus::error);
    CHECK(c.s.failure() == TlsFailure::name_mismatch);
    CHECK_THAT(std::string(c.s.error_reason()), Catch::Contains("name mismatch"));
    CHECK_THAT(std::string(c.s.error_reason()), Catch::Contains("wrong.example"));
  }
  SECTION("name mismatch on the server's side of the story") {
    Nginx wrong;
    REQUIRE(wrong.start(L, "", "wrong"));
    auto ctx = make_ctx({.ca_file = L.path("ca.pem")});
    Client c(wrong.port);
    REQUIRE(c.s.start(*ctx, nullptr));
    REQUIRE(c.handshake() == TlsStatus::error);
    CHECK(c.s.failure() == TlsFailure::name_mismatch);
  }
}

TEST_CASE("TLS client certificates", "[tls]") {
  TLS_LAB_OR_SKIP();
  for (const char* proto : {"TLSv1.2", "TLSv1.3"}) {
    DYNAMIC_SECTION(proto) {
      Nginx server;
      REQUIRE(server.start(L, protocols(proto) + "  ssl_verify_client on;\n  ssl_client_certificate " +
                                  L.path("ca.pem") + ";\n"));
      auto with = make_ctx({.ca_file = L.path("ca.pem"),
                            .cert_file = L.path("client.pem"),
                            .key_file = L.path("client.key")});
      Client ok(server.port);
      expect_get_ok(ok, *with);

      // nginx completes the handshake and answers 400 itself when no certificate came.
      auto without = make_ctx({.ca_file = L.path("ca.pem")});
      Client no(server.port);
      REQUIRE(no.s.start(*without, nullptr));
      REQUIRE(no.handshake() == TlsStatus::done);
      REQUIRE(no.send_all(get_close));
      no.read_all();
      CHECK_THAT(no.plain, Catch::StartsWith("HTTP/1.1 400"));
      CHECK_THAT(no.plain, Catch::Contains("No required SSL certificate"));
    }
  }
}

TEST_CASE("TLS session resumption", "[tls]") {
  TLS_LAB_OR_SKIP();
  for (const char* proto : {"TLSv1.2", "TLSv1.3"}) {
    DYNAMIC_SECTION(proto) {
      Nginx server;
      REQUIRE(server.start(L, protocols(proto)));
      auto ctx = make_ctx({.ca_file = L.path("ca.pem")});
      Client first(server.port);
      expect_get_ok(first, *ctx);
      CHECK_FALSE(first.s.resumed());
      TlsSessionPtr saved = first.s.take_session();
      REQUIRE(saved);

      Client second(server.port);
      expect_get_ok(second, *ctx, saved.get());
      CHECK(second.s.resumed());
      CHECK(std::string(second.s.version()) == proto);

      // The same TlsSession object, reused for a third connection.
      ::close(second.fd);
      second.fd = connect_to(server.port);
      second.plain.clear();
      expect_get_ok(second, *ctx, saved.get());
      CHECK(second.s.resumed());

      auto no_resume = make_ctx({.ca_file = L.path("ca.pem"), .resume = false});
      Client third(server.port);
      expect_get_ok(third, *no_resume, saved.get());
      CHECK_FALSE(third.s.resumed());
    }
  }
}

TEST_CASE("TLS write larger than the output buffer", "[tls]") {
  TLS_LAB_OR_SKIP();
  Nginx server;
  REQUIRE(server.start(L, "  client_max_body_size 1m;\n"));
  auto ctx = make_ctx({.ca_file = L.path("ca.pem")});
  Client c(server.port);
  REQUIRE(c.s.start(*ctx, nullptr));
  REQUIRE(c.handshake() == TlsStatus::done);
  const std::string body(300 * 1024, 'x');
  const std::string head = "POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n";
  REQUIRE(c.s.write(head).status == TlsStatus::done);
  // Ciphertext handed out by output() stays in place while more is produced: an
  // io_uring send may still be reading it.
  const auto first = c.s.output();
  const std::string copy(first.begin(), first.end());
  const WriteResult more = c.s.write(std::string_view(body).substr(0, 40 * 1024));
  REQUIRE(more.status == TlsStatus::done);
  CHECK(c.s.output().data() == first.data());
  CHECK(std::string_view(first.data(), copy.size()) == copy);
  CHECK(c.s.output_pending() > copy.size() + 40 * 1024);
  REQUIRE(c.flush());
  CHECK(c.s.output_pending() == 0);
  int want_writes = 0;
  REQUIRE(c.send_all(std::string_view(body).substr(40 * 1024), &want_writes));
  CHECK(want_writes >= 2);  // 260 KiB through an 80 KiB output buffer
  CHECK(c.read_all() == TlsStatus::closed);
  CHECK_THAT(c.plain, Catch::StartsWith("HTTP/1.1 200"));
}

namespace {
// A fake server: reads the ClientHello, answers `reply`, closes.
void run_against_fake(const std::string& reply, std::string& reason, TlsFailure& failure) {
  uint16_t port = 0;
  const int lfd = listen_any(port);
  REQUIRE(lfd >= 0);
  std::thread server([&] {
    pollfd p{lfd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return;
    const int fd = ::accept(lfd, nullptr, nullptr);
    char hello[4096];
    pollfd q{fd, POLLIN, 0};
    if (::poll(&q, 1, 5000) > 0) (void)::recv(fd, hello, sizeof hello, 0);
    if (!reply.empty()) (void)::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
    ::close(fd);
  });
  auto ctx = make_ctx({.verify = false});
  TlsStatus st;
  {
    Client c(port);
    REQUIRE(c.s.start(*ctx, nullptr));
    st = c.handshake();
    reason = c.s.error_reason();
    failure = c.s.failure();
  }
  server.join();
  ::close(lfd);
  CHECK(st == TlsStatus::error);
}
}  // namespace

TEST_CASE("TLS against servers that do not speak TLS", "[tls]") {
  std::string reason;
  TlsFailure failure = TlsFailure::none;
  SECTION("HTTP instead of a ServerHello") {
    run_against_fake("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", reason, failure);
    CHECK(failure == TlsFailure::malformed);
  }
  SECTION("random bytes") {
    std::string junk(3000, '\0');
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 7919) ^ (i >> 3));
    run_against_fake(junk, reason, failure);
    CHECK(failure != TlsFailure::none);
  }
  SECTION("a fatal protocol_version alert") {
    run_against_fake(std::string("\x15\x03\x03\x00\x02\x02\x46", 7), reason, failure);
    CHECK(failure == TlsFailure::protocol_version);
    CHECK_THAT(reason, Catch::Contains("protocol_version"));
  }
  SECTION("EOF at once") {
    run_against_fake("", reason, failure);
    CHECK(failure == TlsFailure::peer_closed);
  }
  INFO(reason);
  CHECK_FALSE(reason.empty());
}

TEST_CASE("TLS error table: kind and message per wolfSSL code, before and after the handshake", "[tls]") {
  struct Case {
    int err;
    bool handshake_done;
    int alert;
    TlsFailure kind;
    const char* text;  // the message contains it
    bool wolf = false;  // made from wolfSSL's text: ends with "(wolfSSL error N)"
  };
  const std::vector<Case> cases = {
      {ASN_NO_SIGNER_E, false, -1, TlsFailure::unknown_ca, "unknown CA (issuer not trusted"},
      {ASN_SELF_SIGNED_E, false, -1, TlsFailure::unknown_ca, "self-signed certificate"},
      {DOMAIN_NAME_MISMATCH, false, -1, TlsFailure::name_mismatch, "not valid for 'host.example'"},
      {IPADDR_MISMATCH, false, -1, TlsFailure::name_mismatch, "not valid for 'host.example'"},
      {ASN_AFTER_DATE_E, false, -1, TlsFailure::cert_expired, "certificate expired"},
      {ASN_BEFORE_DATE_E, false, -1, TlsFailure::cert_expired, "not yet valid"},
      {ASN_SIG_CONFIRM_E, false, -1, TlsFailure::bad_certificate, "certificate verify failed: ", true},
      {VERIFY_CERT_ERROR, false, -1, TlsFailure::bad_certificate, "certificate verify failed: ", true},
      {ASN_SIG_CONFIRM_E, true, -1, TlsFailure::malformed, "TLS protocol error: ", true},
      {VERSION_ERROR, false, -1, TlsFailure::protocol_version, "does not speak TLS 1.2 or 1.3"},
      // A peer that finished the handshake and then sent cleartext: not a version problem.
      {VERSION_ERROR, true, -1, TlsFailure::malformed, "TLS protocol error: ", true},
      {MATCH_SUITE_ERROR, false, -1, TlsFailure::protocol_version, "no cipher suite in common"},
      {FATAL_ERROR, false, 40, TlsFailure::alert, "fatal alert: handshake_failure (40)"},
      {FATAL_ERROR, false, 70, TlsFailure::protocol_version, "fatal alert: protocol_version (70)"},
      {FATAL_ERROR, true, 20, TlsFailure::alert, "fatal alert: bad_record_mac (20)"},
      {SOCKET_ERROR_E, true, -1, TlsFailure::peer_closed, "connection closed by the server"},
      {LENGTH_ERROR, false, -1, TlsFailure::malformed, "does not speak TLS here (malformed record): ", true},
      {PARSE_ERROR, false, -1, TlsFailure::malformed, "does not speak TLS here (malformed record): ", true},
      {LENGTH_ERROR, true, -1, TlsFailure::malformed, "TLS protocol error: ", true},
      {MEMORY_E, true, -1, TlsFailure::internal, "out of memory in wolfSSL"},
      {DECRYPT_ERROR, true, -1, TlsFailure::malformed, "TLS protocol error: ", true},
  };
  for (const Case& c : cases) {
    INFO("wolfSSL error " << c.err << (c.handshake_done ? " after" : " during") << " the handshake");
    char buf[256];
    const TlsErrorReport r = classify_tls_error(c.err, {c.handshake_done, "host.example", c.alert}, buf);
    CHECK(r.kind == c.kind);
    const std::string text = r.text;
    CHECK_THAT(text, Catch::Contains(c.text));
    if (c.wolf) CHECK_THAT(text, Catch::EndsWith("(wolfSSL error " + std::to_string(c.err) + ")"));
  }
}
