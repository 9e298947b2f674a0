#include "engine/export.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <new>

#include "engine/clock.hpp"
#include "ringload/stats.hpp"

namespace ringload {
namespace {

constexpr std::size_t max_queue_bytes = std::size_t{1} << 30;  // record lengths are u32
constexpr std::size_t min_chunk = 64;          // smaller pieces only for the last bytes of a span
constexpr std::size_t out_buffer = 1u << 20;   // bytes buffered before a write(2)
constexpr uint64_t idle_flush_ns = 200'000'000;  // a slow run still reaches the file
constexpr std::size_t records_per_turn = 4096;   // round-robin fairness between queues

// The end record's payload, followed by message_len bytes of message.
struct EndFields {
  uint64_t start_ns, first_byte_ns, end_ns;
  uint32_t line_index, iteration;
  int32_t status, error_kind;
  uint32_t message_len, truncated;
  int32_t stream_end, pad;
};

// An item record's payload, followed by type_len + id_len bytes.
struct ItemFields {
  uint64_t t_ns;
  uint32_t type_len, id_len;
  uint8_t message, binary, has_type, pad[5];
};

struct CloseFields {
  uint16_t code;
  uint8_t by_server, pad;
  uint32_t reason_len;
};

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

constexpr std::size_t round8(std::size_t n) noexcept { return (n + 7) & ~std::size_t{7}; }

// --- JSON output -------------------------------------------------------------------

void append_u64(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Microseconds with three decimals: exact nanoseconds, no floating point.
void append_us(std::string& out, uint64_t ns) {
  append_u64(out, ns / 1000);
  const auto f = static_cast<unsigned>(ns % 1000);
  const char frac[4] = {'.', char('0' + f / 100), char('0' + f / 10 % 10), char('0' + f % 10)};
  out.append(frac, 4);
}

constexpr uint64_t diff(uint64_t later, uint64_t earlier) noexcept { return later > earlier ? later - earlier : 0; }

// First index >= i of a byte that needs attention (non-ASCII, below 0x20, '"' or '\\'),
// or n. SSE2 (x86-64 baseline) 16 bytes at a time: a signed compare with 0x20 catches
// both the control bytes and the bytes >= 0x80. Then (the tail, or without SSE2) the
// "Bit Twiddling Hacks" SWAR tests 8 at a time (hasless / haszero; the < 0x20 test is
// exact once bytes >= 0x80 are excluded).
std::size_t skip_plain(const unsigned char* p, std::size_t i, std::size_t n) noexcept {
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(0x20), quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i hit = _mm_or_si128(_mm_cmplt_epi8(v, space),
                                     _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    if (const int mask = _mm_movemask_epi8(hit)) return i + static_cast<std::size_t>(std::countr_zero(unsigned(mask)));
  }
#endif
  constexpr uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    const uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    if ((w & highs) || ((w - ones * 0x20) & ~w & highs) || ((((q - ones) & ~q) | ((b - ones) & ~b)) & highs)) break;
  }
  while (i < n && p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' && p[i] != '\\') ++i;
  return i;
}

// Length of the well-formed UTF-8 sequence at p (Unicode 15, table 3-7), 0 when invalid.
std::size_t utf8_sequence(const unsigned char* p, std::size_t n) noexcept {
  const unsigned c = p[0];
  auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return k < n && p[k] >= lo && p[k] <= hi;
  };
  if (c < 0xC2) return 0;
  if (c <= 0xDF) return cont(1) ? 2 : 0;
  if (c <= 0xEF) return cont(1, c == 0xE0 ? 0xA0 : 0x80, c == 0xED ? 0x9F : 0xBF) && cont(2) ? 3 : 0;
  if (c <= 0xF4) {
    return cont(1, c == 0xF0 ? 0x90 : 0x80, c == 0xF4 ? 0x8F : 0xBF) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

void append_escape(std::string& out, unsigned char c) {
  switch (c) {
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default: {
      static constexpr char hex[] = "0123456789abcdef";
      const char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      out.append(u, 6);
    }
  }
}

enum class BadUtf8 : uint8_t { fail, replace };

// Appends s as the inside of a JSON string (RFC 8259 §7). Invalid UTF-8: with `fail`
// returns false (out holds a partial string the caller cuts off); with `replace` each
// invalid byte becomes U+FFFD.
bool append_escaped(std::string& out, std::string_view s, BadUtf8 bad) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0, run = 0;
  while ((i = skip_plain(p, i, n)) < n) {
    const unsigned char c = p[i];
    if (c >= 0x80) {
      if (std::size_t len = utf8_sequence(p + i, n - i)) {
        i += len;
        continue;
      }
      if (bad == BadUtf8::fail) return false;
      out.append(s.data() + run, i - run).append("\xEF\xBF\xBD");
    } else {
      out.append(s.data() + run, i - run);
      append_escape(out, c);
    }
    run = ++i;
  }
  out.append(s.data() + run, n - run);
  return true;
}

void append_string(std::string& out, std::string_view s) {
  out += '"';
  append_escaped(out, s, BadUtf8::replace);
  out += '"';
}

// RFC 4648 §4, with padding.
void append_base64(std::string& out, std::string_view s) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size(), start = out.size();
  out.resize(start + (n + 2) / 3 * 4);
  char* o = out.data() + start;
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3, o += 4) {
    const uint32_t v = uint32_t{p[i]} << 16 | uint32_t{p[i + 1]} << 8 | p[i + 2];
    o[0] = alphabet[v >> 18];
    o[1] = alphabet[v >> 12 & 63];
    o[2] = alphabet[v >> 6 & 63];
    o[3] = alphabet[v & 63];
  }
  if (i < n) {
    const uint32_t v = uint32_t{p[i]} << 16 | (i + 1 < n ? uint32_t{p[i + 1]} << 8 : 0);
    o[0] = alphabet[v >> 18];
    o[1] = alphabet[v >> 12 & 63];
    o[2] = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
    o[3] = '=';
  }
}

}  // namespace

