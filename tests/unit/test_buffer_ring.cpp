// BufferRing against the kernel: a real io_uring, the provided-buffer ring registered at
// tiny sizes, a multishot recv on a loopback socket pair. Checks what the shard relies
// on: each completion names a buffer holding the bytes received, recycle() + publish()
// give buffers back in the order recycled (every buffer is used again and again), and a
// ring with no buffer left ends the recv with -ENOBUFS without losing a byte, which a
// re-armed recv then delivers. Where io_uring or buffer rings are unavailable (seccomp,
// an old kernel) the cases say why and pass without checking.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "engine/core/buffer_ring.hpp"

using ringload::BufferRing;

namespace {

constexpr uint16_t group = 7;

// One received completion.
struct Recv {
  int res = 0;
  uint16_t bid = 0;
  bool more = false;  // IORING_CQE_F_MORE: the multishot recv stays armed
  std::string data;   // the bytes in the buffer, when res > 0
};

// A ring, a buffer ring of `count` buffers of `size` bytes and a connected socket pair;
// `skip` says why not when any of it is unavailable here.
class Rig {
 public:
  Rig(uint32_t count, uint32_t size) {
    int ret = io_uring_queue_init(16, &ring_, 0);
    if (ret < 0) {
      skip = std::string("io_uring_queue_init: ") + strerror(-ret);
      return;
    }
    ring_ok_ = true;
    skip = buffers.setup(&ring_, group, count, size);
    if (!skip.empty()) return;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_) != 0) skip = strerror(errno);
  }
  ~Rig() {
    buffers.teardown();  // before the ring: it unregisters through the ring's fd
    if (ring_ok_) io_uring_queue_exit(&ring_);
    for (int fd : fds_)
      if (fd >= 0) close(fd);
  }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  void arm() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    REQUIRE(sqe != nullptr);
    io_uring_prep_recv_multishot(sqe, fds_[0], nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = group;
    REQUIRE(io_uring_submit(&ring_) == 1);
  }

  void send(const std::string& bytes) {
    REQUIRE(write(fds_[1], bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  }

  // The next completion (waits up to 2 s).
  Recv next() {
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{2, 0};
    const int ret = io_uring_wait_cqe_timeout(&ring_, &cqe, &ts);
    REQUIRE(ret == 0);
    Recv r;
    r.res = cqe->res;
    r.more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    if (cqe->res > 0) {
      REQUIRE((cqe->flags & IORING_CQE_F_BUFFER) != 0);
      r.bid = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
      const auto data = buffers.data(r.bid, static_cast<std::size_t>(cqe->res));
      r.data.assign(data.data(), data.size());
    }
    io_uring_cqe_seen(&ring_, cqe);
    return r;
  }

  // Sends `bytes` and collects completions until they have all arrived.
  std::vector<Recv> round_trip(const std::string& bytes) {
    send(bytes);
    std::vector<Recv> out;
    for (std::size_t got = 0; got < bytes.size();) {
      out.push_back(next());
      if (out.back().res <= 0) break;
      got += static_cast<std::size_t>(out.back().res);
    }
    return out;
  }

  std::string skip;
  BufferRing buffers;

 private:
  io_uring ring_{};
  bool ring_ok_ = false;
  int fds_[2] = {-1, -1};
};

// Where the kernel cannot run the case, say why instead of failing (Catch2 v2 has no SKIP).
bool unavailable(const Rig& rig) {
  if (rig.skip.empty()) return false;
  WARN("skipped: " << rig.skip);
  return true;
}

std::string message(std::size_t i, std::size_t size) {
  std::string s(size, static_cast<char>('a' + i % 26));
  s[0] = static_cast<char>('0' + i % 10);
  return s;
}

struct Shape {
  uint32_t count;  // buffers (a power of two)
  uint32_t size;   // bytes each
};

constexpr Shape shapes[] = {{1, 16}, {4, 16}, {8, 1}, {2, 4096}};

}  // namespace

