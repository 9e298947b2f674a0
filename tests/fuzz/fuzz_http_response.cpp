// libFuzzer target for the response head parser and the body decoder.
//
// Input: byte 0 bit 0 = the request was HEAD; byte 1 picks where reads are split; the
// rest is a stream of responses, parsed the way the engine does (heads, 1xx skipped,
// bodies, pipelined responses). Besides memory safety it checks the contracts: consumed
// never exceeds the input, non-empty input makes progress, views stay inside the input,
// and a split or byte-by-byte feed agrees with a feed of the whole input. Every buffer a
// parser sees is copied by the guard page (tests/support/guard_page.hpp: under ASan an
// allocation of exactly its size), and bodies are cut into reads by the unit tests' driver
// (tests/support/cuts.hpp).
#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "fuzz_check.hpp"
#include "proto/body.hpp"
#include "proto/http_response.hpp"
#include "tests/support/cuts.hpp"

using namespace ringload::proto;
using ringload::test::Cut;
using ringload::test::GuardPage;

namespace {

GuardPage& guard() {
  static GuardPage g(1 << 24);
  return g;
}

std::string_view text(std::span<const char> s) { return {s.data(), s.size()}; }

constexpr std::size_t header_capacity = 16;

bool inside(std::string_view v, std::span<const char> buf) {
  return v.empty() || (v.data() >= buf.data() && v.data() + v.size() <= buf.data() + buf.size());
}

struct Head {
  HeadResult r;
  ResponseHead head;
  std::array<Header, header_capacity> headers{};
};

// The head parsed from `view`, with the contract's checks.
Head parse_placed(std::span<const char> view, std::size_t last_len, bool head_request) {
  Head h;
  h.r = parse_response_head(view, last_len, h.head, h.headers, head_request);
  FUZZ_ASSERT(h.r.consumed <= view.size());
  if (h.r.status == Status::need_more) FUZZ_ASSERT(h.r.consumed == 0);
  if (h.r.status == Status::error) FUZZ_ASSERT(h.r.error != ParseError::none);
  if (h.r.status != Status::done) return h;
  FUZZ_ASSERT(h.r.consumed > 0 && h.r.consumed <= limits::max_head_bytes);
  FUZZ_ASSERT(h.head.num_headers <= header_capacity);
  FUZZ_ASSERT(h.head.status >= 100 && h.head.status <= 999);
  FUZZ_ASSERT(h.head.version_minor == 0 || h.head.version_minor == 1);
  FUZZ_ASSERT(inside(h.head.reason, view));
  for (std::size_t i = 0; i < h.head.num_headers; ++i) {
    const Header& hd = h.headers[i];
    FUZZ_ASSERT(!hd.name.empty() && inside(hd.name, view) && inside(hd.value, view));
    FUZZ_ASSERT(hd.value.empty() || (hd.value.front() != ' ' && hd.value.back() != ' '));
  }
  if (head_request || h.head.status < 200 || h.head.status == 204 || h.head.status == 304) {
    FUZZ_ASSERT(h.head.body == BodyKind::none);
  }
  FUZZ_ASSERT(h.head.upgrade == (h.head.status == 101));
  if (h.head.body == BodyKind::until_close) FUZZ_ASSERT(!h.head.keep_alive);
  return h;
}

// Parses with the buffer copied by the guard page (under ASan: to an allocation of exactly
// its size, freed on return), so ASan sees any read past the end. The head's views are
// not read after it.
Head parse_exact(std::span<const char> buf, std::size_t last_len, bool head_request) {
  const Head h = parse_placed(guard().place(text(buf)), last_len, head_request);
  guard().release();
  return h;
}

bool same_head(const Head& a, const Head& b) {
  if (a.r.status != b.r.status || a.r.consumed != b.r.consumed || a.r.error != b.r.error) return false;
  if (a.r.status != Status::done) return true;
  const ResponseHead& x = a.head;
  const ResponseHead& y = b.head;
  return x.status == y.status && x.version_minor == y.version_minor && x.body == y.body &&
         x.content_length == y.content_length && x.keep_alive == y.keep_alive &&
         x.num_headers == y.num_headers && x.reason.size() == y.reason.size();
}

// The head parsed from a growing buffer: once whole, then as two reads (prefix, then
// the rest with last_len), then byte by byte. Done results agree exactly. An error in an
// unfinished head may be reported later, or as header_too_large, by a split feed (the
// last_len path does not re-parse until a blank line), but an error is never a success.
Head parse_head_all_ways(std::span<const char> buf, std::size_t split, bool head_request) {
  const Head whole = parse_exact(buf, 0, head_request);
  auto agrees = [&](const Head& h) {
    if (whole.r.status == Status::error) return h.r.status != Status::done;
    return same_head(h, whole);
  };
  const Head prefix = parse_exact(buf.first(split), 0, head_request);
  if (prefix.r.status == Status::need_more) {
    FUZZ_ASSERT(agrees(parse_exact(buf, split, head_request)));
  } else if (prefix.r.status == Status::done) {
    FUZZ_ASSERT(same_head(prefix, whole));
  } else {
    FUZZ_ASSERT(whole.r.status == Status::error);
  }
  // Byte by byte at first, then in growing steps: each call copies its buffer.
  const std::size_t end = std::min(buf.size(), limits::max_head_bytes + 1);
  std::size_t last_len = 0;
  std::size_t len = 0;
  Head h;
  while (len < end) {
    len = std::min(end, len + 1 + len / 32);
    h = parse_exact(buf.first(len), last_len, head_request);
    if (h.r.status != Status::need_more) break;
    last_len = len;
  }
  if (h.r.status == Status::done) FUZZ_ASSERT(same_head(h, whole));
  if (h.r.status == Status::error) FUZZ_ASSERT(whole.r.status == Status::error);
  if (len == buf.size()) FUZZ_ASSERT(agrees(h));
  return whole;
}

struct Body {
  Status status = Status::need_more;
  ParseError error = ParseError::none;
  std::size_t consumed = 0;
  std::string data;
};

// One read, copied by the guard page; false once the body ended or failed (no more reads).
bool feed_body(BodyDecoder& d, std::span<const char> in, Body& b) {
  if (b.status != Status::need_more) return false;
  std::span<const char> rest = in;
  for (int calls = 0;; ++calls) {
    FUZZ_ASSERT(calls <= static_cast<int>(in.size()) + 1);
    const uint64_t before = d.body_bytes();
    const BodyResult r = d.feed(rest);
    FUZZ_ASSERT(r.consumed <= rest.size());
    FUZZ_ASSERT(r.data.empty() || (r.data.data() >= rest.data() &&
                                   r.data.data() + r.data.size() <= rest.data() + r.consumed));
    FUZZ_ASSERT(d.body_bytes() == before + r.data.size());
    if (r.status == Status::need_more && !rest.empty()) FUZZ_ASSERT(r.consumed > 0);
    b.data.append(r.data.data(), r.data.size());
    b.consumed += r.consumed;
    b.status = r.status;
    b.error = r.error;
    rest = rest.subspan(r.consumed);
    if (r.status != Status::need_more) return false;
    if (rest.empty()) return true;
  }
}

bool same_body(const Body& a, const Body& b) {
  return a.status == b.status && a.error == b.error && a.consumed == b.consumed && a.data == b.data;
}

// The body decoded whole, in two reads and byte by byte: all three agree.
Body decode_all_ways(const ResponseHead& head, std::span<const char> in, std::size_t split) {
  const std::size_t n = in.size();
  const Cut cuts[] = {{n, n}, {split, n}, {1, 1}};
  BodyDecoder d;
  Body whole;
  for (const Cut& cut : cuts) {
    d.reset(head);
    Body b;
    ringload::test::feed_guarded(text(in), cut, guard(),
                                 [&](std::span<const char> read, std::size_t) { return feed_body(d, read, b); });
    if (&cut != &cuts[0]) {
      FUZZ_ASSERT(same_body(b, whole));
      continue;
    }
    whole = b;
    if (whole.status == Status::done && head.body == BodyKind::content_length) {
      FUZZ_ASSERT(d.body_bytes() == head.content_length);
    }
    const Status eof = d.finish();
    FUZZ_ASSERT(eof == (whole.status == Status::done || head.body == BodyKind::until_close
                            ? Status::done : Status::error));
  }
  return whole;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size - 2 > guard().capacity()) return 0;
  const bool head_request = (data[0] & 1) != 0;
  const unsigned split_seed = data[1];
  const std::span<const char> stream(reinterpret_cast<const char*>(data + 2), size - 2);
  std::size_t pos = 0;
  for (int heads = 0; heads < 64 && pos < stream.size(); ++heads) {
    const std::span<const char> rest = stream.subspan(pos);
    const Head h = parse_head_all_ways(rest, split_seed % (rest.size() + 1), head_request);
    if (h.r.status != Status::done) break;
    pos += h.r.consumed;
    if (h.head.upgrade) break;  // what follows is another protocol
    if (h.head.status < 200) {
      FUZZ_ASSERT(h.head.body == BodyKind::none);
      continue;
    }
    const std::span<const char> body = stream.subspan(pos);
    const Body b = decode_all_ways(h.head, body, split_seed % (body.size() + 1));
    if (b.status != Status::done) break;
    pos += b.consumed;
  }
  return 0;
}
