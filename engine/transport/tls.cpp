// wolfSSL must see its own feature macros before any of its headers, or struct layouts
// differ from the library's (pkg-config gives no -D flags).
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include "engine/transport/tls.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

namespace ringload {
namespace {

bool is_ip_literal(const std::string& host) noexcept {
  unsigned char addr[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), addr) == 1 ||
         inet_pton(AF_INET6, host.c_str(), addr) == 1;
}

std::string wolf_text(int code) {
  char buf[WOLFSSL_MAX_ERROR_SZ] = {};
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(code < 0 ? -code : code), buf,
                             sizeof buf);
  return buf;
}

// Why a PEM file could not be loaded: the OS's reason when it cannot be read, else what
// wolfSSL said about its contents.
std::string load_problem(const std::string& path, int rc) {
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    std::fclose(f);
  } else {
    return std::strerror(errno);
  }
  if (rc == ASN_NO_PEM_HEADER || rc == WOLFSSL_BAD_FILETYPE) return "no PEM data in it";
  if (rc < 0) return wolf_text(rc);
  const unsigned long queued = wolfSSL_ERR_get_error();
  return queued != 0 ? wolf_text(static_cast<int>(queued)) : "not a usable PEM file";
}

// TLS alert descriptions (RFC 8446 section 6, RFC 5246 section 7.2).
const char* alert_name(int code) noexcept {
  struct Alert {
    int code;
    const char* name;
  };
  static constexpr Alert alerts[] = {
      {0, "close_notify"}, {10, "unexpected_message"}, {20, "bad_record_mac"},
      {22, "record_overflow"}, {40, "handshake_failure"}, {42, "bad_certificate"},
      {43, "unsupported_certificate"}, {44, "certificate_revoked"},
      {45, "certificate_expired"}, {46, "certificate_unknown"}, {47, "illegal_parameter"},
      {48, "unknown_ca"}, {49, "access_denied"}, {50, "decode_error"}, {51, "decrypt_error"},
      {70, "protocol_version"}, {71, "insufficient_security"}, {80, "internal_error"},
      {86, "inappropriate_fallback"}, {90, "user_canceled"}, {109, "missing_extension"},
      {110, "unsupported_extension"}, {112, "unrecognized_name"},
      {116, "certificate_required"}, {120, "no_application_protocol"}};
  for (const Alert& a : alerts)
    if (a.code == code) return a.name;
  return "unknown alert";
}

int clamp_int(size_t n) noexcept { return static_cast<int>(std::min<size_t>(n, INT_MAX)); }

// How a rule's message is made.
enum class Text : uint8_t {
  fixed,  // `text` as is
  name,   // "`text` '<the verified name>'"
  alert,  // "`text`: <alert name> (<code>)"; a protocol_version alert (70) is that failure
  wolf,   // "`text`: <wolfSSL's text> (wolfSSL error N)"
};

// Rules apply always, or only while the handshake runs: after it, the same code means a
// broken peer, not a certificate or version problem.
enum class When : uint8_t { always, handshake };

struct ErrorRule {
  int code;  // wolfSSL error code (negative)
  TlsFailure kind;
  Text how;
  const char* text;
  When when = When::always;
  int last = 0;  // non-zero: the rule covers the codes from `code` down to `last`
  bool matches(int err) const noexcept { return last == 0 ? err == code : err <= code && err >= last; }
};

