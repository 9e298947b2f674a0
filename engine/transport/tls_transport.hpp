// What the TLS connections of one shard share: per origin the context and the last
// session (for resumption), the buffer decrypted bytes land in, and the facts of the
// first handshake for the report.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/transport/tls.hpp"
#include "ringload/stats.hpp"

namespace ringload {

struct TlsShared {
  std::vector<TlsContext*> contexts;   // per origin; null: a plain origin
  std::vector<TlsSessionPtr> cache;    // per origin: the last session taken
  std::vector<TlsSession> sessions;    // one per TLS connection slot (wolfSSL state, kept for the run)
  std::vector<char> plaintext;         // decrypted bytes, lent to the session for one event
  bool resume = true;                  // take sessions for resumption
  Stats* stats = nullptr;              // handshakes counted here
  const char* version = nullptr;       // of the first handshake (static strings)
  const char* cipher = nullptr;
};

}  // namespace ringload
