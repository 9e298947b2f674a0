#include "out_queue.hpp"

#include <sys/uio.h>

#include <array>
#include <cerrno>
#include <cstdio>

namespace ringload::target {
namespace pattern {
namespace {

constexpr std::size_t block_size = max_slice + period;

// Built at compile time: a slice starting anywhere in the first period stays inside it.
constexpr std::array<char, block_size> make_block() {
  std::array<char, block_size> b{};
  for (std::size_t i = 0; i < block_size; ++i) b[i] = alphabet[i % period];
  return b;
}
constexpr std::array<char, block_size> block = make_block();

}  // namespace

const char* at(std::uint64_t offset) noexcept { return block.data() + offset % period; }

}  // namespace pattern

void OutQueue::add_owned(std::size_t at, std::size_t n) {
  queued_ += n;
  if (head_ < segments_.size()) {
    Segment& last = segments_.back();
    // Consecutive owned bytes stay one iovec: a pipelined burst of small responses is one write.
    if (last.ref == nullptr && last.offset + last.length == at) {
      last.length += n;
      return;
    }
  }
  segments_.push_back({nullptr, at, n});
}

void OutQueue::append(std::string_view bytes) {
  if (bytes.empty()) return;
  const std::size_t at = owned_.size();
  owned_.append(bytes);
  add_owned(at, bytes.size());
}

char* OutQueue::append_uninit(std::size_t n) {
  const std::size_t at = owned_.size();
  // resize() zero-fills first; libstdc++ 12's resize_and_overwrite, which would not, hands
  // the callback a wrong size when the string grows.
  owned_.resize(at + n);
  if (n > 0) add_owned(at, n);
  return owned_.data() + at;
}

void OutQueue::append_ref(std::string_view bytes) {
  if (bytes.empty()) return;
  segments_.push_back({bytes.data(), 0, bytes.size()});
  queued_ += bytes.size();
}

FlushStatus OutQueue::flush(int fd) noexcept {
  constexpr std::size_t max_iov = 64;
  while (queued_ > 0) {
    std::array<iovec, max_iov> iov;
    std::size_t n = 0;
    std::size_t want = 0;
    for (std::size_t s = head_; s < segments_.size() && n < max_iov; ++s, ++n) {
      const Segment& seg = segments_[s];
      const char* base = seg.ref != nullptr ? seg.ref : owned_.data() + seg.offset;
      iov[n] = {const_cast<char*>(base), seg.length};
      want += seg.length;
    }
    const ssize_t sent = ::writev(fd, iov.data(), static_cast<int>(n));
    if (sent < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? FlushStatus::again : FlushStatus::error;
    }
    auto left = static_cast<std::size_t>(sent);
    queued_ -= left;
    while (left > 0) {
      Segment& seg = segments_[head_];
      if (left < seg.length) {
        seg.length -= left;
        if (seg.ref != nullptr) seg.ref += left; else seg.offset += left;
        break;
      }
      left -= seg.length;
      ++head_;
    }
    // A short write means the socket buffer is full: asking again would only get EAGAIN.
    if (static_cast<std::size_t>(sent) < want) break;
  }
  if (queued_ > 0) return FlushStatus::again;
  // Everything is out: start over at the front without freeing (the common case), unless
  // a reassembled WebSocket message left a buffer much larger than a burst of responses.
  constexpr std::size_t keep_after_flush = 1024 * 1024;
  if (owned_.capacity() > keep_after_flush) std::string{}.swap(owned_);
  else owned_.clear();
  segments_.clear();
  head_ = 0;
  return FlushStatus::done;
}

void OutQueue::clear() noexcept {
  constexpr std::size_t keep_bytes = 64 * 1024;
  if (owned_.capacity() > keep_bytes) std::string{}.swap(owned_);
  else owned_.clear();
  if (segments_.capacity() > keep_bytes / sizeof(Segment)) std::vector<Segment>{}.swap(segments_);
  else segments_.clear();
  head_ = 0;
  queued_ = 0;
}

void DateCache::refresh() noexcept {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
  if (now.tv_sec == second_) return;
  second_ = now.tv_sec;
  std::tm tm{};
  ::gmtime_r(&second_, &tm);
  // strftime's %a and %b are locale-dependent; the names must be the English ones.
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const int n = std::snprintf(text_, sizeof text_, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                              days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
                              tm.tm_hour, tm.tm_min, tm.tm_sec);
  length_ = n > 0 ? static_cast<std::size_t>(n) : 0;
}

}  // namespace ringload::target