// wolfSSL error code -> failure and message. The first rule that matches applies.
constexpr ErrorRule error_rules[] = {
    {ASN_NO_SIGNER_E, TlsFailure::unknown_ca, Text::fixed,
     "certificate verify failed: unknown CA (issuer not trusted; --cacert FILE adds one, "
     "--insecure skips verification)"},
    {ASN_SELF_SIGNED_E, TlsFailure::unknown_ca, Text::fixed,
     "certificate verify failed: self-signed certificate, unknown CA"},
    {DOMAIN_NAME_MISMATCH, TlsFailure::name_mismatch, Text::name,
     "certificate name mismatch: the certificate is not valid for"},
    {IPADDR_MISMATCH, TlsFailure::name_mismatch, Text::name,
     "certificate name mismatch: the certificate is not valid for"},
    {ASN_AFTER_DATE_E, TlsFailure::cert_expired, Text::fixed,
     "certificate verify failed: certificate expired"},
    {ASN_BEFORE_DATE_E, TlsFailure::cert_expired, Text::fixed,
     "certificate verify failed: certificate not yet valid"},
    // Other certificate (ASN.1, signature) errors during the handshake.
    {ASN_PARSE_E, TlsFailure::bad_certificate, Text::wolf, "certificate verify failed",
     When::handshake, -299},
    {VERIFY_CERT_ERROR, TlsFailure::bad_certificate, Text::wolf, "certificate verify failed",
     When::handshake},
    {NO_PEER_CERT, TlsFailure::bad_certificate, Text::wolf, "certificate verify failed",
     When::handshake},
    // A record version other than the one negotiated: during the handshake, no version in
    // common; after it, a peer sending garbage (cleartext, say) in the record header.
    {VERSION_ERROR, TlsFailure::protocol_version, Text::fixed,
     "protocol version: the server does not speak TLS 1.2 or 1.3", When::handshake},
    {MATCH_SUITE_ERROR, TlsFailure::protocol_version, Text::fixed,
     "no cipher suite in common with the server"},
    {UNSUPPORTED_SUITE, TlsFailure::protocol_version, Text::fixed,
     "no cipher suite in common with the server"},
    {FATAL_ERROR, TlsFailure::alert, Text::alert, "the server sent a fatal alert"},
    {SOCKET_ERROR_E, TlsFailure::peer_closed, Text::fixed, "connection closed by the server"},
    {LENGTH_ERROR, TlsFailure::malformed, Text::wolf,
     "the server does not speak TLS here (malformed record)", When::handshake},
    {UNKNOWN_RECORD_TYPE, TlsFailure::malformed, Text::wolf,
     "the server does not speak TLS here (malformed record)", When::handshake},
    {PARSE_ERROR, TlsFailure::malformed, Text::wolf,
     "the server does not speak TLS here (malformed record)", When::handshake},
    {BUFFER_ERROR, TlsFailure::malformed, Text::wolf,
     "the server does not speak TLS here (malformed record)", When::handshake},
    {MEMORY_E, TlsFailure::internal, Text::fixed, "out of memory in wolfSSL"},
    {MEMORY_ERROR, TlsFailure::internal, Text::fixed, "out of memory in wolfSSL"},
};
// Everything else: the peer does not speak TLS properly.
constexpr ErrorRule other_error{0, TlsFailure::malformed, Text::wolf, "TLS protocol error"};

}  // namespace

TlsErrorReport classify_tls_error(int err, const TlsErrorContext& at, std::span<char> buf) noexcept {
  const ErrorRule* rule = &other_error;
  for (const ErrorRule& r : error_rules) {
    if (r.matches(err) && (r.when == When::always || !at.handshake_done)) {
      rule = &r;
      break;
    }
  }
  switch (rule->how) {
    case Text::fixed:
      return {rule->kind, rule->text};
    case Text::name:
      std::snprintf(buf.data(), buf.size(), "%s '%s'", rule->text, at.verify_name);
      return {rule->kind, buf.data()};
    case Text::alert:
      std::snprintf(buf.data(), buf.size(), "%s: %s (%d)", rule->text, alert_name(at.last_alert),
                    at.last_alert);
      return {at.last_alert == 70 ? TlsFailure::protocol_version : rule->kind, buf.data()};
    case Text::wolf:
      break;
  }
  char text[WOLFSSL_MAX_ERROR_SZ] = {};
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(-err), text, sizeof text);
  std::snprintf(buf.data(), buf.size(), "%s: %s (wolfSSL error %d)", rule->text, text, err);
  return {rule->kind, buf.data()};
}

