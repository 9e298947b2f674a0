// wolfSSL must see its own feature macros before any of its headers, or struct layouts
// differ from the library's (pkg-config gives no -D flags).
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include "engine/transport/tls.hpp"

#include <arpa/inet.h>

#include <cstring>

// A TLS context per origin: trust, client certificate, name to verify.
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

}  // namespace

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

}  // namespace ringload
