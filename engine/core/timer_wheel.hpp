// Hashed timer wheel: one optional deadline per slot id (a connection), O(1) arm and
// cancel, expiry in tick order. Storage is sized once; nothing allocates afterwards.
// A deadline beyond one revolution stays in its slot and is skipped until due.
#pragma once
#include <cstdint>
#include <vector>

namespace ringload {

class TimerWheel {
 public:
  static constexpr uint32_t none = UINT32_MAX;
  static constexpr uint64_t tick_ns = 1'000'000;  // 1 ms
  static constexpr uint32_t slots = 1024;         // one revolution: ~1 s

  void init(uint32_t ids, uint64_t now_ns) {
    next_.assign(ids, none);
    prev_.assign(ids, none);
    deadline_.assign(ids, 0);
    armed_.assign(ids, 0);
    slot_.assign(ids, 0);
    heads_.assign(slots, none);
    current_tick_ = now_ns / tick_ns;
  }

  void arm(uint32_t id, uint64_t deadline_ns) noexcept {
    if (armed_[id]) cancel(id);
    uint64_t tick = deadline_ns / tick_ns;
    if (tick < current_tick_) tick = current_tick_;
    uint32_t slot = static_cast<uint32_t>(tick % slots);
    deadline_[id] = deadline_ns;
    slot_[id] = static_cast<uint16_t>(slot);
    prev_[id] = none;
    next_[id] = heads_[slot];
    if (heads_[slot] != none) prev_[heads_[slot]] = id;
    heads_[slot] = id;
    armed_[id] = 1;
    ++count_;
  }

  void cancel(uint32_t id) noexcept {
    if (!armed_[id]) return;
    cancel_in_slot(id, slot_[id]);
  }

  bool armed(uint32_t id) const noexcept { return armed_[id] != 0; }
  uint64_t deadline(uint32_t id) const noexcept { return deadline_[id]; }  // when armed
  uint32_t size() const noexcept { return count_; }

  // Calls fire(id) for every deadline <= now_ns, each once, disarmed before the call
  // (fire may re-arm it). Visits each tick from the last call up to now.
  template <typename Fire>
  void expire(uint64_t now_ns, Fire&& fire) {
    uint64_t now_tick = now_ns / tick_ns;
    if (count_ == 0) {
      current_tick_ = now_tick;
      return;
    }
    uint64_t last = now_tick - current_tick_ >= slots ? current_tick_ + slots - 1 : now_tick;
    for (uint64_t t = current_tick_; t <= last; ++t) {
      uint32_t slot = static_cast<uint32_t>(t % slots);
      uint32_t id = heads_[slot];
      while (id != none) {
        uint32_t next = next_[id];
        if (deadline_[id] <= now_ns) {
          cancel_in_slot(id, slot);
          fire(id);
        }
        id = next;
      }
    }
    current_tick_ = now_tick;
  }

  // Earliest tick with a deadline, bounded by `limit_ns` from now (for the ring's wait).
  uint64_t next_wait_ns(uint64_t now_ns, uint64_t limit_ns) const noexcept {
    if (count_ == 0) return limit_ns;
    // From the last tick expire() reached: a deadline already past but not yet fired
    // sits in an earlier slot than now's.
    const uint64_t last_tick = (now_ns + limit_ns) / tick_ns;
    uint64_t best = limit_ns;
    for (uint64_t t = current_tick_; t <= last_tick && t - current_tick_ < slots; ++t) {
      for (uint32_t id = heads_[t % slots]; id != none; id = next_[id]) {
        if (deadline_[id] > now_ns + limit_ns) continue;  // a later revolution
        const uint64_t wait = deadline_[id] > now_ns ? deadline_[id] - now_ns : 0;
        if (wait < best) best = wait;
      }
      if (best < limit_ns && (t + 1) * tick_ns > now_ns + best) break;  // nothing earlier can follow
    }
    return best;
  }

 private:
  void cancel_in_slot(uint32_t id, uint32_t slot) noexcept {
    if (prev_[id] != none) next_[prev_[id]] = next_[id];
    else heads_[slot] = next_[id];
    if (next_[id] != none) prev_[next_[id]] = prev_[id];
    armed_[id] = 0;
    --count_;
  }

 public:
  std::size_t bytes() const noexcept {
    return (next_.capacity() + prev_.capacity() + heads_.capacity()) * sizeof(uint32_t) +
           deadline_.capacity() * sizeof(uint64_t) + armed_.capacity() + slot_.capacity() * sizeof(uint16_t);
  }

 private:
  std::vector<uint32_t> next_, prev_;
  std::vector<uint64_t> deadline_;
  std::vector<uint8_t> armed_;
  std::vector<uint16_t> slot_;
  std::vector<uint32_t> heads_;
  uint64_t current_tick_ = 0;
  uint32_t count_ = 0;
};

}  // namespace ringload
