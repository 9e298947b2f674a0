#include "engine/session/h2_pool.hpp"

#include <cstdlib>
#include <cstring>

namespace ringload {
namespace {

constexpr uint32_t big = UINT32_MAX;  // a block of its own (malloc); its size follows the class

struct Header {
  uint32_t size_class;
  uint32_t pad;
  uint64_t size;  // big blocks: the payload's bytes
};
static_assert(sizeof(Header) <= H2Pool::header);

H2Pool& pool(void* user) noexcept { return *static_cast<H2Pool*>(user); }

}  // namespace

H2Pool::H2Pool() noexcept {
  mem_.mem_user_data = this;
  mem_.malloc = [](size_t size, void* user) { return pool(user).allocate(size); };
  mem_.free = [](void* p, void* user) { pool(user).release(p); };
  mem_.calloc = [](size_t n, size_t size, void* user) -> void* {
    if (size != 0 && n > SIZE_MAX / size) return nullptr;
    void* p = pool(user).allocate(n * size);
    if (p != nullptr) std::memset(p, 0, n * size);
    return p;
  };
  mem_.realloc = [](void* p, size_t size, void* user) { return pool(user).resize(p, size); };
}

H2Pool::~H2Pool() {
  for (char* c : chunks_) std::free(c);
}

std::size_t H2Pool::class_of(std::size_t size) noexcept {
  std::size_t k = 0;
  while (k < classes && class_size(k) < size) ++k;
  return k;  // == classes: too big for a class
}

void* H2Pool::allocate(std::size_t size) noexcept {
  const std::size_t k = class_of(size);
  if (k == classes) {
    auto* h = static_cast<Header*>(std::malloc(header + size));
    if (h == nullptr) return nullptr;
    ++system_allocations_;
    *h = {big, 0, size};
    return reinterpret_cast<char*>(h) + header;
  }
  if (free_[k] == nullptr) {
    // A new chunk, cut into blocks of this class.
    char* chunk = static_cast<char*>(std::malloc(chunk_size));
    if (chunk == nullptr) return nullptr;
    try {
      chunks_.push_back(chunk);
    } catch (...) {
      std::free(chunk);
      return nullptr;
    }
    ++system_allocations_;
    const std::size_t step = header + class_size(k);
    for (std::size_t at = 0; at + step <= chunk_size; at += step) {
      auto* f = reinterpret_cast<Free*>(chunk + at + header);
      f->next = free_[k];
      free_[k] = f;
    }
  }
  Free* f = free_[k];
  free_[k] = f->next;
  auto* h = reinterpret_cast<Header*>(reinterpret_cast<char*>(f) - header);
  *h = {static_cast<uint32_t>(k), 0, class_size(k)};
  return f;
}

void H2Pool::release(void* p) noexcept {
  if (p == nullptr) return;
  auto* h = reinterpret_cast<Header*>(static_cast<char*>(p) - header);
  if (h->size_class == big) {
    std::free(h);
    return;
  }
  auto* f = static_cast<Free*>(p);
  f->next = free_[h->size_class];
  free_[h->size_class] = f;
}

void* H2Pool::resize(void* p, std::size_t size) noexcept {
  if (p == nullptr) return allocate(size);
  const auto* h = reinterpret_cast<const Header*>(static_cast<char*>(p) - header);
  if (size <= h->size) return p;
  void* q = allocate(size);
  if (q == nullptr) return nullptr;
  std::memcpy(q, p, h->size);
  release(p);
  return q;
}

}  // namespace ringload
