// wolfSSL must see its own feature macros before any of its headers, or struct layouts
// differ from the library's (pkg-config gives no -D flags).
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include "engine/transport/tls.hpp"

#include <cstdio>
#include <cstring>

// The table from wolfSSL's error codes to a TlsFailure and a message (tls.hpp:
// classify_tls_error).
namespace ringload {
namespace {

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

}  // namespace ringload
