// The shard's thread: setup, the ring loop, completions to their handlers, snapshots for
// the control thread, and the stop.
#include "engine/core/shard.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>

#include "engine/core/clock.hpp"
#include "engine/core/user_data.hpp"

namespace ringload {
namespace {

// Receive buffers: 16 KiB each, twice the connections in count (a reap batch takes one
// per connection, more for a response split across reads) up to 1024, at most 4 MiB per
// shard: past 256 buffers they get smaller (4 KiB at 1024). Each buffer is lent to one
// completion and given back in the same loop turn, so the count bounds one turn's
// receives (beyond it: -ENOBUFS and a re-arm), not the connections.
constexpr uint32_t buffer_size = 16 * 1024;
constexpr uint32_t min_buffer_size = 4 * 1024;
constexpr uint32_t max_buffers = 1024;
constexpr std::size_t buffer_ring_budget = 4u << 20;
constexpr uint32_t carry_capacity = proto::limits::max_head_bytes;
constexpr std::size_t max_response_headers = 256;
constexpr uint64_t idle_tick_ns = 10'000'000;  // the longest the loop sleeps: stop latency

uint32_t pow2_at_least(uint32_t v, uint32_t lo, uint32_t hi) noexcept {
  uint32_t p = lo;
  while (p < v && p < hi) p <<= 1;
  return p;
}

}  // namespace

Shard::Shard(ShardPlan plan, const RunConfig& config, const PreparedRun& prepared, ShardControl& control) noexcept
    : plan_(std::move(plan)),
      config_(config),
      prepared_(prepared),
      table_(*prepared.table),
      control_(control),
      env_{recorder_.stats(), plan_.export_queue, config, {}, 0, {}, 0, 0, this} {}

Shard::~Shard() { teardown(); }

std::string Shard::run() noexcept {
  std::string err = setup();
  if (err.empty()) {
    allocated_ = allocated();
    loop();
  }
  end_ns_ = now_ns();
  in_flight_at_end_ = in_flight_;
  // Stats are not written after the loop: the control thread may read them once it sees
  // `finished` (the engine stores it after run() returns).
  control_.final_stats = &recorder_.stats();
  teardown();
  return err;
}

std::string Shard::setup() noexcept {
  if (plan_.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(plan_.cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
  uint32_t n = 0;
  for (uint32_t c : plan_.connections) n += c;
  // The ring is created here, in the shard's own thread: SINGLE_ISSUER binds it to its creator.
  std::string err = ring_.init(pow2_at_least(n * 2, 64, 8192), plan_.index == 0, notices_);
  const uint32_t buffers = pow2_at_least(n * 2, 128, max_buffers);
  const auto size = static_cast<uint32_t>(std::clamp<std::size_t>(buffer_ring_budget / buffers, min_buffer_size, buffer_size));
  if (err.empty() && plan_.direct_fds) err = ring_.register_files(n);
  if (err.empty()) err = buffers_.setup(ring_.raw(), 0, buffers, size);
  if (err.empty()) err = slab_.setup(plan_.connections, carry_capacity, scratch_needed());
  if (err.empty()) err = recorder_.setup(table_, config_);
  if (err.empty()) err = sessions_.setup(n, table_, config_, prepared_.origins, recorder_.stats().http2,
                                           slab_.scratch_size(), plan_.plugins != nullptr);
  // The resend ring (GOAWAY-unprocessed and refused streams): any HTTP/2 connection group,
  // a run's --h2c/--http2 or a request line's "http2": true.
  if (err.empty() && any_http2(prepared_.origins)) {
    try {
      resends_.resize(static_cast<std::size_t>(n) * std::max<uint32_t>(config_.max_streams, 1));
    } catch (const std::bad_alloc&) {
      err = "out of memory for the HTTP/2 resend queue";
    }
  }
  if (err.empty()) err = setup_tls();
  if (err.empty() && plan_.plugins != nullptr) {
    // A request per stream or pipelined request that can be in flight on a connection
    // (an HTTP/2 session has max_streams records, a pipeline `pipeline`; both 1 otherwise).
    const uint32_t per_conn = std::max<uint32_t>(config_.max_streams, config_.pipeline);
    err = plugins_.setup(*plan_.plugins, plan_.index, n, per_conn, slab_.scratch_size());
    env_.plugins = &plugins_;
  }
  if (!err.empty()) return err;
  try {
    timers_.init(n, now_ns());
    header_scratch_.resize(max_response_headers);
    sequence_.init(plan_.seq_first, plan_.seq_step, plan_.limit, table_.lines.size(), config_.shuffle, config_.seed);
  } catch (const std::bad_alloc&) {
    return "out of memory for " + std::to_string(n) + " connections";
  }
  // The closed loop waits up to RunConfig::batch_wait (default: 50 us, without streams) after a
  // first completion for the others of a batch (Ring::submit_and_wait_batch): a wake then
  // carries the responses of several connections, each sends more requests, and the server
  // reads more per read.
  if (!plan_.open_loop && config_.batch_wait.count() > 0)
    batch_wait_us_ = static_cast<uint32_t>(std::min<int64_t>(config_.batch_wait.count(), 1'000'000));
  env_.headers = header_scratch_;
  env_.scratch_size = slab_.scratch_size();
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, 0) != sizeof seed) seed = now_ns();
  env_.random.state = seed | 1;
  const auto timeout = static_cast<uint64_t>(config_.connect_timeout.count());
  connect_timeout_ = {static_cast<long long>(timeout / 1'000'000'000u), static_cast<long long>(timeout % 1'000'000'000u)};
  spin_.reset(plan_.spin);
  return {};
}

// The scratch a connection assembles its request head in: the longest line's head plus
// the origin's default headers and the final CRLF. Plugins may grow a head (up to
// max_request_head) and a WebSocket session writes its frames there, as many as fit:
// runs with either keep the full size.
std::size_t Shard::scratch_needed() const noexcept {
  std::size_t defaults = 0;
  for (const Origin& o : prepared_.origins)
    defaults = std::max(defaults, o.host_line.size() + o.user_agent_line.size() + o.accept_line.size());
  bool ws = false;
  for (const StreamSpec& s : table_.streams) ws = ws || s.proto == StreamProto::ws;
  if (ws || plan_.plugins != nullptr) return limits::max_request_head + defaults + 2;
  std::size_t head = 0;
  for (const RequestLine& l : table_.lines) head = std::max<std::size_t>(head, l.head_len);
  return head + defaults + 2;
}

// TLS: a session per https slot, created now (wolfSSL allocates its own state per
// connection; these objects and their buffers live for the whole run).
std::string Shard::setup_tls() noexcept {
  uint32_t slots = 0;
  for (uint16_t o = 0; o < slab_.origins(); ++o)
    if (prepared_.origins[o].tls) slots += slab_.count(o);
  if (slots == 0) return {};
  try {
    tls_.sessions = std::vector<TlsSession>(slots);
    tls_.cache.resize(slab_.origins());
    tls_.contexts.resize(slab_.origins());
    tls_.plaintext.resize(32 * 1024);
  } catch (const std::bad_alloc&) {
    return "out of memory for " + std::to_string(slots) + " TLS sessions";
  }
  for (uint16_t o = 0; o < slab_.origins(); ++o) tls_.contexts[o] = prepared_.origins[o].tls.get();
  tls_.resume = config_.tls.resume;
  tls_.stats = &recorder_.stats();
  uint32_t next = 0;
  for (uint32_t slot = 0; slot < slab_.size(); ++slot) {
    Conn& c = slab_[slot];
    if (tls_.contexts[c.origin] != nullptr) c.transport.use_tls(&tls_.sessions[next++], &tls_, c.origin);
  }
  return {};
}

void Shard::teardown() noexcept {
  // Direct sockets close with the ring's file table.
  for (uint32_t slot = 0; slot < slab_.size(); ++slot) {
    Conn& c = slab_[slot];
    if (c.fd >= 0 && !plan_.direct_fds) close(c.fd);
    c.fd = -1;
  }
  if (ring_.ready()) {
    buffers_.teardown();
    ring_.exit();
  }
}

// Both loops open every connection now. The closed loop sends on each as it opens; the
// open loop first waits for all of them (warm_up), so its first intended sends do not
// wait on connects.
void Shard::loop() noexcept {
  open_more();
  if (!plan_.open_loop || warm_up()) send_loop();
  end_sessions();
  maybe_publish();
}

// Until the deadline, the stop, or the last response: wait, handle, send what is due.
void Shard::send_loop() noexcept {
  const uint64_t deadline = plan_.deadline_ns;
  while (true) {
    const uint64_t now = now_ns();
    if (now >= deadline || control_.stop.load(std::memory_order_relaxed)) break;
    if (sequence_.done() && in_flight_ == 0) break;
    maybe_publish();
    const uint64_t version = control_.rate_version.load(std::memory_order_acquire);
    if (version != rate_version_seen_) {
      rate_version_seen_ = version;
      pacer_.rerate(control_.rate.load(std::memory_order_relaxed), now);
    }
    if (plan_.open_loop) spin_window_ns_ = spin_.window_ns(pacer_.rate_at(now));
    const uint64_t asked = std::min(wait_ns(now), deadline - now);
    // The closed loop: one wake per batch of completions (one per connection with requests
    // in flight, or batch_wait_us() after the first), not one per completion.
    const uint32_t batch_us = batch_wait_us();
    const unsigned want = batch_us != 0 ? static_cast<unsigned>(std::min<uint64_t>(in_flight_, slab_.size())) : 1;
    if (ring_.submit_and_wait_batch(asked, want, batch_us) && plan_.open_loop) {
      const uint64_t woke = now_ns();
      spin_.on_timed_wait(asked, woke > now + asked ? woke - (now + asked) : 0);
    }
    // Completions that arrive after the deadline are not part of the run.
    if (now_ns() >= deadline) break;
    handle();
    pump();
    flush_batched();
  }
  if (plan_.open_loop) count_unsent(std::min(now_ns(), deadline));
}

// The completions a wait brought, the buffers they gave back, and the timers that passed.
void Shard::handle() noexcept {
  ring_.reap([this](const io_uring_cqe* cqe) { dispatch(cqe); });
  buffers_.publish();
  timers_.expire(now_ns(), [this](uint32_t slot) { on_timer(slot); });
}

// One loop turn without sending (the open loop's warm-up): submit, wait, handle.
void Shard::turn(uint64_t wait) noexcept {
  maybe_publish();
  ring_.submit_and_wait(wait);
  handle();
}

// Connections still connecting or in their TLS handshake.
uint32_t Shard::opening() const noexcept {
  uint32_t n = slab_.size() - next_open_;
  for (uint32_t slot = 0; slot < slab_.size(); ++slot)
    n += slab_[slot].state == ConnState::connecting || slab_[slot].state == ConnState::handshaking;
  return n;
}

// The open loop's start: waits (bounded by the connect timeout: a slot that failed retries
// in the run) until every connection is open or has failed, says `ready`, then waits for
// the run's start and moves the plan there: the schedule and the deadline keep their
// shape, from the new t0. False: stopped before the start.
bool Shard::warm_up() noexcept {
  const uint64_t give_up = now_ns() + static_cast<uint64_t>(config_.connect_timeout.count()) + 100'000'000;
  while (opening() != 0 && now_ns() < give_up && !control_.stop.load(std::memory_order_relaxed))
    turn(1'000'000);
  uint32_t idle = 0;
  for (uint32_t slot = 0; slot < slab_.size(); ++slot) idle += slab_[slot].state == ConnState::idle;
  control_.preopened = idle;
  control_.ready.store(true, std::memory_order_release);
  uint64_t start = 0;
  while ((start = control_.start_ns.load(std::memory_order_acquire)) == 0) {
    if (control_.stop.load(std::memory_order_relaxed)) return false;
    turn(200'000);
  }
  const uint64_t shift = start > plan_.t0_ns ? start - plan_.t0_ns : 0;
  for (RateSegment& seg : plan_.rate) {
    seg.start_ns += shift;
    if (seg.end_ns != UINT64_MAX) seg.end_ns += shift;
  }
  if (plan_.deadline_ns != UINT64_MAX) plan_.deadline_ns += shift;
  pacer_.reset(plan_.rate, plan_.phase, plan_.poisson, plan_.seed + plan_.index);
  return true;
}

// Sessions still open when the run stops end as the session decides (a stream as
// run_end: a feed that never ends by itself is still counted and exported with what it
// received); requests waiting for their response stay in flight.
void Shard::end_sessions() noexcept {
  stopping_ = true;
  for (uint32_t slot = 0; slot < slab_.size(); ++slot) {
    Conn& c = slab_[slot];
    if (c.state == ConnState::busy) apply(slot, sessions_.on_stop(slot, c, env_), now_ns());
  }
}

// How long the loop may sleep: until the next deadline, the next intended send (less
// this turn's spin stretch: engine/load/spin.hpp), or a tick.
uint64_t Shard::wait_ns(uint64_t now) const noexcept {
  uint64_t wait = timers_.next_wait_ns(now, idle_tick_ns);
  if (plan_.open_loop && !sequence_.done()) {
    const uint64_t due = pacer_.due_ns();
    uint64_t until = due <= now ? 0 : due - now;
    until = until > spin_window_ns_ ? until - spin_window_ns_ : 0;
    wait = std::min(wait, until);
  }
  return wait;
}

// How long a wake may wait for more completions: RunConfig::batch_wait, but at most a
// sixteenth of the mean service time so far, so that a response is timed at most ~6 % of a
// typical latency late (-c 1 against a 30 us server: ~2 us, which waits for nothing); no
// batch before the first response.
uint32_t Shard::batch_wait_us() const noexcept {
  if (batch_wait_us_ == 0) return 0;
  const Histogram& service = recorder_.stats().service;
  if (service.count() == 0) return 0;
  return std::min(batch_wait_us_, static_cast<uint32_t>(service.mean() / 16'000));
}

void Shard::maybe_publish() noexcept {
  const uint64_t request = control_.publish_request.load(std::memory_order_acquire);
  if (request == publish_seen_) return;
  // The control thread reads the snapshot only after `published` says it is complete,
  // and asks for the next one only after reading it: no overlap, no lock.
  control_.snapshot = recorder_.stats();
  control_.snapshot_in_flight = in_flight_;
  publish_seen_ = request;
  control_.published.store(request, std::memory_order_release);
}

void Shard::dispatch(const io_uring_cqe* cqe) noexcept {
  const UserData ud = unpack(cqe->user_data);
  if (ud.op == Op::link_timeout || ud.op == Op::quiet) return;
  if (ud.op == Op::connect) {
    --connecting_;
    if (next_open_ < slab_.size()) open_more();
  }
  if (!current(slab_[ud.slot].gen, ud.gen)) {
    ++recorder_.stats().counters.stale_completions;
    if (cqe->flags & IORING_CQE_F_BUFFER)
      buffers_.recycle(static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
    return;
  }
  switch (ud.op) {
    case Op::connect: on_connect(ud.slot, cqe->res); break;
    case Op::send: on_send(ud.slot, cqe->res); break;
    case Op::recv: on_recv(ud.slot, cqe); break;
    case Op::setup: on_setup_failed(ud.slot, cqe->res); break;
    case Op::link_timeout:
    case Op::quiet: break;
  }
}

}  // namespace ringload
