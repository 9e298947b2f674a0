// What a shard sends next and on which connection: the closed loop (when a connection
// is free), the open loop's schedule (at intended times), the run's sequence of lines.
#include <algorithm>

#include "engine/core/clock.hpp"
#include "engine/core/shard.hpp"

namespace ringload {

// Sends the shard's next positions, in order, while their origin has an idle connection.
// A position whose origin has none waits (and the ones after it), so each shard keeps the
// file order.
void Shard::pump() noexcept {
  if (!pump_resends()) return;
  if (plan_.open_loop) {
    pump_open(now_ns());
    return;
  }
  while (!sequence_.done()) {
    const uint32_t line = sequence_.line();
    const uint32_t slot = slab_.take_idle(table_.lines[line].origin);
    if (slot == UINT32_MAX) return;
    issue(slot, line, now_ns());
    sequence_.advance();
  }
}

// The open loop: every request whose intended time has come goes out now, on an idle
// connection of its origin. None idle (all -c are busy, or reconnecting): it waits, and its
// latency still counts from its intended time.
void Shard::pump_open(uint64_t now) noexcept {
  while (!sequence_.done()) {
    const uint64_t due = pacer_.due_ns();
    if (due > now) return;
    const uint32_t line = sequence_.line();
    const uint16_t origin = table_.lines[line].origin;
    const uint32_t slot = slab_.take_idle(origin);
    if (slot == UINT32_MAX) {
      if (!waiting_counted_) ++recorder_.stats().counters.waited_for_connection;
      waiting_counted_ = true;
      return;
    }
    waiting_counted_ = false;
    if (spin_window_ns_ != 0) ++recorder_.stats().counters.spun_sends;
    issue(slot, line, due);
    pacer_.advance();
    sequence_.advance();
  }
}

// Requests the server did not process (an HTTP/2 GOAWAY) go again first, with their
// intended time (their latency counts from it), each on a connection of its origin with
// room. False while one waits for a connection.
bool Shard::pump_resends() noexcept {
  while (resend_count_ > 0) {
    const Resend again = resends_[resend_first_];
    const uint32_t slot = slab_.take_idle(table_.lines[again.line].origin);
    if (slot == UINT32_MAX) return false;
    resend_first_ = (resend_first_ + 1) % resends_.size();
    --resend_count_;
    --in_flight_;  // issue() counts it again
    issue(slot, again.line, again.intended_ns, &again);
  }
  return true;
}

// Requests that were due before the end but never sent: reported, not silently lost.
void Shard::count_unsent(uint64_t end) noexcept {
  // Strictly before: the slot due exactly at the end of -d belongs to the next second.
  while (!sequence_.done() && pacer_.due_ns() < end) {
    ++unsent_at_end_;
    pacer_.advance();
    sequence_.advance();
  }
}

}  // namespace ringload
