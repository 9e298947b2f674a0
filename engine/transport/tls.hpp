// TLS 1.2 / 1.3 client over wolfSSL, with the ciphertext moved by the caller: wolfSSL never
// touches a socket. The io_uring shard receives ciphertext into its buffers and lends it
// with feed(); it sends what output() holds. Nothing here knows about rings, sockets or
// clocks, and nothing throws.
//
// Including this header does not pull in wolfSSL (the types below are forward-declared),
// so callers need no <wolfssl/options.h> ordering; tls.cpp includes it first.
//
// Call order for one connection slot:
//
//   TlsSession s;                      // once per slot; reused across reconnects
//   s.start(ctx, cached_session);      // after the TCP connect; false: error_reason()
//   loop:
//     st = s.handshake();              // ClientHello lands in output()
//     send output(); consume_output(n) as sends complete
//     st == want_read:  on recv: feed(bytes); st = handshake(); ...; end_feed()
//     st == done:       the connection is up (version(), cipher(), resumed())
//     st == error:      error_reason() / failure(); close the socket; reset() or start()
//   write(request)  -> ciphertext in output(); send it
//   on recv: feed(bytes); read(out) until want_read/closed/error; end_feed(); buffer back
//   after the first read that returned bytes: take_session() once, for the next connects
//   on EOF (recv returned 0): feed_eof(); read() -> closed
//
// Output must be sent after EVERY call that can produce some: start/handshake, write,
// read (alerts, TLS 1.3 KeyUpdate replies) and close_notify(). output() grows only by
// appending; the bytes stay put until consume_output().
#pragma once
#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// wolfSSL's public types are typedefs of these structs (wolfssl/ssl.h).
struct WOLFSSL;
struct WOLFSSL_CTX;
struct WOLFSSL_SESSION;

namespace ringload {

// What the CLI's --cacert / --cert / --key / --insecure / SNI override turn into.
struct TlsOptions {
  bool verify = true;        // verify the server's chain and name; false: --insecure
  std::string ca_file;       // PEM; trusted in addition to the system CA store
  std::string cert_file;     // PEM client certificate (chain); empty: no client auth
  std::string key_file;      // PEM private key; empty with cert_file: the key is in cert_file
  std::string sni_override;  // name sent as SNI and verified; empty: the URL host
  bool resume = true;        // offer session resumption (tickets, or TLS 1.2 session IDs)
  bool offer_h2 = false;     // ALPN "h2,http/1.1" instead of "http/1.1" (--http2)
};

namespace tls_limits {
// One TLS record carries at most 2^14 bytes of plaintext (RFC 8446 section 5.1); with
// header, AEAD tag and (TLS 1.2, CBC) MAC and padding it stays under this.
constexpr size_t max_record = 16 * 1024 + 2048;
// output() holds at most this many bytes: write() stops with want_write beyond it.
constexpr size_t max_output = 64 * 1024 + max_record;
// Ciphertext kept by end_feed() when the caller stopped reading before want_read.
constexpr size_t max_carry = 128 * 1024;
}  // namespace tls_limits

// Status of a driving call. What to do next:
//   done        the step finished (handshake up; write fully encrypted; read: see ReadResult)
//   want_read   every byte fed so far is consumed: send output(), wait for more ciphertext
//   want_write  output() is full: send it, consume_output(), then repeat the call
//   closed      the peer closed (close_notify, or EOF given by feed_eof())
//   error       fatal for the connection: error_reason(), failure(); close the socket.
//               output() may hold an alert telling the peer why; sending it is optional.
//               Every later call returns error too, until start() or reset().
enum class TlsStatus : uint8_t { done, want_read, want_write, closed, error };

// Why a connection failed, for typed error counters.
enum class TlsFailure : uint8_t {
  none,
  unknown_ca,        // chain does not lead to a trusted CA (add --cacert, or --insecure)
  name_mismatch,     // certificate not valid for the host (or SNI override)
  cert_expired,      // outside its validity period
  bad_certificate,   // other verification failure (signature, format)
  protocol_version,  // no TLS version in common (we offer 1.2 and 1.3)
  alert,             // the server sent a fatal alert (reason names it)
  peer_closed,       // EOF during the handshake
  malformed,         // not TLS, or a broken record
  internal,          // out of memory, overflowed buffers, misuse
};

// Where a connection stood when wolfSSL reported an error.
struct TlsErrorContext {
  bool handshake_done = false;   // the handshake had finished (wolfSSL_is_init_finished)
  const char* verify_name = "";  // the name the certificate was checked against
  int last_alert = -1;           // the last alert received (its code), for FATAL_ERROR
};

struct TlsErrorReport {
  TlsFailure kind;
  const char* text;  // static, or the caller's buffer
};

// How TlsSession reports wolfSSL error `err` (a negative code from wolfSSL_get_error()
// that is neither WANT_* nor a close): a table of codes, some of which apply only during
// the handshake. A message with numbers or names is written into `buf` (256 bytes
// suffice; longer ones are cut). Public for the tests.
TlsErrorReport classify_tls_error(int err, const TlsErrorContext& at, std::span<char> buf) noexcept;

// One per origin. create() runs before the shard threads start; afterwards the context is
// shared read-only by all of them (wolfSSL_new on a shared CTX is thread-safe).
class TlsContext {
 public:
  // Loads the system CA store (when verifying), ca_file, and the client certificate/key.
  // `host` is the URL host: SNI and the verified name unless opts.sni_override is set.
  // Errors name the file and the reason: "cannot load CA file 'x': ...".
  static std::expected<std::unique_ptr<TlsContext>, std::string> create(
      const TlsOptions& opts, std::string_view host) noexcept;
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  const TlsOptions& options() const noexcept { return opts_; }
  // Name sent as SNI; empty for IP literals (RFC 6066 section 3: "Literal IPv4 and IPv6
  // addresses are not permitted in HostName").
  const std::string& sni() const noexcept { return sni_; }
  // Name checked against the certificate (subjectAltName DNS or IP entries).
  const std::string& verify_name() const noexcept { return verify_name_; }
  WOLFSSL_CTX* native() const noexcept { return ctx_; }

