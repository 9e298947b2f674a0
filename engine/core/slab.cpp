#include "engine/core/slab.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace ringload {

Slab::~Slab() {
  if (arena_ != nullptr) munmap(arena_, arena_bytes_);
}

std::string Slab::setup(std::span<const uint32_t> per_origin, std::size_t carry, std::size_t scratch) noexcept {
  uint32_t n = 0;
  for (uint32_t c : per_origin) n += c;
  try {
    conns_.resize(n);
    free_.resize(per_origin.size());
    for (std::size_t o = 0; o < per_origin.size(); ++o) free_[o].reserve(per_origin[o]);
    first_.assign(per_origin.size(), 0);
    count_.assign(per_origin.begin(), per_origin.end());
    opened.assign(per_origin.size(), 0);
    connecting.assign(per_origin.size(), 0);
  } catch (const std::bad_alloc&) {
    return "out of memory for " + std::to_string(n) + " connections";
  }
  // Reserved, not committed.
  const std::size_t per_conn = carry + scratch;
  arena_bytes_ = static_cast<std::size_t>(n) * per_conn;
  if (arena_bytes_ != 0) {
    void* mem = mmap(nullptr, arena_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) return std::string("mmap connection buffers: ") + strerror(errno);
    arena_ = static_cast<char*>(mem);
  }
  scratch_ = scratch;
  uint32_t slot = 0;
  for (uint16_t o = 0; o < per_origin.size(); ++o) {
    first_[o] = slot;
    for (uint32_t i = 0; i < per_origin[o]; ++i, ++slot) {
      Conn& c = conns_[slot];
      char* base = arena_ + static_cast<std::size_t>(slot) * per_conn;
      c.origin = o;
      c.slot = slot;
      c.carry = {base, static_cast<uint32_t>(carry), 0};
      c.scratch = base + carry;
    }
  }
  return {};
}

uint32_t Slab::take_idle(uint16_t origin) noexcept {
  std::vector<uint32_t>& list = free_[origin];
  while (!list.empty()) {
    const uint32_t s = list.back();
    list.pop_back();
    conns_[s].in_free_list = false;
    if (conns_[s].state == ConnState::idle) return s;
  }
  return UINT32_MAX;
}

void Slab::release(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  c.state = ConnState::idle;
  if (!c.in_free_list) {
    c.in_free_list = true;
    free_[c.origin].push_back(slot);
  }
}

}  // namespace ringload
