// nghttp2's memory (nghttp2_mem), from per-shard free lists by size class: libnghttp2
// allocates for every stream it opens and many frames it handles (the stream object, the
// outbound HEADERS and its copy of the header array, HPACK entries); after the first
// streams of a run those come back from the free lists, so the steady state makes no
// malloc call per request. Blocks up to 16 KiB come from 64 KiB chunks that are freed
// with the pool (the shard's end); bigger ones go to malloc. One thread (the shard's).
#pragma once
#include <nghttp2/nghttp2.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ringload {

class H2Pool {
 public:
  H2Pool() noexcept;
  ~H2Pool();
  H2Pool(const H2Pool&) = delete;
  H2Pool& operator=(const H2Pool&) = delete;

  nghttp2_mem* mem() noexcept { return &mem_; }
  void* allocate(std::size_t size) noexcept;
  void release(void* p) noexcept;
  void* resize(void* p, std::size_t size) noexcept;
  // malloc calls made (chunks and big blocks): flat once a run's streams are under way.
  uint64_t system_allocations() const noexcept { return system_allocations_; }
  std::size_t bytes() const noexcept { return chunks_.size() * chunk_size; }

  static constexpr std::size_t header = 16;  // keeps the payload 16-byte aligned
  static constexpr std::size_t classes = 10;  // 32 B .. 16 KiB
  static constexpr std::size_t chunk_size = 64 * 1024;

 private:
  struct Free {
    Free* next;
  };
  static std::size_t class_of(std::size_t size) noexcept;
  static std::size_t class_size(std::size_t k) noexcept { return std::size_t{32} << k; }

  nghttp2_mem mem_{};
  std::array<Free*, classes> free_{};
  std::vector<char*> chunks_;
  uint64_t system_allocations_ = 0;
};

}  // namespace ringload
