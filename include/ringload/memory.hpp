// The engine's own memory for one run, by part, in bytes (the JSON report's `memory`
// block). What the engine allocated for the run, not the process's RSS: the kernel's
// socket buffers, wolfSSL's own heap per TLS connection (about 74 KB) and the
// program's code and stacks are not in it.
#pragma once
#include <cstdint>

namespace ringload {

struct MemoryUsage {
  uint64_t connections = 0;     // connection slots over all shards
  // Per connection (they grow with -c).
  uint64_t slots = 0;           // the slab's Conn slots and free lists
  uint64_t scratch = 0;         // request-head scratch (sized from the run's longest head)
  uint64_t buffer_rings = 0;    // provided receive buffers and their rings
  uint64_t rings = 0;           // io_uring submission and completion queues
  uint64_t session_state = 0;   // SSE / WebSocket / plugin state per slot (runs that use them)
  uint64_t tls = 0;             // TLS session objects and plaintext buffers (TLS origins only)
  uint64_t timers = 0;          // the timer wheels
  // Fixed (they do not grow with -c).
  uint64_t histograms = 0;      // statistics on pages that hold a count (see histogram.hpp)
  uint64_t request_table = 0;   // the rendered requests
  uint64_t export_queues = 0;   // --export: one queue per shard
  // Reserved, not in the total: address space a page of which costs memory only once
  // written (a response head split across reads).
  uint64_t carry_reserved = 0;

  uint64_t per_connection_parts() const noexcept {
    return slots + scratch + buffer_rings + rings + session_state + tls + timers;
  }
  uint64_t total() const noexcept { return per_connection_parts() + histograms + request_table + export_queues; }
  // The parts that grow with -c, divided by the connections.
  uint64_t per_connection() const noexcept {
    return connections == 0 ? 0 : per_connection_parts() / connections;
  }
  void add(const MemoryUsage& o) noexcept {
    connections += o.connections;
    slots += o.slots;
    scratch += o.scratch;
    buffer_rings += o.buffer_rings;
    rings += o.rings;
    session_state += o.session_state;
    tls += o.tls;
    timers += o.timers;
    histograms += o.histograms;
    request_table += o.request_table;
    export_queues += o.export_queues;
    carry_reserved += o.carry_reserved;
  }
};

}  // namespace ringload