std::expected<std::unique_ptr<TlsContext>, std::string> TlsContext::create(
    const TlsOptions& opts, std::string_view host) noexcept {
  // wolfSSL_Init is not thread-safe and must precede every other call: a function-local
  // static runs it once, and create() runs before the shards start.
  static const int init_rc = wolfSSL_Init();
  if (init_rc != WOLFSSL_SUCCESS) return std::unexpected("wolfSSL_Init failed");

  std::unique_ptr<TlsContext> c(new TlsContext());
  c->opts_ = opts;
  c->verify_name_ = opts.sni_override.empty() ? std::string(host) : opts.sni_override;
  c->sni_ = is_ip_literal(c->verify_name_) ? std::string() : c->verify_name_;

  // The flexible client method negotiates the highest version both sides have.
  c->ctx_ = wolfSSL_CTX_new(wolfSSLv23_client_method());
  if (c->ctx_ == nullptr) return std::unexpected("wolfSSL_CTX_new failed (out of memory)");
  WOLFSSL_CTX* ctx = c->ctx_;
  if (wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS)
    return std::unexpected("cannot restrict wolfSSL to TLS 1.2 and later");
  // X25519 first, then P-256 and P-384: TLS 1.3 sends a key share for the first, and
  // wolfSSL's default (P-256) costs the server ~70 us more per handshake (bench/README.md).
  int groups[] = {WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_SECP384R1};
  if (wolfSSL_CTX_set_groups(ctx, groups, 3) != WOLFSSL_SUCCESS)
    return std::unexpected("cannot set the key exchange groups (X25519, P-256, P-384)");

  if (opts.verify) {
    const bool system_ok = wolfSSL_CTX_load_system_CA_certs(ctx) == WOLFSSL_SUCCESS;
    if (!system_ok && opts.ca_file.empty())
      return std::unexpected(
          "no system CA certificates could be loaded (/etc/ssl/certs): pass --cacert FILE "
          "or --insecure");
    wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, nullptr);
  } else {
    wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, nullptr);
  }
  // The system store skips certificates it cannot use (expired CAs) and leaves their
  // errors queued: clear them, or a later load failure would be explained by one.
  wolfSSL_ERR_clear_error();
  if (!opts.ca_file.empty()) {
    const int rc = wolfSSL_CTX_load_verify_locations(ctx, opts.ca_file.c_str(), nullptr);
    if (rc != WOLFSSL_SUCCESS)
      return std::unexpected("cannot load CA file '" + opts.ca_file +
                             "': " + load_problem(opts.ca_file, rc));
  }

  if (!opts.cert_file.empty()) {
    int rc = wolfSSL_CTX_use_certificate_chain_file(ctx, opts.cert_file.c_str());
    if (rc != WOLFSSL_SUCCESS)
      return std::unexpected("cannot load client certificate '" + opts.cert_file +
                             "': " + load_problem(opts.cert_file, rc));
    const std::string& key = opts.key_file.empty() ? opts.cert_file : opts.key_file;
    rc = wolfSSL_CTX_use_PrivateKey_file(ctx, key.c_str(), WOLFSSL_FILETYPE_PEM);
    if (rc != WOLFSSL_SUCCESS)
      return std::unexpected("cannot load client key '" + key + "': " + load_problem(key, rc));
    if (wolfSSL_CTX_check_private_key(ctx) != WOLFSSL_SUCCESS)
      return std::unexpected("client key '" + key + "' does not match certificate '" +
                             opts.cert_file + "'");
  } else if (!opts.key_file.empty()) {
    return std::unexpected("a client key ('" + opts.key_file + "') needs a certificate (--cert)");
  }

  if (opts.resume) {
    // TLS 1.2 tickets (RFC 5077); TLS 1.3 resumption by ticket needs nothing more.
    if (wolfSSL_CTX_UseSessionTicket(ctx) != WOLFSSL_SUCCESS)
      return std::unexpected("cannot enable session tickets");
  }
  // Sessions travel through take_session()/start(): wolfSSL's process-wide cache would
  // only add a lock shared by all shards to every handshake.
  wolfSSL_CTX_set_session_cache_mode(ctx, WOLFSSL_SESS_CACHE_NO_INTERNAL);
  return c;
}

TlsContext::~TlsContext() {
  if (ctx_ != nullptr) wolfSSL_CTX_free(ctx_);
}

void TlsSessionFree::operator()(WOLFSSL_SESSION* s) const noexcept { wolfSSL_SESSION_free(s); }

TlsSession::~TlsSession() { reset(); }

TlsSession::TlsSession(TlsSession&& o) noexcept
    : ssl_(o.ssl_),
      ctx_(o.ctx_),
      lent_(o.lent_),
      eof_(o.eof_),
      in_error_(o.in_error_),
      carry_(std::move(o.carry_)),
      carry_head_(o.carry_head_),
      out_{std::move(o.out_[0]), std::move(o.out_[1])},
      front_(o.front_),
      out_head_(o.out_head_),
      pending_chunk_(o.pending_chunk_),
      failure_(o.failure_),
      reason_(o.reason_) {
  std::memcpy(reason_buf_, o.reason_buf_, sizeof reason_buf_);
  if (o.reason_ == o.reason_buf_) reason_ = reason_buf_;
  o.ssl_ = nullptr;
  o.reset();
  rebind();
}

