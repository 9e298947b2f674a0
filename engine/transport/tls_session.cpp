// wolfSSL must see its own feature macros before any of its headers, or struct layouts
// differ from the library's (pkg-config gives no -D flags).
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include "engine/transport/tls.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

// One connection's TLS over memory buffers (tls.hpp has the call order).
namespace ringload {
namespace {

int clamp_int(size_t n) noexcept { return static_cast<int>(std::min<size_t>(n, INT_MAX)); }

}  // namespace

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
  // wolfSSL_UseALPN takes a mutable, comma-separated list; it copies it.
  char http1[] = "http/1.1", both[] = "h2,http/1.1";
  char* alpn = ctx.options().offer_h2 ? both : http1;
  if (wolfSSL_UseALPN(ssl_, alpn, static_cast<unsigned>(strlen(alpn)), WOLFSSL_ALPN_CONTINUE_ON_MISMATCH) !=
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

bool TlsSession::alpn_h2() const noexcept {
  char* name = nullptr;
  unsigned short len = 0;
  if (ssl_ == nullptr || wolfSSL_ALPN_GetProtocol(ssl_, &name, &len) != WOLFSSL_SUCCESS) return false;
  return len == 2 && name[0] == 'h' && name[1] == '2';
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
