// A provided-buffer ring (IORING_REGISTER_PBUF_RING) set up by hand: liburing 2.3 has
// no io_uring_setup_buf_ring. Buffers are lent to one completion and given back with
// recycle(); publish() makes every recycled buffer visible to the kernel at once.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "engine/core/uring_compat.hpp"

namespace ringload {

class BufferRing {
 public:
  BufferRing() = default;
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  // count: a power of two (max 32768); size: bytes per buffer. Returns an error text.
  std::string setup(io_uring* ring, uint16_t group, uint32_t count, uint32_t size) noexcept;
  void teardown() noexcept;

  std::span<const char> data(uint16_t bid, std::size_t len) const noexcept {
    return {base_ + static_cast<std::size_t>(bid) * size_, len};
  }
  void recycle(uint16_t bid) noexcept {
    io_uring_buf_ring_add(br_, base_ + static_cast<std::size_t>(bid) * size_, size_, bid, mask_,
                          pending_++);
  }
  void publish() noexcept {
    if (pending_ != 0) io_uring_buf_ring_advance(br_, pending_);
    pending_ = 0;
  }
  uint16_t group() const noexcept { return group_; }
  uint32_t buffer_size() const noexcept { return size_; }
  uint32_t count() const noexcept { return count_; }
  std::size_t bytes() const noexcept { return ring_bytes_ + data_bytes_; }

 private:
  io_uring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  char* base_ = nullptr;
  std::size_t ring_bytes_ = 0;
  std::size_t data_bytes_ = 0;
  uint32_t count_ = 0;
  uint32_t size_ = 0;
  int mask_ = 0;
  int pending_ = 0;
  uint16_t group_ = 0;
};

}  // namespace ringload