void TlsSession::rebind() noexcept {
  if (ssl_ == nullptr) return;
  wolfSSL_SSLSetIORecv(ssl_, &TlsSession::on_recv);
  wolfSSL_SSLSetIOSend(ssl_, &TlsSession::on_send);
  wolfSSL_SetIOReadCtx(ssl_, this);
  wolfSSL_SetIOWriteCtx(ssl_, this);
}

void TlsSession::reset() noexcept {
  if (ssl_ != nullptr) wolfSSL_free(ssl_);
  ssl_ = nullptr;
  ctx_ = nullptr;
  lent_ = {};
  eof_ = false;
  in_error_ = false;
  carry_.clear();
  carry_head_ = 0;
  out_[0].clear();
  out_[1].clear();
  front_ = 0;
  out_head_ = 0;
  pending_chunk_ = 0;
  failure_ = TlsFailure::none;
  reason_ = "";
}

bool TlsSession::start(TlsContext& ctx, WOLFSSL_SESSION* resume) noexcept {
  // A fresh WOLFSSL per connection: wolfSSL_clear() in 5.5.4 keeps the previous
  // connection's error code, negotiated version and buffered records, so a cleared
  // object would offer only the old version or fail at once.
  reset();
  ctx_ = &ctx;
  ssl_ = wolfSSL_new(ctx.native());
  if (ssl_ == nullptr) {
    set_error(TlsFailure::internal, "wolfSSL_new failed (out of memory)");
    return false;
  }
  rebind();
  const std::string& sni = ctx.sni();
  if (!sni.empty() && wolfSSL_UseSNI(ssl_, WOLFSSL_SNI_HOST_NAME, sni.data(),
                                     static_cast<unsigned short>(sni.size())) !=
                          WOLFSSL_SUCCESS) {
    set_error(TlsFailure::internal, "cannot set SNI");
    return false;
  }
  char alpn[] = "http/1.1";  // wolfSSL_UseALPN takes a mutable list; it copies it
  if (wolfSSL_UseALPN(ssl_, alpn, sizeof alpn - 1, WOLFSSL_ALPN_CONTINUE_ON_MISMATCH) !=
      WOLFSSL_SUCCESS) {
    set_error(TlsFailure::internal, "cannot set ALPN");
    return false;
  }
  if (ctx.options().verify &&
      wolfSSL_check_domain_name(ssl_, ctx.verify_name().c_str()) != WOLFSSL_SUCCESS) {
    set_error(TlsFailure::internal, "cannot set the name to verify");
    return false;
  }
  // A rejected session (expired, other version) only costs a full handshake.
  if (resume != nullptr && ctx.options().resume) (void)wolfSSL_set_session(ssl_, resume);
  return true;
}

void TlsSession::feed(std::span<const char> ciphertext) noexcept {
  (void)end_feed();  // a previous lend not ended explicitly ends here
  lent_ = ciphertext;
}

bool TlsSession::end_feed() noexcept {
  if (lent_.empty()) return true;
  const size_t kept = carry_.size() - carry_head_;
  if (kept + lent_.size() > tls_limits::max_carry) {
    lent_ = {};
    set_error(TlsFailure::internal, "unconsumed ciphertext over 128 KiB (read() not drained)");
    return false;
  }
  if (carry_head_ > 0) {
    carry_.erase(carry_.begin(), carry_.begin() + static_cast<ptrdiff_t>(carry_head_));
    carry_head_ = 0;
  }
  carry_.insert(carry_.end(), lent_.begin(), lent_.end());
  lent_ = {};
  return true;
}

void TlsSession::feed_eof() noexcept { eof_ = true; }