// --- ExportQueue: producer ---------------------------------------------------------

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
              e.body_truncated ? 1u : 0u, e.stream_end, 0};
  if (e.error_message != nullptr)
    f.message_len = static_cast<uint32_t>(strnlen(e.error_message, limits::max_export_message));
  const std::size_t size = sizeof f + f.message_len;
  std::size_t granted = 0;
  const std::size_t pos = reserve(size, size, granted);
  std::memcpy(ring_ + pos + record_header, &f, sizeof f);
  if (f.message_len != 0) std::memcpy(ring_ + pos + record_header + sizeof f, e.error_message, f.message_len);
  publish(pos, Kind::end, e.id, size);
}

// --- ExportWriter ------------------------------------------------------------------

ExportWriter::ExportWriter(const ExportOptions& options, const RequestTable& table,
                           std::span<ExportQueue* const> queues, uint64_t t0_ns)
    : options_(options), table_(table), t0_ns_(t0_ns) {
  if (!options_.success_status) options_.success_status = [](int s) { return s >= 200 && s <= 399; };
  for (ExportQueue* q : queues) sources_.push_back(Source{q, {}});
  for (const Url& u : table_.origins) origins_.push_back(u.origin());
  out_.reserve(out_buffer + 64 * 1024);
}

ExportWriter::~ExportWriter() {
  if (thread_.joinable()) (void)finish();
  if (close_fd_ && fd_ >= 0) ::close(fd_);
}

std::expected<void, std::string> ExportWriter::open() {
  if (options_.path == "-") {
    fd_ = STDOUT_FILENO;
    close_fd_ = false;
    return {};
  }
  const int fd = ::open(options_.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected("cannot open export file '" + options_.path + "': " + std::strerror(errno));
  fd_ = fd;
  close_fd_ = true;
  return {};
}

void ExportWriter::start() {
  if (thread_.joinable() || finished_) return;
  last_flush_ns_ = now_ns();
  thread_ = std::thread([this] { run(); });
}

std::expected<void, std::string> ExportWriter::finish() {
  if (!finished_) {
    if (!thread_.joinable()) start();  // all file I/O happens on the writer thread
    finished_ = true;
    {
      std::lock_guard lock(mutex_);
      stop_.store(true, std::memory_order_release);
    }
    wake_.notify_one();
    thread_.join();
    if (close_fd_ && fd_ >= 0 && ::close(fd_) != 0 && error_.empty())
      error_ = "cannot write export file '" + options_.path + "': " + std::strerror(errno);
    fd_ = -1;
  }
  if (!error_.empty()) return std::unexpected(error_);
  return {};
}

void ExportWriter::run() noexcept {
  // A closed pipe on stdout must fail the write with EPIPE, not kill the run: a
  // thread-directed SIGPIPE stays pending on this thread while blocked.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  while (!stop_.load(std::memory_order_acquire)) {
    bool any = false;
    for (Source& s : sources_) any = drain(s, records_per_turn) || any;
    if (any) continue;
    if (!out_.empty() && now_ns() - last_flush_ns_ >= idle_flush_ns) flush();
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, std::chrono::microseconds(100), [this] { return stop_.load(std::memory_order_relaxed); });
  }
  // The shards have stopped: everything they produced is in the rings.
  for (bool any = true; any;) {
    any = false;
    for (Source& s : sources_) any = drain(s, SIZE_MAX) || any;
  }
  for (Source& s : sources_) {
    dropped_ += s.pending.size();
    while (!s.pending.empty()) release(s, s.pending.begin()->first);
  }
  flush();
}

