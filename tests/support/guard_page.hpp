// Test helper: copies a parser's input so that it ends flush against a PROT_NONE page.
// A parser that reads one byte past its input faults at once instead of reading
// whatever happens to follow (picohttpparser's tests do the same).
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string_view>

namespace ringload::test {

class GuardPage {
 public:
  // `capacity`: the longest input place() will take.
  explicit GuardPage(std::size_t capacity = 256 * 1024) {
    page_ = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    usable_ = (capacity + page_ - 1) / page_ * page_;
    void* m = mmap(nullptr, usable_ + page_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::runtime_error("guard page: mmap failed");
    base_ = static_cast<char*>(m);
    if (mprotect(base_ + usable_, page_, PROT_NONE) != 0) {
      munmap(base_, usable_ + page_);
      throw std::runtime_error("guard page: mprotect failed");
    }
  }
  ~GuardPage() { munmap(base_, usable_ + page_); }
  GuardPage(const GuardPage&) = delete;
  GuardPage& operator=(const GuardPage&) = delete;

  // Copies `bytes` to end at the protected page. The span stays valid until the next
  // place(); `bytes` may itself lie inside the guarded area (memmove).
  std::span<const char> place(std::string_view bytes) {
    if (bytes.size() > usable_) throw std::length_error("guard page: input too long");
    char* dst = base_ + usable_ - bytes.size();
    if (!bytes.empty()) std::memmove(dst, bytes.data(), bytes.size());
    return {dst, bytes.size()};
  }

  std::size_t capacity() const noexcept { return usable_; }

 private:
  char* base_ = nullptr;
  std::size_t page_ = 0;
  std::size_t usable_ = 0;
};

}  // namespace ringload::test
