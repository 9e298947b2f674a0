// Connections as io_uring direct descriptors: sockets created into a slot of the ring's
// registered file table, never in the process's fd table, so -c is bounded by memory and
// ports, not by RLIMIT_NOFILE (each ring's table may hold up to RLIMIT_NOFILE entries).
//
// A direct socket is reachable only through the ring: its options, its bind and its close
// are SQEs too. liburing 2.3 (Debian 12) has socket_direct and close_direct but no helper
// for setsockopt (IORING_OP_URING_CMD, SOCKET_URING_OP_SETSOCKOPT, Linux 6.7) or bind
// (IORING_OP_BIND, 6.11): those SQEs are written here by hand, to the kernel's layout.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <expected>
#include <string>

#include "engine/core/uring_compat.hpp"

namespace ringload {

// setsockopt(slot, level, optname, *value) on a direct descriptor. `value` must stay
// valid until the SQE is submitted.
void prep_setsockopt_direct(io_uring_sqe* sqe, uint32_t slot, int level, int optname, const int* value) noexcept;

// bind(slot, addr) on a direct descriptor. `addr` must stay valid until submitted.
void prep_bind_direct(io_uring_sqe* sqe, uint32_t slot, const sockaddr* addr, socklen_t len) noexcept;

// Whether this kernel runs the whole chain a direct connection needs: a sparse file
// table, a socket created into it, TCP_NODELAY on it, and (with `bind`) a bind to
// 127.0.0.1 with IP_BIND_ADDRESS_NO_PORT. The error says which step failed and why.
std::expected<void, std::string> probe_direct_sockets(bool bind);

}  // namespace ringload
