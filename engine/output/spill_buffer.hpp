// Bytes held in memory up to a bound, then in an unlinked temporary file, so that what
// the export writer holds for one response does not grow with the response's size: a
// 100 MB body costs the writer a few hundred KiB of memory and 100 MB of disk.
//
// One SpillArea is shared by the buffers of one writer thread (no locking): it names the
// directory of the temporary files and bounds the memory all its buffers keep in total.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ringload {

class SpillArea {
 public:
  // `dir`: where temporary files go (the export file's directory: its disk has room for
  // what is exported). `per_buffer`: most bytes one buffer keeps in memory; `total`: most
  // bytes all buffers keep in memory together.
  SpillArea(std::string dir, std::size_t per_buffer, std::size_t total);

  std::size_t in_memory() const noexcept { return in_memory_; }
  uint64_t spills() const noexcept { return spills_; }  // buffers that went to a file
  const std::string& dir() const noexcept { return dir_; }

 private:
  friend class SpillBuffer;
  // An unlinked temporary file (O_TMPFILE, else mkstemp + unlink); -1 with `error` set.
  int create_file(std::string& error);

  std::string dir_;
  std::size_t per_buffer_;
  std::size_t total_;
  std::size_t in_memory_ = 0;
  uint64_t spills_ = 0;
};

class SpillBuffer {
 public:
  SpillBuffer() = default;
  ~SpillBuffer();
  SpillBuffer(SpillBuffer&& o) noexcept;
  SpillBuffer& operator=(SpillBuffer&&) = delete;
  SpillBuffer(const SpillBuffer&) = delete;

  // Appends `bytes`. false: the temporary file could not be made or written; `error`
  // says why (with the errno text) and the content is no longer whole.
  bool append(SpillArea& area, std::span<const char> bytes, std::string& error);

  uint64_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  bool spilled() const noexcept { return fd_ >= 0; }

  // Calls fn(std::span<const char>) over the content, in order, in pieces of at most
  // 64 KiB when spilled (read through `scratch`). false: a read failed (`error`).
  template <typename Fn>
  bool for_each(SpillArea& area, std::string& scratch, std::string& error, Fn&& fn);

  // Empties the buffer: the file is closed (its disk space freed), memory returned to
  // the area; a large memory block is released.
  void clear(SpillArea& area) noexcept;

 private:
  static constexpr std::size_t write_buffer = 64 * 1024;
  bool spill(SpillArea& area, std::string& error);
  bool flush(SpillArea& area, std::string& error);
  bool read_at(uint64_t offset, std::string& scratch, std::size_t& got, std::string& error);

  std::string mem_;    // the content (not spilled), or bytes not yet written to the file
  uint64_t size_ = 0;  // content bytes in all
  uint64_t file_size_ = 0;
  int fd_ = -1;
};

template <typename Fn>
bool SpillBuffer::for_each(SpillArea& area, std::string& scratch, std::string& error, Fn&& fn) {
  if (fd_ < 0) {
    if (!mem_.empty()) fn(std::span<const char>(mem_.data(), mem_.size()));
    return true;
  }
  if (!flush(area, error)) return false;
  for (uint64_t offset = 0; offset < file_size_;) {
    std::size_t got = 0;
    if (!read_at(offset, scratch, got, error)) return false;
    fn(std::span<const char>(scratch.data(), got));
    offset += got;
  }
  return true;
}

}  // namespace ringload