bool ExportWriter::drain(Source& s, std::size_t max_records) {
  ExportQueue& q = *s.queue;
  uint64_t head = q.head_.load(std::memory_order_relaxed);
  const uint64_t start = head, tail = q.tail_.load(std::memory_order_acquire);
  for (std::size_t n = 0; head != tail && n < max_records;) {
    const char* r = q.ring_ + (head & q.mask_);
    uint32_t len;
    std::memcpy(&len, r, 4);
    const auto kind = static_cast<ExportQueue::Kind>(r[4]);
    if (kind == ExportQueue::Kind::pad) {
      head += len;
    } else {
      uint64_t id;
      std::memcpy(&id, r + 8, 8);
      on_record(s, kind, id, {r + ExportQueue::record_header, len - ExportQueue::record_header});
      head += round8(len);
      ++n;
    }
    // Freed record by record: a producer waiting on a small ring resumes sooner.
    q.head_.store(head, std::memory_order_release);
  }
  return head != start;
}

void ExportWriter::on_record(Source& s, ExportQueue::Kind kind, uint64_t id, std::span<const char> payload) {
  if (kind == ExportQueue::Kind::end) return on_end(s, id, payload);
  if (kind == ExportQueue::Kind::discard) return release(s, id);
  auto [it, added] = s.pending.try_emplace(id, 0);
  if (added) {
    if (free_slots_.empty()) {
      it->second = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    } else {
      it->second = free_slots_.back();
      free_slots_.pop_back();
    }
  }
  Pending& p = slots_[it->second];
  if (kind == ExportQueue::Kind::head) {
    p.head.append(payload.data(), payload.size());
    return;
  }
  if (kind == ExportQueue::Kind::item) {
    close_item(p);
    ItemFields f;
    std::memcpy(&f, payload.data(), sizeof f);
    const std::string_view type(payload.data() + sizeof f, f.type_len);
    const std::string_view event_id(payload.data() + sizeof f + f.type_len, f.id_len);
    std::string& o = p.item_head;
    o = "{\"t_us\":";
    append_us(o, f.t_ns);
    if (f.message) {
      o += f.binary ? ",\"opcode\":\"binary\"" : ",\"opcode\":\"text\"";
    } else {
      o += ",\"event\":";
      if (f.has_type) append_string(o, type); else o += "null";
      o += ",\"id\":";
      if (!event_id.empty()) append_string(o, event_id); else o += "null";
    }
    p.item_binary = f.message && f.binary;
    return;
  }
  if (kind == ExportQueue::Kind::close) {
    CloseFields f;
    std::memcpy(&f, payload.data(), sizeof f);
    p.has_close = true;
    p.close_code = f.code;
    p.close_by_server = f.by_server != 0;
    p.close_reason.assign(payload.data() + sizeof f, f.reason_len);
    return;
  }
  if (kind == ExportQueue::Kind::item_data) {
    // --export-max-body caps a stream's item data in all (by default nothing is cut): the
    // writer holds a stream's items until it ends.
    const uint64_t room = options_.max_body - std::min<uint64_t>(options_.max_body, p.item_bytes);
    const std::size_t keep = static_cast<std::size_t>(std::min<uint64_t>(room, payload.size()));
    if (keep < payload.size()) p.truncated = true;
    p.body.append(payload.data(), keep);
    p.item_bytes += keep;
    return;
  }
  // The shard caps the body itself; the writer enforces max_body too.
  const uint64_t room = options_.max_body - std::min<uint64_t>(options_.max_body, p.body.size());
  if (payload.size() > room) p.truncated = true;
  p.body.append(payload.data(), static_cast<std::size_t>(std::min<uint64_t>(room, payload.size())));
}

