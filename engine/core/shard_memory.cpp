// What a shard allocated for its run, by part (ringload/memory.hpp).
#include "engine/core/shard.hpp"
#include "engine/output/memory_report.hpp"

namespace ringload {

MemoryUsage Shard::allocated() const noexcept {
  MemoryUsage m;
  m.connections = slab_.size();
  m.slots = slab_.slot_bytes();
  m.scratch = slab_.scratch_bytes();
  m.carry_reserved = slab_.carry_reserved_bytes();
  m.buffer_rings = buffers_.bytes();
  m.rings = ring_.bytes();
  m.session_state = sessions_.bytes() + resends_.capacity() * sizeof(Resend) +
                    (plan_.plugins != nullptr ? plugins_.bytes() : 0);
  m.tls = tls_.sessions.capacity() * sizeof(TlsSession) + tls_.plaintext.capacity();
  m.timers = timers_.bytes();
  return m;
}

// Histograms on the pages that hold counts: the recorder's, the snapshot the control
// thread reads, each name's.
MemoryUsage Shard::memory() const noexcept {
  MemoryUsage m = allocated_;
  const Recorder& r = recorder_;
  m.histograms = stats_bytes(r.stats()) + stats_bytes(control_.snapshot);
  for (const NameStats& n : r.by_name()) m.histograms += sizeof n - sizeof n.latency + n.latency.resident_bytes();
  return m;
}

}  // namespace ringload
