// libFuzzer target for the SSE parser.
//
// Input: byte 0 picks where reads are split; byte 1 with its top bit set gives a tiny
// size limit (its low 7 bits), else the default limit applies; the rest is the stream.
// The stream is parsed whole, in two reads, byte by byte (the unit tests' cuts,
// tests/support/cuts.hpp) and in varying read sizes: all four must agree exactly (events,
// where an error falls, counters, finish()). With the default limit they must also agree
// with a plain reference implementation of the WHATWG algorithm written over the whole
// stream. Each read is copied by the guard page (tests/support/guard_page.hpp): under ASan
// an allocation of exactly its size that is freed after the call, so ASan catches a read
// past the input or a view kept past the call that lent it.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "proto/sse.hpp"
#include "tests/support/cuts.hpp"

using namespace ringload::proto;
using ringload::test::Cut;
using ringload::test::GuardPage;

namespace {

struct Ev {
  std::string type;
  std::string data;
  std::string id;
  bool has_id = false;
  bool has_retry = false;
  uint32_t retry = 0;
  bool operator==(const Ev&) const = default;
};

struct Outcome {
  std::vector<Ev> events;
  Status status = Status::need_more;
  ParseError error = ParseError::none;
  std::size_t consumed = 0;
  uint64_t comments = 0;
  std::optional<uint32_t> retry;
  bool cut_off = false;
  std::string last_id;
  bool operator==(const Outcome&) const = default;
};

bool has_line_end(std::string_view s) {
  return s.find('\r') != std::string_view::npos || s.find('\n') != std::string_view::npos;
}

// One read, copied by the guard page; false once the parser failed (no more reads).
bool feed_piece(SseParser& p, std::span<const char> in, Outcome& o) {
  if (o.status == Status::error) return false;
  const std::size_t size = in.size();
  for (std::size_t calls = 0;; ++calls) {
    FUZZ_ASSERT(calls <= size + 1);
    SseEvent ev;
    const SseResult r = p.feed(in, ev);
    FUZZ_ASSERT(r.consumed <= in.size());
    o.consumed += r.consumed;
    o.status = r.status;
    o.error = r.error;
    if (r.status == Status::error) {
      FUZZ_ASSERT(r.error == ParseError::sse_event_too_large);
      return false;
    }
    FUZZ_ASSERT(r.error == ParseError::none);
    if (r.status == Status::need_more) {
      FUZZ_ASSERT(r.consumed == in.size());
      return true;
    }
    FUZZ_ASSERT(r.consumed > 0);
    FUZZ_ASSERT(!has_line_end(ev.type) && !has_line_end(ev.id));
    FUZZ_ASSERT(ev.data.find('\r') == std::string_view::npos);
    FUZZ_ASSERT(ev.id.find('\0') == std::string_view::npos);
    FUZZ_ASSERT(ev.id == p.last_event_id());
    FUZZ_ASSERT(ev.data.size() < p.max_event_bytes());
    FUZZ_ASSERT(ev.type.size() <= p.max_event_bytes() && ev.id.size() <= p.max_event_bytes());
    o.events.push_back({std::string(ev.type), std::string(ev.data), std::string(ev.id),
                        ev.has_id, ev.has_retry, ev.retry_ms});
    in = in.subspan(r.consumed);
    if (in.empty()) {
      o.status = Status::need_more;
      return true;
    }
  }
}

void finish_run(SseParser& p, Outcome& o) {
  o.comments = p.comments();
  o.retry = p.retry_ms();
  FUZZ_ASSERT(p.events() == o.events.size());
  o.cut_off = p.finish();
  o.last_id = std::string(p.last_event_id());
}

// WHATWG HTML § 9.2.6 over the whole stream, written for clarity, without limits.
Outcome reference(std::string_view s) {
  Outcome o;
  if (s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);
  std::string data, type, id_buffer, last_id;
  std::size_t data_fields = 0;
  Ev block;  // has_id / has_retry of the block being read
  std::size_t pos = 0;
  while (true) {
    const std::size_t eol = s.find_first_of("\r\n", pos);
    if (eol == std::string_view::npos) break;  // an unterminated line is never processed
    const std::string_view line = s.substr(pos, eol - pos);
    pos = eol + 1;
    if (s[eol] == '\r' && pos < s.size() && s[pos] == '\n') ++pos;
    if (line.empty()) {
      last_id = id_buffer;
      if (data_fields != 0) {
        data.pop_back();
        o.events.push_back({type, data, last_id, block.has_id, block.has_retry, block.retry});
      }
      data.clear();
      type.clear();
      data_fields = 0;
      block = {};
      continue;
    }
    if (line[0] == ':') {
      ++o.comments;
      continue;
    }
    const std::size_t colon = line.find(':');
    const std::string_view name = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    if (name == "data") {
      data.append(value).push_back('\n');
      ++data_fields;
    } else if (name == "event") {
      type = value;
    } else if (name == "id") {
      if (value.find('\0') == std::string_view::npos) {
        id_buffer = value;
        block.has_id = true;
      }
    } else if (name == "retry") {
      if (!value.empty() && value.find_first_not_of("0123456789") == std::string_view::npos) {
        uint64_t v = 0;
        for (const char c : value) {
          v = std::min<uint64_t>(v * 10 + static_cast<uint64_t>(c - '0'), UINT32_MAX);
        }
        o.retry = static_cast<uint32_t>(v);
        block.has_retry = true;
        block.retry = static_cast<uint32_t>(v);
      }
    }
  }
  const std::string_view rest = s.substr(pos);
  const std::size_t colon = rest.find(':');
  o.cut_off = data_fields != 0 || (colon != std::string_view::npos && rest.substr(0, colon) == "data");
  o.last_id = last_id;
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  static GuardPage guard(1 << 24);
  if (size < 2 || size - 2 > guard.capacity()) return 0;
  const unsigned split_seed = bytes[0];
  const bool tiny = (bytes[1] & 0x80) != 0;
  const std::size_t max = tiny ? (bytes[1] & 0x7f) : limits::max_sse_event_bytes;
  const std::string_view stream(reinterpret_cast<const char*>(bytes + 2), size - 2);

  // Whole, in two reads, byte by byte: each agrees exactly with the whole.
  const std::size_t n = stream.size();
  const Cut cuts[] = {{n, n}, {split_seed % (n + 1), n}, {1, 1}};
  SseParser p(max);
  Outcome whole;
  for (const Cut& cut : cuts) {
    p.reset();
    Outcome o;
    ringload::test::feed_guarded(stream, cut, guard,
                                 [&](std::span<const char> read, std::size_t) { return feed_piece(p, read, o); });
    finish_run(p, o);
    if (&cut == &cuts[0]) {
      if (o.status != Status::error) FUZZ_ASSERT(o.consumed == n);
      whole = o;
    } else {
      FUZZ_ASSERT(o == whole);
    }
  }

  // Read sizes 1..k cycling, k from the seed: splits land on every kind of boundary.
  p.reset();
  Outcome varied;
  const std::size_t k = split_seed % 13 + 2;
  std::size_t step = 1;
  for (std::size_t pos = 0; pos < n; pos += step, step = step % k + 1) {
    step = std::min(step, n - pos);
    const bool more = feed_piece(p, guard.place(stream.substr(pos, step)), varied);
    guard.release();
    if (!more) break;
  }
  finish_run(p, varied);
  FUZZ_ASSERT(varied == whole);

  if (!tiny) {
    Outcome ref = reference(stream);
    ref.consumed = n;
    ref.status = Status::need_more;
    FUZZ_ASSERT(ref == whole);
  }
  return 0;
}