void ExportWriter::release(Source& s, uint64_t id) {
  auto it = s.pending.find(id);
  if (it == s.pending.end()) return;
  Pending& p = slots_[it->second];
  p.head.clear();
  p.body.clear();
  if (p.body.capacity() > out_buffer) p.body.shrink_to_fit();  // keep the pool small after a huge body
  p.truncated = false;
  p.items.clear();
  if (p.items.capacity() > out_buffer) p.items.shrink_to_fit();
  p.item_bytes = 0;
  p.item_head.clear();
  p.has_close = false;
  free_slots_.push_back(it->second);
  s.pending.erase(it);
}

void ExportWriter::on_end(Source& s, uint64_t id, std::span<const char> payload) {
  EndFields f;
  std::memcpy(&f, payload.data(), sizeof f);
  ExportEnd e{id, f.line_index, f.iteration, f.status, f.error_kind, nullptr, f.start_ns, f.first_byte_ns,
              f.end_ns, f.truncated != 0, f.stream_end};
  auto it = s.pending.find(id);
  Pending* p = it == s.pending.end() ? nullptr : &slots_[it->second];
  if (p != nullptr) close_item(*p);
  // A WebSocket session's 101 is its success status, whatever the run's success range.
  const bool upgraded = e.status == 101 && e.line_index < table_.lines.size() && table_.lines[e.line_index].stream != 0;
  const bool failed = e.error_kind >= 0 || (!upgraded && (e.status == 0 || !options_.success_status(e.status)));
  if (!options_.errors_only || failed) write_line(e, {payload.data() + sizeof f, f.message_len}, p);
  release(s, id);
}