 private:
  TlsContext() = default;
  WOLFSSL_CTX* ctx_ = nullptr;
  TlsOptions opts_;
  std::string sni_;
  std::string verify_name_;
};

// A session for resumption, owned. take_session() hands one out; start() only reads it.
struct TlsSessionFree {
  void operator()(WOLFSSL_SESSION* s) const noexcept;
};
using TlsSessionPtr = std::unique_ptr<WOLFSSL_SESSION, TlsSessionFree>;

struct ReadResult {
  // done: `bytes` > 0 were written and more plaintext may be ready: call read() again.
  // want_read: `bytes` (maybe 0) were written; nothing more until feed().
  // want_write: send output() (an alert or KeyUpdate reply), then call read() again.
  // closed / error: `bytes` before the end are valid.
  TlsStatus status;
  size_t bytes;
};

struct WriteResult {
  // done: all plaintext is encrypted into output() (bytes == plaintext.size()).
  // want_write: the first `bytes` are encrypted; send output(), consume_output(), then call
  //   write(plaintext.subspan(bytes)) — the same remaining bytes, at the same address.
  // error: see error_reason().
  TlsStatus status;
  size_t bytes;
};

// One per connection slot. Not copyable; movable (the move re-points wolfSSL's I/O
// context at the new object), but not while one of its calls runs. Buffers keep their
// capacity across reconnects, so after warm-up only wolfSSL itself allocates.
// Single-threaded: one shard drives a session.
class TlsSession {
 public:
  TlsSession() noexcept = default;
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;
  TlsSession(TlsSession&& other) noexcept;
  TlsSession& operator=(TlsSession&&) = delete;