TEST_CASE("buffer ring: every buffer received into, recycled and used again", "[buffer_ring]") {
  for (const Shape& shape : shapes) {
    INFO(shape.count << " buffers of " << shape.size << " bytes");
    Rig rig(shape.count, shape.size);
    if (unavailable(rig)) return;
    CHECK(rig.buffers.group() == group);
    CHECK(rig.buffers.buffer_size() == shape.size);
    rig.arm();
    // Three passes over the ring, one buffer-sized message at a time: the kernel takes
    // buffers in ring order, and a recycled buffer goes to the back.
    for (std::size_t i = 0; i < 3 * shape.count; ++i) {
      INFO("message " << i);
      const std::string m = message(i, shape.size);
      const std::vector<Recv> got = rig.round_trip(m);
      REQUIRE(got.size() == 1);
      REQUIRE(got[0].res == static_cast<int>(shape.size));
      CHECK(got[0].more);
      CHECK(got[0].bid == i % shape.count);
      CHECK(got[0].data == m);
      rig.buffers.recycle(got[0].bid);
      rig.buffers.publish();
    }
  }
}

TEST_CASE("buffer ring: a read longer than a buffer fills several, in order", "[buffer_ring]") {
  Rig rig(4, 16);
  if (unavailable(rig)) return;
  rig.arm();
  const std::string bytes = "0123456789abcdef" "ghijklmnopqrstuv" "wxyz!";  // 16 + 16 + 5
  const std::vector<Recv> got = rig.round_trip(bytes);
  std::string joined;
  std::vector<uint16_t> bids;
  for (const Recv& r : got) {
    REQUIRE(r.res > 0);
    CHECK(r.res <= 16);
    joined += r.data;
    bids.push_back(r.bid);
  }
  CHECK(joined == bytes);
  CHECK(bids == std::vector<uint16_t>{0, 1, 2});
}

TEST_CASE("buffer ring: recycled buffers return in the order recycled", "[buffer_ring]") {
  Rig rig(4, 8);
  if (unavailable(rig)) return;
  rig.arm();
  std::vector<uint16_t> held;
  for (int i = 0; i < 2; ++i) held.push_back(rig.round_trip(message(i, 8)).at(0).bid);
  CHECK(held == std::vector<uint16_t>{0, 1});
  // Recycled out of order, published once: they queue behind buffers 2 and 3.
  rig.buffers.recycle(1);
  rig.buffers.recycle(0);
  rig.buffers.publish();
  rig.buffers.publish();  // nothing pending: no effect
  std::vector<uint16_t> order;
  for (int i = 2; i < 6; ++i) {
    const Recv r = rig.round_trip(message(i, 8)).at(0);
    CHECK(r.data == message(i, 8));
    order.push_back(r.bid);
  }
  CHECK(order == std::vector<uint16_t>{2, 3, 1, 0});
}

TEST_CASE("buffer ring: exhausted, the recv ends with -ENOBUFS and loses nothing", "[buffer_ring]") {
  constexpr uint32_t count = 4, size = 16;
  Rig rig(count, size);
  if (unavailable(rig)) return;
  rig.arm();
  for (uint32_t i = 0; i < count; ++i) {  // kept, not recycled
    const Recv r = rig.round_trip(message(i, size)).at(0);
    CHECK(r.data == message(i, size));
    CHECK(r.more);
  }
  const std::string late = message(count, size);
  rig.send(late);
  const Recv dry = rig.next();
  CHECK(dry.res == -ENOBUFS);
  CHECK_FALSE(dry.more);  // the multishot recv ended: re-arm it (liburing's proxy rule)
  // Recycled but not yet published, the buffers are not the kernel's: still dry.
  for (uint16_t bid = 0; bid < count; ++bid) rig.buffers.recycle(bid);
  rig.arm();
  const Recv unpublished = rig.next();
  CHECK(unpublished.res == -ENOBUFS);
  CHECK_FALSE(unpublished.more);
  rig.buffers.publish();
  rig.arm();
  const Recv again = rig.next();
  CHECK(again.res == static_cast<int>(size));
  CHECK(again.data == late);  // the bytes waited in the socket
  CHECK(again.bid == 0);
  CHECK(again.more);
}
