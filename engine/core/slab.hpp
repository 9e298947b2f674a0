// The connection slots of one shard, allocated once: each origin's slots in one block,
// their scratch buffers packed in one arena (sized by the shard from the run's longest
// request head), their carry buffers in another that is only reserved (a page costs
// memory once a split response head reaches it), and per origin a free list of idle slots.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/core/conn.hpp"

namespace ringload {

class Slab {
 public:
  Slab() = default;
  ~Slab();
  Slab(const Slab&) = delete;
  Slab& operator=(const Slab&) = delete;

  // `per_origin[o]` slots for origin o, each with `carry` bytes of carry buffer and
  // `scratch` bytes of scratch. Returns an error text.
  std::string setup(std::span<const uint32_t> per_origin, std::size_t carry, std::size_t scratch) noexcept;

  Conn& operator[](uint32_t slot) noexcept { return conns_[slot]; }
  const Conn& operator[](uint32_t slot) const noexcept { return conns_[slot]; }
  uint32_t size() const noexcept { return static_cast<uint32_t>(conns_.size()); }
  std::size_t scratch_size() const noexcept { return scratch_; }
  // Bytes of the slots and free lists, of the scratch arena, and of the carry arena
  // (reserved: backed only where a carry buffer was used).
  std::size_t slot_bytes() const noexcept;
  std::size_t scratch_bytes() const noexcept { return scratch_bytes_; }
  std::size_t carry_reserved_bytes() const noexcept { return carry_bytes_; }
  uint16_t origins() const noexcept { return static_cast<uint16_t>(first_.size()); }
  uint32_t first(uint16_t origin) const noexcept { return first_[origin]; }
  uint32_t count(uint16_t origin) const noexcept { return count_[origin]; }

  // A slot of `origin` with room for a request, from its free list (entries that have
  // none any more are dropped on the way); UINT32_MAX: none. A connection has room while
  // it is ready and carries fewer requests than its capacity (1, or a multiplexing
  // session's: HTTP/2's streams); taking it out of the list does not fill it: the shard
  // offers it again after issuing while room is left.
  uint32_t take_idle(uint16_t origin) noexcept;
  static bool available(const Conn& c) noexcept {
    return (c.state == ConnState::idle || c.state == ConnState::busy) && c.in_flight < c.capacity;
  }
  // The slot's request ended (or it became ready): idle if it carries none, into the free list.
  void release(uint32_t slot) noexcept;
  // The slot has room for a request: into its origin's free list, unless it is there.
  void offer(uint32_t slot) noexcept;


 private:
  std::vector<Conn> conns_;
  std::vector<std::vector<uint32_t>> free_;  // capacity fixed at setup
  std::vector<uint32_t> first_;              // each origin's slots: [first_, first_ + count_)
  std::vector<uint32_t> count_;
  char* carry_arena_ = nullptr;
  std::size_t carry_bytes_ = 0;
  char* scratch_arena_ = nullptr;
  std::size_t scratch_bytes_ = 0;
  std::size_t scratch_ = 0;
};

}  // namespace ringload