void ExportWriter::write_line(const ExportEnd& e, std::string_view message, const Pending* p) {
  const RequestLine* line = e.line_index < table_.lines.size() ? &table_.lines[e.line_index] : nullptr;
  write_request(line, e.iteration);
  std::string& o = out_;
  o += ",\"status\":";
  if (e.status != 0) append_u64(o, static_cast<uint64_t>(e.status)); else o += "null";
  o += ",\"headers\":";
  write_headers(p ? std::string_view(p->head) : std::string_view{},
                line != nullptr && (line->flags & RequestLine::flag_head));
  if (line != nullptr && line->stream != 0) {
    write_stream(*line, e, p);
  } else {
    const std::size_t mark = o.size();
    o += ",\"body\":\"";
    const std::string_view body = p ? std::string_view(p->body) : std::string_view{};
    if (!append_escaped(o, body, BadUtf8::fail)) {
      o.resize(mark);
      o += ",\"body_base64\":\"";
      append_base64(o, body);
    }
    o += '"';
    if (e.body_truncated || (p && p->truncated)) o += ",\"body_truncated\":true";
  }
  if (e.error_kind >= 0) {
    o += ",\"error\":{\"kind\":";
    const bool known = e.error_kind < static_cast<int>(error_kind_count);
    append_string(o, known ? to_string(static_cast<ErrorKind>(e.error_kind)) : "unknown");
    o += ",\"message\":";
    append_string(o, message);
    o += '}';
  }
  o += ",\"timing\":{\"start_us\":";
  append_us(o, diff(e.start_ns, t0_ns_));
  o += ",\"ttfb_us\":";
  if (e.first_byte_ns != 0) append_us(o, diff(e.first_byte_ns, e.start_ns)); else o += "null";
  o += ",\"total_us\":";
  append_us(o, diff(e.end_ns, e.start_ns));
  o += "}}\n";
  lines_.store(lines_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  if (o.size() >= out_buffer) flush();
}

// Ends the open stream item: its data (text when it is UTF-8 and not binary, else base64).
void ExportWriter::close_item(Pending& p) {
  if (p.item_head.empty()) return;
  std::string& o = p.items;
  if (!o.empty()) o += ',';
  o += p.item_head;
  const std::size_t mark = o.size();
  o += ",\"data\":\"";
  if (p.item_binary || !append_escaped(o, p.body, BadUtf8::fail)) {
    o.resize(mark);
    o += ",\"data_base64\":\"";
    append_base64(o, p.body);
  }
  o += "\"}";
  p.item_head.clear();
  p.body.clear();
}

// A stream's own keys, instead of the body: its items, how it ended and (WebSocket) the
// close frame received or sent.
void ExportWriter::write_stream(const RequestLine& line, const ExportEnd& e, const Pending* p) {
  std::string& o = out_;
  const StreamSpec* spec = table_.stream(line);
  const bool ws = spec != nullptr && spec->proto == StreamProto::ws;
  o += ws ? ",\"messages\":[" : ",\"events\":[";
  if (p != nullptr) o += p->items;
  o += ']';
  // No stream came (an SSE request answered 404, say): the body it got instead.
  if (p != nullptr && p->items.empty() && !p->body.empty()) {
    const std::size_t mark = o.size();
    o += ",\"body\":\"";
    if (!append_escaped(o, p->body, BadUtf8::fail)) {
      o.resize(mark);
      o += ",\"body_base64\":\"";
      append_base64(o, p->body);
    }
    o += '"';
  }
  if (ws) {
    o += ",\"close\":";
    if (p != nullptr && p->has_close) {
      o += "{\"code\":";
      append_u64(o, p->close_code);
      o += ",\"reason\":";
      append_string(o, p->close_reason);
      o += p->close_by_server ? ",\"by\":\"server\"}" : ",\"by\":\"client\"}";
    } else {
      o += "null";
    }
  }
  if (p != nullptr && p->truncated) o += ",\"data_truncated\":true";
  o += ws ? ",\"session_end\":" : ",\"stream_end\":";
  if (e.stream_end >= 0) append_string(o, to_string(static_cast<StreamEnd>(e.stream_end))); else o += "null";
}

// From "{" to "method": what the request was. `line` null: an index outside the table.
void ExportWriter::write_request(const RequestLine* line, uint32_t iteration) {
  std::string& o = out_;
  o += "{\"seq\":";
  append_u64(o, seq_++);
  o += ",\"line\":";
  if (line != nullptr && line->source_line != 0) append_u64(o, line->source_line); else o += "null";
  o += ",\"iteration\":";
  append_u64(o, iteration);
  const std::string_view method = line ? table_.method(*line) : std::string_view{};
  const std::string_view target = line ? table_.target(*line) : std::string_view{};
  o += ",\"name\":\"";
  if (line != nullptr && (line->flags & RequestLine::flag_named) && line->name < table_.names.size()) {
    append_escaped(o, table_.names[line->name], BadUtf8::replace);
  } else if (line != nullptr) {
    append_escaped(o, method, BadUtf8::replace);
    o += ' ';
    append_escaped(o, target.substr(0, target.find('?')), BadUtf8::replace);
  }
  o += "\",\"url\":\"";
  if (line != nullptr && line->origin < origins_.size()) {
    append_escaped(o, origins_[line->origin], BadUtf8::replace);
    append_escaped(o, target, BadUtf8::replace);
  }
  o += "\",\"method\":";
  append_string(o, method);
}

// Lists the fields of the final head: 1xx interim heads (not 101) before it are skipped,
// like the shard does. A head that does not parse lists nothing.
void ExportWriter::write_headers(std::string_view raw, bool head_request) {
  out_ += '[';
  // A field line takes at least 4 bytes ("x:" CRLF): enough room without counting.
  if (header_scratch_.size() < raw.size() / 4 + 1) header_scratch_.resize(raw.size() / 4 + 1);
  while (!raw.empty()) {
    proto::ResponseHead rh;
    const proto::HeadResult r = proto::parse_response_head(raw, 0, rh, header_scratch_, head_request);
    if (r.status != proto::Status::done) break;
    if (rh.status < 200 && rh.status != 101 && r.consumed < raw.size()) {
      raw.remove_prefix(r.consumed);
      continue;
    }
    for (std::size_t i = 0; i < rh.num_headers; ++i) {
      out_ += i == 0 ? "[" : ",[";
      append_string(out_, header_scratch_[i].name);
      out_ += ',';
      append_string(out_, header_scratch_[i].value);
      out_ += ']';
    }
    break;
  }
  out_ += ']';
}

void ExportWriter::flush() {
  last_flush_ns_ = now_ns();
  std::string_view rest = out_;
  while (!rest.empty() && error_.empty() && fd_ >= 0) {
    const ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n >= 0) {
      rest.remove_prefix(static_cast<std::size_t>(n));
    } else if (errno != EINTR) {
      error_ = "cannot write export file '" + options_.path + "': " + std::strerror(errno);
    }
  }
  out_.clear();
}

}  // namespace ringload
