#include "engine/core/direct_fd.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <cstring>

namespace ringload {
namespace {

// Linux's values (include/uapi/linux/io_uring.h), absent from Debian 12's headers.
constexpr uint8_t op_uring_cmd = 46;           // IORING_OP_URING_CMD (5.19)
constexpr uint8_t op_bind = 56;                // IORING_OP_BIND (6.11)
constexpr uint32_t socket_op_setsockopt = 3;   // SOCKET_URING_OP_SETSOCKOPT (6.7)

}  // namespace

void prep_setsockopt_direct(io_uring_sqe* sqe, uint32_t slot, int level, int optname, const int* value) noexcept {
  io_uring_prep_rw(op_uring_cmd, sqe, static_cast<int>(slot), nullptr, 0, 0);
  sqe->flags |= IOSQE_FIXED_FILE;
  sqe->off = socket_op_setsockopt;                                         // cmd_op
  sqe->addr = static_cast<uint32_t>(level) | static_cast<uint64_t>(static_cast<uint32_t>(optname)) << 32;
  sqe->splice_fd_in = static_cast<int32_t>(sizeof *value);                 // optlen
  sqe->addr3 = reinterpret_cast<uint64_t>(value);                          // optval
}

void prep_bind_direct(io_uring_sqe* sqe, uint32_t slot, const sockaddr* addr, socklen_t len) noexcept {
  io_uring_prep_rw(op_bind, sqe, static_cast<int>(slot), addr, 0, len);  // addr2 = addrlen
  sqe->flags |= IOSQE_FIXED_FILE;
}

std::expected<void, std::string> probe_direct_sockets(bool bind) {
  io_uring ring;
  if (const int ret = io_uring_queue_init(8, &ring, 0); ret < 0)
    return std::unexpected(std::string("io_uring setup: ") + strerror(-ret));
  std::string failed;
  if (const int ret = io_uring_register_files_sparse(&ring, 1); ret < 0) {
    failed = std::string("a registered file table: ") + strerror(-ret);
  } else {
    static constexpr const char* steps[] = {"a direct socket", "TCP_NODELAY on it", "IP_BIND_ADDRESS_NO_PORT on it",
                                            "bind on it"};
    const int one = 1;
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    io_uring_sqe* sqe[4];
    const unsigned n = bind ? 4 : 2;
    for (unsigned i = 0; i < n; ++i) sqe[i] = io_uring_get_sqe(&ring);
    io_uring_prep_socket_direct(sqe[0], AF_INET, SOCK_STREAM, 0, 0, 0);
    prep_setsockopt_direct(sqe[1], 0, IPPROTO_TCP, TCP_NODELAY, &one);
    if (bind) {
      prep_setsockopt_direct(sqe[2], 0, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one);
      prep_bind_direct(sqe[3], 0, reinterpret_cast<const sockaddr*>(&local), sizeof local);
    }
    // Not linked, but run in order: each step's own result names what this kernel lacks.
    for (unsigned i = 0; i < n; ++i) io_uring_sqe_set_data64(sqe[i], i);
    io_uring_submit_and_wait(&ring, n);
    for (unsigned i = 0; i < n && failed.empty(); ++i) {
      io_uring_cqe* cqe = nullptr;
      if (io_uring_wait_cqe(&ring, &cqe) != 0) {
        failed = "no completion";
        break;
      }
      if (cqe->res < 0 && cqe->user_data < n) failed = std::string(steps[cqe->user_data]) + ": " + strerror(-cqe->res);
      io_uring_cqe_seen(&ring, cqe);
    }
  }
  io_uring_queue_exit(&ring);
  if (!failed.empty()) return std::unexpected(failed);
  return {};
}

}  // namespace ringload