int TlsSession::on_recv(WOLFSSL*, char* buf, int sz, void* self) noexcept {
  auto* s = static_cast<TlsSession*>(self);
  size_t want = static_cast<size_t>(sz);
  size_t got = 0;
  // Older bytes first: the carry holds what preceded the current lend.
  if (const size_t kept = s->carry_.size() - s->carry_head_; kept > 0) {
    const size_t n = std::min(want, kept);
    std::memcpy(buf, s->carry_.data() + s->carry_head_, n);
    s->carry_head_ += n;
    got = n;
    if (s->carry_head_ == s->carry_.size()) {
      s->carry_.clear();
      s->carry_head_ = 0;
    }
  }
  if (got < want && !s->lent_.empty()) {
    const size_t n = std::min(want - got, s->lent_.size());
    std::memcpy(buf + got, s->lent_.data(), n);
    s->lent_ = s->lent_.subspan(n);
    got += n;
  }
  if (got > 0) return static_cast<int>(got);
  return s->eof_ ? WOLFSSL_CBIO_ERR_CONN_CLOSE : WOLFSSL_CBIO_ERR_WANT_READ;
}

int TlsSession::on_send(WOLFSSL*, char* buf, int sz, void* self) noexcept {
  auto* s = static_cast<TlsSession*>(self);
  const size_t pending = s->output_pending();
  if (pending >= tls_limits::max_output) return WOLFSSL_CBIO_ERR_WANT_WRITE;
  // A partial acceptance is fine: wolfSSL keeps the rest and offers it again.
  const size_t n = std::min(static_cast<size_t>(sz), tls_limits::max_output - pending);
  // Bytes of the front buffer may be under an in-flight send: they must not move. Append
  // to it only when it is empty or has room (no reallocation), and nothing waits behind
  // it; otherwise to the second buffer, which becomes the front once the first drains.
  std::vector<char>& front = s->out_[s->front_];
  std::vector<char>& back = s->out_[s->front_ ^ 1];
  std::vector<char>& into =
      back.empty() && (front.empty() || front.size() + n <= front.capacity()) ? front : back;
  into.insert(into.end(), buf, buf + n);
  return static_cast<int>(n);
}

void TlsSession::consume_output(size_t n) noexcept {
  std::vector<char>& front = out_[front_];
  out_head_ += std::min(n, front.size() - out_head_);
  if (out_head_ == front.size()) {
    front.clear();  // keeps its capacity
    out_head_ = 0;
    front_ ^= 1;    // the second buffer (maybe empty) is next
  }
}

void TlsSession::set_error(TlsFailure f, const char* text) noexcept {
  in_error_ = true;
  failure_ = f;
  reason_ = text;
}

TlsStatus TlsSession::handshake() noexcept {
  if (ssl_ == nullptr) {
    set_error(TlsFailure::internal, "handshake() before start()");
    return TlsStatus::error;
  }
  if (in_error_) return TlsStatus::error;
  const int rc = wolfSSL_connect(ssl_);
  if (rc == WOLFSSL_SUCCESS) return TlsStatus::done;
  const TlsStatus st = fail(rc);
  if (st == TlsStatus::closed) {
    set_error(TlsFailure::peer_closed, "connection closed by the server during the handshake");
    return TlsStatus::error;
  }
  return st;
}

ReadResult TlsSession::read(std::span<char> out) noexcept {
  if (ssl_ == nullptr || out.empty()) {
    if (!in_error_) set_error(TlsFailure::internal, "read() before start() or into no space");
    return {TlsStatus::error, 0};
  }
  if (in_error_) return {TlsStatus::error, 0};
  size_t total = 0;
  // Each pass either fills some of `out` or returns: bounded by out.size().
  while (total < out.size()) {
    const int n = wolfSSL_read(ssl_, out.data() + total, clamp_int(out.size() - total));
    if (n > 0) {
      total += static_cast<size_t>(n);
      continue;
    }
    TlsStatus st = fail(n);
    if (st == TlsStatus::closed && !wolfSSL_is_init_finished(ssl_)) {
      set_error(TlsFailure::peer_closed, "connection closed by the server during the handshake");
      st = TlsStatus::error;
    }
    return {st, total};
  }
  return {TlsStatus::done, total};
}

