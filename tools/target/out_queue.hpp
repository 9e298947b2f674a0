#pragma once
// A connection's pending output: bytes it owns (status lines, headers, small bodies) and
// references to immutable process-wide memory (the deterministic body pattern), sent in
// order with writev. Large bodies are never copied per response.

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace ringload::target {

namespace pattern {
// Deterministic body bytes: byte i of every generated body is alphabet[i % period].
inline constexpr std::string_view alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
inline constexpr std::size_t period = 64;
// Longest slice one reference may cover; slices start at offset % period.
inline constexpr std::size_t max_slice = 64 * 1024;
// Pointer to the bytes of pattern offset `offset` (only offset % period matters); at least
// max_slice bytes are readable from there. Never freed.
const char* at(std::uint64_t offset) noexcept;
}  // namespace pattern

enum class FlushStatus : std::uint8_t { done, again, error };

class OutQueue {
 public:
  void append(std::string_view bytes);
  // Queues `n` bytes that the caller writes through the returned pointer before the next
  // call on this queue.
  char* append_uninit(std::size_t n);
  // `bytes` must stay valid and unchanged until sent (the pattern, process-wide constants).
  void append_ref(std::string_view bytes);
  std::size_t queued() const noexcept { return queued_; }
  bool empty() const noexcept { return queued_ == 0; }
  // Writes until everything is sent (done), the socket is full (again) or it fails (error,
  // errno set). Never blocks on a non-blocking fd.
  FlushStatus flush(int fd) noexcept;
  // Drops everything; keeps the memory unless a large response left a lot behind.
  void clear() noexcept;

 private:
  // Queues owned_[at, at + n), just added.
  void add_owned(std::size_t at, std::size_t n);

  struct Segment {
    const char* ref;     // nullptr: bytes owned_[offset, offset + length)
    std::size_t offset;  // owned only
    std::size_t length;
  };
  std::string owned_;
  std::vector<Segment> segments_;
  std::size_t head_ = 0;    // first segment not completely sent
  std::size_t queued_ = 0;  // bytes not yet sent
};

// IMF-fixdate of the current second (RFC 9110 §5.6.7), for the Date header an origin server
// with a clock must send (RFC 9110 §6.6.1). Refreshed by the owner thread.
class DateCache {
 public:
  DateCache() noexcept { refresh(); }
  // Cheap when the second has not changed (a coarse clock read).
  void refresh() noexcept;
  std::string_view value() const noexcept { return {text_, length_}; }

 private:
  std::time_t second_ = -1;
  char text_[40] = {};
  std::size_t length_ = 0;
};

}  // namespace ringload::target
