// Test helper: copies a parser's input so that a read past its end is caught, and a view
// of it kept after it is gone reads garbage or is reported (picohttpparser's tests do the
// same). Free of any test framework: the unit tests and the libFuzzer targets share it.
//
// Without AddressSanitizer the copy ends flush against a PROT_NONE page: a read one byte
// past it faults at once instead of reading whatever follows. Under ASan (the fuzz targets,
// the sanitized unit tests) each copy is an allocation of exactly its size instead, freed
// by the next place() or release(): ASan reports a read past either end and a read through
// a view of a freed copy, which a page cannot (the bytes before the copy are readable, and
// the next copy reuses its addresses).
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <string_view>

#if defined(__SANITIZE_ADDRESS__)
#define RINGLOAD_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RINGLOAD_TEST_ASAN 1
#endif
#endif

namespace ringload::test {

#ifdef RINGLOAD_TEST_ASAN
inline constexpr bool exact_copies = true;
#else
inline constexpr bool exact_copies = false;
#endif

class GuardPage {
 public:
  // `capacity`: the longest input place() will take.
  explicit GuardPage(std::size_t capacity = 256 * 1024) {
    page_ = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    usable_ = (capacity + page_ - 1) / page_ * page_;
    if (exact_copies) return;
    void* m = mmap(nullptr, usable_ + page_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::runtime_error("guard page: mmap failed");
    base_ = static_cast<char*>(m);
    if (mprotect(base_ + usable_, page_, PROT_NONE) != 0) {
      munmap(base_, usable_ + page_);
      throw std::runtime_error("guard page: mprotect failed");
    }
  }
  ~GuardPage() {
    if (base_ != nullptr) munmap(base_, usable_ + page_);
  }
  GuardPage(const GuardPage&) = delete;
  GuardPage& operator=(const GuardPage&) = delete;

  // Copies `bytes` to end at the protected page (under ASan: to an allocation of exactly
  // their size). The span stays valid until the next place() or release(); `bytes` may
  // itself be the previous copy.
  std::span<const char> place(std::string_view bytes) {
    if (bytes.size() > usable_) throw std::length_error("guard page: input too long");
    if (exact_copies) {
      std::unique_ptr<char[]> copy(new char[bytes.size()]);
      if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
      copy_ = std::move(copy);  // frees the previous copy, after reading from it
      live_ = {copy_.get(), bytes.size()};
      return live_;
    }
    char* dst = base_ + usable_ - bytes.size();
    if (!bytes.empty()) std::memmove(dst, bytes.data(), bytes.size());
    live_ = {dst, bytes.size()};
    return live_;
  }

  // Ends the last copy's life: freed under ASan (a view of it used later is reported),
  // else overwritten (a view of it reads garbage).
  void release() noexcept {
    if (exact_copies) {
      copy_.reset();
    } else if (!live_.empty()) {
      std::memset(live_.data(), 0xa5, live_.size());
    }
    live_ = {};
  }

  std::size_t capacity() const noexcept { return usable_; }

 private:
  char* base_ = nullptr;
  std::size_t page_ = 0;
  std::size_t usable_ = 0;
  std::unique_ptr<char[]> copy_;  // under ASan: the last copy
  std::span<char> live_;          // the last copy, until release()
};

}  // namespace ringload::test