WriteResult TlsSession::write(std::span<const char> plaintext) noexcept {
  if (ssl_ == nullptr) {
    set_error(TlsFailure::internal, "write() before start()");
    return {TlsStatus::error, 0};
  }
  if (in_error_) return {TlsStatus::error, 0};
  if (plaintext.empty()) return {TlsStatus::done, 0};
  const int max_plain = wolfSSL_GetMaxOutputSize(ssl_);  // fails before the handshake
  if (max_plain <= 0) {
    set_error(TlsFailure::internal, "write() before the handshake finished");
    return {TlsStatus::error, 0};
  }
  size_t written = 0;
  // One record per pass; stops when output() could not take the next record whole, so
  // wolfSSL never has to buffer a half-sent record (pending_chunk_ covers it if it does).
  while (written < plaintext.size()) {
    size_t chunk = pending_chunk_;
    if (chunk == 0) {
      chunk = std::min(plaintext.size() - written, static_cast<size_t>(max_plain));
      const int need = wolfSSL_GetOutputSize(ssl_, static_cast<int>(chunk));
      const size_t record = need > 0 ? static_cast<size_t>(need) : tls_limits::max_record;
      if (output_pending() + record > tls_limits::max_output)
        return {TlsStatus::want_write, written};
    }
    const int n = wolfSSL_write(ssl_, plaintext.data() + written, static_cast<int>(chunk));
    if (n > 0) {
      written += static_cast<size_t>(n);
      pending_chunk_ = 0;
      continue;
    }
    const TlsStatus st = fail(n);
    if (st == TlsStatus::want_write) {
      pending_chunk_ = chunk;  // wolfSSL_write must be repeated with the same bytes
      return {st, written};
    }
    if (st != TlsStatus::error) set_error(TlsFailure::internal, "write() on a closed connection");
    return {TlsStatus::error, written};
  }
  return {TlsStatus::done, written};
}

void TlsSession::close_notify() noexcept {
  if (ssl_ == nullptr || in_error_ || !wolfSSL_is_init_finished(ssl_)) return;
  (void)wolfSSL_shutdown(ssl_);  // queues the alert; the peer's reply is not awaited
}

bool TlsSession::handshake_done() const noexcept {
  return ssl_ != nullptr && wolfSSL_is_init_finished(ssl_);
}

bool TlsSession::resumed() const noexcept {
  return handshake_done() && wolfSSL_session_reused(ssl_) == 1;
}

const char* TlsSession::version() const noexcept {
  return handshake_done() ? wolfSSL_get_version(ssl_) : "";
}

const char* TlsSession::cipher() const noexcept {
  if (!handshake_done()) return "";
  const int suite = wolfSSL_get_current_cipher_suite(ssl_);
  const char* name = wolfSSL_get_cipher_name_iana_from_suite(
      static_cast<unsigned char>(suite >> 8), static_cast<unsigned char>(suite & 0xff));
  return name != nullptr ? name : wolfSSL_get_cipher_name(ssl_);
}

TlsSessionPtr TlsSession::take_session() noexcept {
  if (!handshake_done()) return nullptr;
  WOLFSSL_SESSION* live = wolfSSL_get_session(ssl_);
  if (live == nullptr) return nullptr;
  // TLS 1.3 gives every session a random legacy session ID (RFC 8446 section 4.1.2):
  // only a ticket makes it resumable.
  const bool usable = wolfSSL_version(ssl_) == TLS1_3_VERSION
                          ? wolfSSL_SESSION_has_ticket(live) == 1
                          : wolfSSL_SESSION_is_resumable(live) == 1;
  if (!usable) return nullptr;
  // A copy: the live session keeps changing (later tickets) and dies with ssl_.
  return TlsSessionPtr(wolfSSL_SESSION_dup(live));
}

TlsStatus TlsSession::fail(int ret) noexcept {
  const int err = wolfSSL_get_error(ssl_, ret);
  if (err == WOLFSSL_ERROR_WANT_READ) return TlsStatus::want_read;
  if (err == WOLFSSL_ERROR_WANT_WRITE) return TlsStatus::want_write;
  wolfSSL_ERR_clear_error();  // keep the per-thread error queue from filling up
  if (err == WOLFSSL_ERROR_ZERO_RETURN || err == ZERO_RETURN || err == SOCKET_PEER_CLOSED_E ||
      (ret == 0 && err != FATAL_ERROR) || (eof_ && err == SOCKET_ERROR_E))
    return TlsStatus::closed;
  WOLFSSL_ALERT_HISTORY alerts{};
  wolfSSL_get_alert_history(ssl_, &alerts);
  const TlsErrorContext at{wolfSSL_is_init_finished(ssl_) != 0,
                           ctx_ != nullptr ? ctx_->verify_name().c_str() : "", alerts.last_rx.code};
  const TlsErrorReport report = classify_tls_error(err, at, reason_buf_);
  set_error(report.kind, report.text);
  return TlsStatus::error;
}

}  // namespace ringload
