#include "engine/core/slab.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace ringload {

namespace {

// Reserved, not committed: a page costs memory once it is written.
char* reserve(std::size_t bytes, const char* what, std::string& err) noexcept {
  if (bytes == 0) return nullptr;
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem != MAP_FAILED) return static_cast<char*>(mem);
  err = std::string("mmap ") + what + ": " + strerror(errno);
  return nullptr;
}

}  // namespace

Slab::~Slab() {
  if (carry_arena_ != nullptr) munmap(carry_arena_, carry_bytes_);
  if (scratch_arena_ != nullptr) munmap(scratch_arena_, scratch_bytes_);
}

std::size_t Slab::slot_bytes() const noexcept {
  std::size_t bytes = conns_.capacity() * sizeof(Conn);
  for (const std::vector<uint32_t>& f : free_) bytes += f.capacity() * sizeof(uint32_t);
  return bytes;
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
  } catch (const std::bad_alloc&) {
    return "out of memory for " + std::to_string(n) + " connections";
  }
  // Scratch packed at a cache line each (the head is written for every request, so these
  // pages are all touched); carry buffers apart, so a used scratch never backs a carry page.
  scratch = (scratch + 63) & ~std::size_t{63};
  std::string err;
  carry_bytes_ = static_cast<std::size_t>(n) * carry;
  carry_arena_ = reserve(carry_bytes_, "carry buffers", err);
  scratch_bytes_ = static_cast<std::size_t>(n) * scratch;
  if (err.empty()) scratch_arena_ = reserve(scratch_bytes_, "scratch buffers", err);
  if (!err.empty()) return err;
  scratch_ = scratch;
  uint32_t slot = 0;
  for (uint16_t o = 0; o < per_origin.size(); ++o) {
    first_[o] = slot;
    for (uint32_t i = 0; i < per_origin[o]; ++i, ++slot) {
      Conn& c = conns_[slot];
      c.origin = o;
      c.slot = slot;
      c.carry = {carry_arena_ + static_cast<std::size_t>(slot) * carry, static_cast<uint32_t>(carry), 0};
      c.scratch = scratch_arena_ + static_cast<std::size_t>(slot) * scratch;
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
    if (available(conns_[s])) return s;
  }
  return UINT32_MAX;
}

void Slab::release(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  c.state = c.in_flight == 0 ? ConnState::idle : ConnState::busy;
  offer(slot);
}

void Slab::offer(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  if (!c.in_free_list) {
    c.in_free_list = true;
    free_[c.origin].push_back(slot);
  }
}

}  // namespace ringload
