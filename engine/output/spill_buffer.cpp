#include "engine/output/spill_buffer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace ringload {

SpillArea::SpillArea(std::string dir, std::size_t per_buffer, std::size_t total)
    : dir_(std::move(dir)), per_buffer_(per_buffer), total_(total) {}

int SpillArea::create_file(std::string& error) {
  int fd = ::open(dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    // Filesystems without O_TMPFILE: a named file, unlinked at once.
    std::string name = dir_ + "/.ringload-spill-XXXXXX";
    fd = mkostemp(name.data(), O_CLOEXEC);
    if (fd >= 0) unlink(name.c_str());
  }
  if (fd < 0) {
    error = "cannot create a temporary file in '" + dir_ + "': " + std::strerror(errno);
    return -1;
  }
  ++spills_;
  return fd;
}

SpillBuffer::~SpillBuffer() {
  if (fd_ >= 0) ::close(fd_);
}

SpillBuffer::SpillBuffer(SpillBuffer&& o) noexcept
    : mem_(std::move(o.mem_)), size_(o.size_), file_size_(o.file_size_), fd_(std::exchange(o.fd_, -1)) {
  o.size_ = o.file_size_ = 0;
}

bool SpillBuffer::append(SpillArea& area, std::span<const char> bytes, std::string& error) {
  if (bytes.empty()) return true;
  const std::size_t n = bytes.size();
  if (fd_ < 0) {
    if (mem_.size() + n <= area.per_buffer_ && area.in_memory_ + n <= area.total_) {
      mem_.append(bytes.data(), n);
      area.in_memory_ += n;
      size_ += n;
      return true;
    }
    if (!spill(area, error)) return false;
  }
  // Spilled: small appends gather in a write buffer while the area has room for it.
  if (mem_.size() + n > write_buffer || area.in_memory_ + n > area.total_) {
    if (!flush(area, error)) return false;
  }
  if (n <= write_buffer && area.in_memory_ + n <= area.total_) {
    mem_.append(bytes.data(), n);
    area.in_memory_ += n;
    size_ += n;
    return true;
  }
  std::size_t done = 0;
  while (done < n) {
    const ssize_t w = ::pwrite(fd_, bytes.data() + done, n - done, static_cast<off_t>(file_size_));
    if (w < 0) {
      if (errno == EINTR) continue;
      error = "cannot write a temporary file in '" + area.dir_ + "': " + std::strerror(errno);
      return false;
    }
    done += static_cast<std::size_t>(w);
    file_size_ += static_cast<uint64_t>(w);
  }
  size_ += n;
  return true;
}

// Moves the content to a new temporary file; the memory it held becomes the (empty)
// write buffer.
bool SpillBuffer::spill(SpillArea& area, std::string& error) {
  fd_ = area.create_file(error);
  if (fd_ < 0) return false;
  if (!flush(area, error)) {
    ::close(fd_);
    fd_ = -1;
    file_size_ = 0;
    return false;
  }
  if (mem_.capacity() > write_buffer) std::string().swap(mem_);
  return true;
}

// Writes the memory part to the end of the file. On failure the unwritten rest stays.
bool SpillBuffer::flush(SpillArea& area, std::string& error) {
  std::size_t done = 0;
  bool ok = true;
  while (done < mem_.size()) {
    const ssize_t w = ::pwrite(fd_, mem_.data() + done, mem_.size() - done, static_cast<off_t>(file_size_));
    if (w < 0) {
      if (errno == EINTR) continue;
      error = "cannot write a temporary file in '" + area.dir_ + "': " + std::strerror(errno);
      ok = false;
      break;
    }
    done += static_cast<std::size_t>(w);
    file_size_ += static_cast<uint64_t>(w);
  }
  mem_.erase(0, done);
  area.in_memory_ -= done;
  return ok;
}

bool SpillBuffer::read_at(uint64_t offset, std::string& scratch, std::size_t& got, std::string& error) {
  if (scratch.size() < write_buffer) scratch.resize(write_buffer);
  const std::size_t want = static_cast<std::size_t>(std::min<uint64_t>(write_buffer, file_size_ - offset));
  for (;;) {
    const ssize_t r = ::pread(fd_, scratch.data(), want, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      error = std::string("cannot read a temporary file: ") + (r < 0 ? std::strerror(errno) : "it is shorter than written");
      return false;
    }
    got = static_cast<std::size_t>(r);
    return true;
  }
}

void SpillBuffer::clear(SpillArea& area) noexcept {
  area.in_memory_ -= mem_.size();
  mem_.clear();
  if (mem_.capacity() > write_buffer) std::string().swap(mem_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  size_ = file_size_ = 0;
}

}  // namespace ringload