  // Prepares a client handshake: SNI, ALPN "http/1.1", name verification, and resumption
  // from `resume` (may be null; ignored when options().resume is false; an expired or
  // foreign session just means a full handshake). Ends any previous connection first
  // (reset()). The context must outlive the session's use of it. false: error_reason().
  bool start(TlsContext& ctx, WOLFSSL_SESSION* resume) noexcept;
  // Drops the connection state (no close_notify) and all buffered bytes; keeps capacity.
  void reset() noexcept;

  // Lends `ciphertext` to the following driving calls; it must stay valid and unchanged
  // until end_feed(). feed() without end_feed() first ends the previous lend the same way
  // (so that earlier buffer must still be valid at that point).
  void feed(std::span<const char> ciphertext) noexcept;
  // Ends the lend: copies any bytes wolfSSL has not taken into the session (at most
  // tls_limits::max_carry), so the caller may reuse its buffer. Cheap after want_read,
  // which means the lent bytes are all consumed. false: overflow, the session is in error.
  bool end_feed() noexcept;
  // The transport reached EOF: once the fed bytes are consumed, reads see the close.
  void feed_eof() noexcept;

  TlsStatus handshake() noexcept;
  // After the handshake: the server chose "h2" by ALPN.
  bool alpn_h2() const noexcept;
  ReadResult read(std::span<char> out) noexcept;
  WriteResult write(std::span<const char> plaintext) noexcept;
  // Queues a close_notify alert in output() (once). Optional before closing the socket.
  void close_notify() noexcept;

  // Ciphertext to send next, oldest first. These bytes stay valid and in place until
  // consume_output() covers them, whatever is called meanwhile (later output goes after
  // them without reallocating, or into a second buffer), so an in-flight send may point
  // into them. After consume_output() drains them, output() may return more (the second
  // buffer): loop until empty. start()/reset() drop it: no send may be in flight then.
  // One send at a time: output() can grow behind bytes already handed to a send, so
  // hand out only what follows them, or wait for the completion and consume_output().
  std::span<const char> output() const noexcept {
    return {out_[front_].data() + out_head_, out_[front_].size() - out_head_};
  }
  // The first n bytes of output() were sent.
  void consume_output(size_t n) noexcept;
  // All ciphertext not yet consumed, over both buffers.
  size_t output_pending() const noexcept {
    return out_[front_].size() - out_head_ + out_[front_ ^ 1].size();
  }

  // Meaningful once handshake() returned done ("" / false before).
  bool handshake_done() const noexcept;
  bool resumed() const noexcept;
  const char* version() const noexcept;  // "TLSv1.2", "TLSv1.3"
  const char* cipher() const noexcept;   // IANA name, e.g. "TLS_AES_128_GCM_SHA256"
  // A copy of the session for resumption, or null when it holds nothing resumable yet
  // (TLS 1.3 tickets arrive after the handshake: call after the first read with bytes).
  TlsSessionPtr take_session() noexcept;

  const char* error_reason() const noexcept { return reason_; }
  TlsFailure failure() const noexcept { return failure_; }

 private:
  static int on_recv(WOLFSSL* ssl, char* buf, int sz, void* self) noexcept;
  static int on_send(WOLFSSL* ssl, char* buf, int sz, void* self) noexcept;
  TlsStatus fail(int ret) noexcept;  // classifies wolfSSL's error after a failed call
  void set_error(TlsFailure f, const char* text) noexcept;
  void rebind() noexcept;

  WOLFSSL* ssl_ = nullptr;
  const TlsContext* ctx_ = nullptr;
  std::span<const char> lent_;   // bytes lent by feed(), not yet consumed
  bool eof_ = false;
  bool in_error_ = false;
  std::vector<char> carry_;      // unconsumed ciphertext kept by end_feed()
  size_t carry_head_ = 0;
  std::vector<char> out_[2];     // ciphertext to send: front (output()) and overflow
  uint8_t front_ = 0;
  size_t out_head_ = 0;          // bytes of the front buffer already sent
  size_t pending_chunk_ = 0;     // a record wolfSSL_write must finish (after WANT_WRITE)
  TlsFailure failure_ = TlsFailure::none;
  const char* reason_ = "";
  char reason_buf_[256] = {};
};

}  // namespace ringload
