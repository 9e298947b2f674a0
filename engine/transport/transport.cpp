// The transport's entry points, and plain TCP. TLS is in tls_transport.cpp.
#include "engine/transport/transport.hpp"

#include <sys/socket.h>

namespace ringload {
namespace {

constexpr int send_flags = MSG_WAITALL | MSG_NOSIGNAL;

}  // namespace

TransportEvent Transport::connected(uint64_t now_ns) noexcept {
  if (tls_ != nullptr) return tls_connected(now_ns);
  return {TransportEvent::Kind::ready};
}

TransportEvent Transport::handshake_timeout() const noexcept {
  return {TransportEvent::Kind::error, {}, ErrorKind::tls, "TLS handshake timed out"};
}

TransportEvent Transport::write(std::span<const char> a, std::span<const char> b) noexcept {
  pending_[0] = a;
  pending_[1] = b;
  if (tls_ != nullptr) return tls_encrypt();
  return {};
}

bool Transport::has_output() const noexcept {
  if (in_flight_) return false;
  if (tls_ != nullptr) return tls_output_size() != 0;
  return !pending_[0].empty() || !pending_[1].empty();
}

bool Transport::prep_send(io_uring_sqe* sqe, int fd, bool may_skip) noexcept {
  if (tls_ != nullptr) {
    const std::span<const char> out = tls_output();
    io_uring_prep_send(sqe, fd, out.data(), out.size(), send_flags);
    send_len_ = static_cast<uint32_t>(out.size());
    in_flight_ = true;
    return false;
  }
  // MSG_WAITALL: the kernel retries a short send itself, so a success is always whole.
  if (pending_[1].empty()) {
    io_uring_prep_send(sqe, fd, pending_[0].data(), pending_[0].size(), send_flags);
  } else {
    iov_[0] = {const_cast<char*>(pending_[0].data()), pending_[0].size()};
    iov_[1] = {const_cast<char*>(pending_[1].data()), pending_[1].size()};
    msg_ = {};
    msg_.msg_iov = iov_;
    msg_.msg_iovlen = 2;
    io_uring_prep_sendmsg(sqe, fd, &msg_, send_flags);
  }
  send_len_ = static_cast<uint32_t>(pending_[0].size() + pending_[1].size());
  pending_[0] = pending_[1] = {};
  // Without a completion the bytes count as sent now; a failure still completes.
  in_flight_ = !may_skip;
  return may_skip;
}

TransportEvent Transport::sent(int res) noexcept {
  in_flight_ = false;
  if (tls_ != nullptr) {
    tls_consume(static_cast<std::size_t>(res));
    return tls_encrypt();
  }
  if (static_cast<uint32_t>(res) < send_len_) return {TransportEvent::Kind::error, {}, ErrorKind::write, "short send"};
  return {};
}

bool Transport::writable() const noexcept {
  if (in_flight_ || !pending_[0].empty() || !pending_[1].empty()) return false;
  return tls_ == nullptr || tls_output_size() == 0;
}

void Transport::lend(std::span<const char> received) noexcept {
  if (tls_ != nullptr) {
    tls_feed(received);
    return;
  }
  lent_ = received;
}

TransportEvent Transport::next() noexcept {
  if (tls_ != nullptr) return tls_next();
  if (!lent_.empty()) {
    const std::span<const char> data = lent_;
    lent_ = {};
    return {TransportEvent::Kind::data, data};
  }
  if (eof_ && !closed_reported_) {
    closed_reported_ = true;
    return {TransportEvent::Kind::closed};
  }
  return {};
}

TransportEvent Transport::end_lend() noexcept {
  if (tls_ != nullptr) return tls_end_feed();
  lent_ = {};
  return {};
}

void Transport::eof() noexcept {
  eof_ = true;
  if (tls_ != nullptr) tls_feed_eof();
}

// A direct descriptor's send is submitted at once: it runs inline (MSG_DONTWAIT never
// waits) before the close queued after it, and is taken as whole.
ssize_t send_dontwait(const Transport::Socket& to, std::span<const char> bytes) noexcept {
  if (to.ring == nullptr) return ::send(to.fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  io_uring_sqe* sqe = io_uring_get_sqe(to.ring);
  if (sqe == nullptr) {
    io_uring_submit(to.ring);
    if ((sqe = io_uring_get_sqe(to.ring)) == nullptr) return -1;
  }
  io_uring_prep_send(sqe, to.fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  sqe->flags |= IOSQE_FIXED_FILE | IOSQE_CQE_SKIP_SUCCESS;
  io_uring_sqe_set_data64(sqe, to.user_data);
  io_uring_submit(to.ring);
  return static_cast<ssize_t>(bytes.size());
}

void Transport::send_now(const Socket& to, std::span<const char> bytes) noexcept {
  if (!writable() || bytes.empty()) return;
  if (tls_ != nullptr) {
    tls_send_now(to, bytes);
    return;
  }
  (void)send_dontwait(to, bytes);
}

void Transport::reset() noexcept {
  pending_[0] = pending_[1] = {};
  lent_ = {};
  send_len_ = 0;
  in_flight_ = false;
  eof_ = false;
  closed_reported_ = false;
  handshaking_ = false;
  after_ = 0;
  if (tls_ != nullptr) tls_reset();
}

}  // namespace ringload
