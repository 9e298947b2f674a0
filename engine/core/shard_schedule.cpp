// What a shard sends next and on which connection: the closed loop, the open loop's
// schedule, the run's sequence of lines.
#include <algorithm>

#include "engine/core/clock.hpp"
#include "engine/core/shard.hpp"

namespace ringload {

// An idle connection goes back to its origin's free list; pump() hands it work.
void Shard::release(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  c.state = ConnState::idle;
  if (!c.in_free_list) {
    c.in_free_list = true;
    free_[c.origin].push_back(slot);
  }
}

// Sends the shard's next positions, in order, while their origin has an idle
// connection. A position whose origin has none waits (and the ones after it), so each
// shard keeps the file order.
void Shard::pump() noexcept {
  if (plan_.open_loop) {
    pump_open(now_ns());
    return;
  }
  while (next_position_ < plan_.limit) {
    const uint32_t line = line_at(next_position_);
    const uint32_t slot = take_idle(table_.lines[line].origin);
    if (slot == UINT32_MAX) return;
    issue(slot, line, next_position_, now_ns());
    next_position_ += plan_.shard_count;
  }
}

// The open loop: every request whose intended time has come goes out now, on an idle
// connection of its origin. None idle: it waits (its latency still counts from its
// intended time) and another connection is opened if -c allows.
void Shard::pump_open(uint64_t now) noexcept {
  while (next_position_ < plan_.limit) {
    const uint64_t due = pacer_.due_ns();
    if (due > now) return;
    const uint32_t line = line_at(next_position_);
    const uint16_t origin = table_.lines[line].origin;
    const uint32_t slot = take_idle(origin);
    if (slot == UINT32_MAX) {
      if (!waiting_counted_) ++stats_->counters.waited_for_connection;
      waiting_counted_ = true;
      grow(origin, now);
      return;
    }
    waiting_counted_ = false;
    issue(slot, line, next_position_, due);
    pacer_.advance();
    next_position_ += plan_.shard_count;
  }
}

uint32_t Shard::take_idle(uint16_t origin) noexcept {
  std::vector<uint32_t>& free = free_[origin];
  while (!free.empty()) {
    const uint32_t s = free.back();
    free.pop_back();
    conns_[s].in_free_list = false;
    if (conns_[s].state == ConnState::idle) return s;
  }
  return UINT32_MAX;
}

// Opens connections for requests waiting on `origin`: as many as are overdue, less those
// already connecting, within the origin's share of -c.
void Shard::grow(uint16_t origin, uint64_t now) noexcept {
  const double rate = pacer_.rate_at(now);
  const double overdue = 1 + rate * static_cast<double>(now - pacer_.due_ns()) / 1e9;
  while (opened_[origin] < plan_.connections[origin] && connecting_[origin] < overdue) {
    start_connect(first_slot_[origin] + opened_[origin]);
    ++opened_[origin];
  }
}

// The line at a position of the run's sequence: file order, or the pass's shuffle.
uint32_t Shard::line_at(uint64_t position) noexcept {
  const uint64_t lines = table_.lines.size();
  const uint64_t index = position % lines;
  if (!config_.shuffle) return static_cast<uint32_t>(index);
  const uint64_t pass = position / lines;
  if (pass != order_pass_) {
    // Every shard computes the same permutation from (seed, pass): reproducible.
    uint64_t state = config_.seed ^ (pass * 0x9e3779b97f4a7c15ull);
    auto next = [&state] {
      uint64_t z = (state += 0x9e3779b97f4a7c15ull);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      return z ^ (z >> 31);
    };
    for (uint32_t i = 0; i < lines; ++i) order_[i] = i;
    for (uint64_t i = lines - 1; i > 0; --i) std::swap(order_[i], order_[next() % (i + 1)]);
    order_pass_ = pass;
  }
  return order_[index];
}

}  // namespace ringload
