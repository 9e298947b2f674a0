// How a connection's bytes reach the peer: plain TCP, or TLS (wolfSSL over memory
// buffers; it never touches the socket). Chosen when the slab is set up, per origin; the
// shard drives both the same way and never asks which it has (wrk's `struct sock` table).
//
// Sending. write(a, b) queues plaintext; the memory of `a` and `b` must stay unchanged
// until the transport is writable() again (plain sends it in place, zero-copy; TLS may
// encrypt part now and the rest as output drains). While has_output(), the shard gets an
// SQE and prep_send() fills it; sent(res) reports its completion.
//
// Receiving. A completion's bytes are lent with lend() for the duration of one handler:
// next() returns what they carry, event by event (plaintext, the handshake finishing, the
// peer's close, an error), until `none`; then end_lend() gives the buffer back (TLS keeps
// unconsumed ciphertext). At EOF: eof(), then next() until `none`.
#pragma once
#include <cstdint>
#include <span>

#include "engine/core/uring_compat.hpp"
#include "ringload/stats.hpp"

namespace ringload {

class TlsSession;
struct TlsShared;

struct TransportEvent {
  enum class Kind : uint8_t {
    none,    // nothing more until more bytes arrive (or, after write/sent: all is well)
    data,    // plaintext for the session, valid until the next call
    ready,   // the handshake finished: the connection can carry requests
    flush,   // output is waiting that must be sent before reading on (TLS alerts, KeyUpdate)
    closed,  // the peer closed (EOF, or TLS close_notify)
    error,   // the connection failed: `error`, `message`
  };
  Kind kind = Kind::none;
  std::span<const char> data;
  ErrorKind error = ErrorKind::protocol;
  const char* message = nullptr;  // static, or owned by the transport until reset()
};

class Transport {
 public:
  // A TLS transport over `session`, sharing `shared` with the shard's other TLS slots.
  // Without this call the transport is plain TCP.
  void use_tls(TlsSession* session, TlsShared* shared, uint16_t origin) noexcept;

  bool is_tls() const noexcept { return tls_ != nullptr; }
  // TLS, after the handshake: the server chose HTTP/2 by ALPN.
  bool alpn_h2() const noexcept;

  // The TCP connect succeeded. ready (plain), none (a handshake is under way: send the
  // output; next() says ready later), or error.
  TransportEvent connected(uint64_t now_ns) noexcept;
  // The handshake took too long.
  TransportEvent handshake_timeout() const noexcept;

  TransportEvent write(std::span<const char> a, std::span<const char> b) noexcept;
  bool has_output() const noexcept;
  // Fills `sqe` with a send of the pending output on `fd`. Returns true when a success
  // posts no completion (`may_skip`: the ring can do that and the caller needs none; the
  // transport then counts the bytes as sent now).
  bool prep_send(io_uring_sqe* sqe, int fd, bool may_skip) noexcept;
  // A send completed with `res` bytes (>= 0).
  TransportEvent sent(int res) noexcept;
  // Nothing queued or in flight: the peer has (or is being sent) everything written.
  bool writable() const noexcept;

  void lend(std::span<const char> received) noexcept;
  TransportEvent next() noexcept;
  TransportEvent end_lend() noexcept;
  void eof() noexcept;

  // Where send_now writes: a descriptor, or a direct descriptor of `ring` (direct
  // sockets, engine/core/direct_fd.hpp: only an SQE reaches it, tagged `user_data`).
  struct Socket {
    int fd = -1;
    io_uring* ring = nullptr;
    uint64_t user_data = 0;
  };
  // Best effort, now (MSG_DONTWAIT): a last word to a peer about to be dropped (a
  // WebSocket close frame). Only when nothing else is queued or in flight.
  void send_now(const Socket& to, std::span<const char> bytes) noexcept;

  // The socket is gone: drop all state (a send still in flight may read the TLS output
  // buffers, which keep their memory).
  void reset() noexcept;

 private:
  TransportEvent tls_connected(uint64_t now_ns) noexcept;
  TransportEvent tls_encrypt() noexcept;
  TransportEvent tls_next() noexcept;
  TransportEvent tls_handshake() noexcept;
  TransportEvent tls_error(const char* fallback) const noexcept;
  TransportEvent tls_end_feed() noexcept;
  void tls_send_now(const Socket& to, std::span<const char> bytes) noexcept;
  std::span<const char> tls_output() const noexcept;
  std::size_t tls_output_size() const noexcept { return tls_output().size(); }
  void tls_consume(std::size_t n) noexcept;
  void tls_feed(std::span<const char> ciphertext) noexcept;
  void tls_feed_eof() noexcept;
  void tls_reset() noexcept;

  std::span<const char> pending_[2];  // plaintext queued: plain: unsent; TLS: not yet encrypted
  std::span<const char> lent_;        // plain: received bytes not yet handed out
  uint32_t send_len_ = 0;             // bytes of the send in flight
  bool in_flight_ = false;            // a send of ours is in the ring
  bool eof_ = false;
  bool closed_reported_ = false;
  // TLS only.
  bool handshaking_ = false;
  bool session_taken_ = false;        // the session was cached for resumption
  uint8_t after_ = 0;                 // the status of the last read that returned data
  uint16_t origin_ = 0;
  TlsSession* tls_ = nullptr;
  TlsShared* shared_ = nullptr;
  uint64_t handshake_start_ns_ = 0;
  iovec iov_[2]{};
  msghdr msg_{};
};

// send(MSG_DONTWAIT) to a Transport::Socket; the bytes sent, or < 0.
ssize_t send_dontwait(const Transport::Socket& to, std::span<const char> bytes) noexcept;

}  // namespace ringload
