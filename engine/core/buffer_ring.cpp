#include "engine/core/buffer_ring.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace ringload {

BufferRing::~BufferRing() { teardown(); }

std::string BufferRing::setup(io_uring* ring, uint16_t group, uint32_t count,
                              uint32_t size) noexcept {
  ring_ = ring;
  group_ = group;
  count_ = count;
  size_ = size;
  mask_ = io_uring_buf_ring_mask(count);
  // The ring itself must be page aligned (the kernel maps it); one entry per buffer.
  ring_bytes_ = count * sizeof(io_uring_buf);
  void* mem = mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return std::string("mmap buffer ring: ") + strerror(errno);
  br_ = static_cast<io_uring_buf_ring*>(mem);
  data_bytes_ = static_cast<std::size_t>(count) * size;
  mem = mmap(nullptr, data_bytes_, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) return std::string("mmap receive buffers: ") + strerror(errno);
  base_ = static_cast<char*>(mem);

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br_);
  reg.ring_entries = count;
  reg.bgid = group;
  int ret = io_uring_register_buf_ring(ring, &reg, 0);
  if (ret < 0) return std::string("register buffer ring: ") + strerror(-ret);
  io_uring_buf_ring_init(br_);
  for (uint32_t i = 0; i < count; ++i) recycle(static_cast<uint16_t>(i));
  publish();
  return {};
}

void BufferRing::teardown() noexcept {
  if (br_ != nullptr && ring_ != nullptr && ring_->ring_fd >= 0)
    io_uring_unregister_buf_ring(ring_, group_);
  if (br_ != nullptr) munmap(br_, ring_bytes_);
  if (base_ != nullptr) munmap(base_, data_bytes_);
  br_ = nullptr;
  base_ = nullptr;
  ring_ = nullptr;
}

}  // namespace ringload
