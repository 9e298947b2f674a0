#include "engine/output/export_queue.hpp"

#include <sched.h>
#include <time.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>

namespace ringload {
namespace {

constexpr std::size_t max_queue_bytes = std::size_t{1} << 30;  // record lengths are u32
constexpr std::size_t min_chunk = 64;  // smaller pieces only for the last bytes of a span

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

ExportQueue::ExportQueue(std::size_t capacity_bytes) {
  const std::size_t cap =
      std::bit_ceil(std::clamp(capacity_bytes, limits::min_export_queue_bytes, max_queue_bytes));
  ring_ = static_cast<char*>(::operator new(cap, std::align_val_t{64}));
  // Touch every page now: page faults belong to setup, not to the shard's first wrap.
  std::memset(ring_, 0, cap);
  mask_ = cap - 1;
}

ExportQueue::~ExportQueue() { ::operator delete(ring_, std::align_val_t{64}); }

// Returns once `need` bytes are free. The first look uses the cached consumer position;
// after that the producer waits for a quarter of the ring, so it resumes with large
// records instead of trickling one small record per byte freed.
void ExportQueue::ensure_free(std::size_t need) noexcept {
  const std::size_t cap = mask_ + 1;
  const uint64_t tail = tail_.load(std::memory_order_relaxed);
  if (cap - (tail - head_seen_) >= need) return;
  head_seen_ = head_.load(std::memory_order_acquire);
  if (cap - (tail - head_seen_) >= need) return;
  waits_.store(waits_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  const std::size_t target = std::max(need, cap / 4);
  for (uint32_t i = 0;; ++i) {
    head_seen_ = head_.load(std::memory_order_acquire);
    if (cap - (tail - head_seen_) >= target) return;
    if (i < 256) {
      cpu_relax();
    } else if (i < 512) {
      sched_yield();
    } else {
      timespec ts{0, 50'000};
      nanosleep(&ts, nullptr);
    }
  }
}

// Reserves a contiguous record of record_header + [min_payload, want] bytes and returns
// its ring offset; `granted` is the payload size. A record never wraps: the rest of the
// ring is given to a padding record instead.
std::size_t ExportQueue::reserve(std::size_t min_payload, std::size_t want, std::size_t& granted) noexcept {
  const std::size_t cap = mask_ + 1;
  for (;;) {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    const std::size_t pos = tail & mask_;
    const std::size_t to_end = cap - pos;
    if (to_end < record_header + min_payload) {
      ensure_free(to_end);
      const auto len = static_cast<uint32_t>(to_end);
      std::memcpy(ring_ + pos, &len, 4);
      ring_[pos + 4] = static_cast<char>(Kind::pad);
      tail_.store(tail + to_end, std::memory_order_release);
      continue;
    }
    ensure_free(record_header + min_payload);
    const std::size_t free = cap - (tail - head_seen_);
    granted = std::min(want, std::min(to_end, free) - record_header);
    return pos;
  }
}

void ExportQueue::publish(std::size_t pos, Kind kind, uint64_t id, std::size_t payload_len) noexcept {
  const auto len = static_cast<uint32_t>(record_header + payload_len);
  char* r = ring_ + pos;
  std::memcpy(r, &len, 4);
  r[4] = static_cast<char>(kind);
  std::memcpy(r + 8, &id, 8);
  tail_.store(tail_.load(std::memory_order_relaxed) + round8(len), std::memory_order_release);
}

void ExportQueue::chunks(Kind kind, uint64_t id, std::span<const char> bytes) noexcept {
  while (!bytes.empty()) {
    std::size_t granted = 0;
    const std::size_t pos = reserve(std::min(bytes.size(), min_chunk), bytes.size(), granted);
    std::memcpy(ring_ + pos + record_header, bytes.data(), granted);
    publish(pos, kind, id, granted);
    bytes = bytes.subspan(granted);
  }
}

void ExportQueue::head(uint64_t id, std::span<const char> raw_head) noexcept { chunks(Kind::head, id, raw_head); }
void ExportQueue::body(uint64_t id, std::span<const char> bytes) noexcept { chunks(Kind::body, id, bytes); }

void ExportQueue::discard(uint64_t id) noexcept {
  std::size_t granted = 0;
  publish(reserve(0, 0, granted), Kind::discard, id, 0);
}

void ExportQueue::replace_head(uint64_t id, std::span<const char> raw_head) noexcept {
  std::size_t granted = 0;
  publish(reserve(0, 0, granted), Kind::head_reset, id, 0);
  chunks(Kind::head, id, raw_head);
}

void ExportQueue::reset_body(uint64_t id) noexcept {
  std::size_t granted = 0;
  publish(reserve(0, 0, granted), Kind::body_reset, id, 0);
}

void ExportQueue::item(uint64_t id, const ExportItem& item) noexcept {
  ItemFields f{item.t_ns,
               static_cast<uint32_t>(std::min(item.type.size(), limits::max_export_item_field)),
               static_cast<uint32_t>(std::min(item.event_id.size(), limits::max_export_item_field)),
               item.message, item.binary, item.has_type, {}};
  const std::size_t size = sizeof f + f.type_len + f.id_len;
  std::size_t granted = 0;
  const std::size_t pos = reserve(size, size, granted);
  char* out = ring_ + pos + record_header;
  std::memcpy(out, &f, sizeof f);
  // Empty views may have a null data(): memcpy must not see it.
  if (f.type_len != 0) std::memcpy(out + sizeof f, item.type.data(), f.type_len);
  if (f.id_len != 0) std::memcpy(out + sizeof f + f.type_len, item.event_id.data(), f.id_len);
  publish(pos, Kind::item, id, size);
}

void ExportQueue::item_data(uint64_t id, std::span<const char> bytes) noexcept { chunks(Kind::item_data, id, bytes); }

void ExportQueue::close(uint64_t id, uint16_t code, bool by_server, std::string_view reason) noexcept {
  // A close reason is at most 123 bytes (RFC 6455 §5.5): one record.
  CloseFields f{code, by_server, 0, static_cast<uint32_t>(std::min<std::size_t>(reason.size(), 125))};
  const std::size_t size = sizeof f + f.reason_len;
  std::size_t granted = 0;
  const std::size_t pos = reserve(size, size, granted);
  std::memcpy(ring_ + pos + record_header, &f, sizeof f);
  if (f.reason_len != 0) std::memcpy(ring_ + pos + record_header + sizeof f, reason.data(), f.reason_len);
  publish(pos, Kind::close, id, size);
}

void ExportQueue::end(const ExportEnd& e) noexcept {
  EndFields f{e.start_ns, e.first_byte_ns, e.end_ns, e.line_index, e.iteration, e.status, e.error_kind, 0,
              e.body_truncated ? 1u : 0u, e.stream_end, static_cast<int32_t>(e.protocol)};
  if (e.error_message != nullptr)
    f.message_len = static_cast<uint32_t>(strnlen(e.error_message, limits::max_export_message));
  const std::size_t size = sizeof f + f.message_len;
  std::size_t granted = 0;
  const std::size_t pos = reserve(size, size, granted);
  std::memcpy(ring_ + pos + record_header, &f, sizeof f);
  if (f.message_len != 0) std::memcpy(ring_ + pos + record_header + sizeof f, e.error_message, f.message_len);
  publish(pos, Kind::end, e.id, size);
}

}  // namespace ringload
