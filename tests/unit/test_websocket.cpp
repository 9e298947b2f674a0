// WebSocket (RFC 6455) codec: server frames through FrameDecoder and MessageAssembler fed
// whole, split at every offset and byte by byte against a PROT_NONE page; close payloads;
// the client encoder (RFC 6455 §5.7 vector, masking in pieces). The handshake is in
// test_ws_handshake.cpp, the UTF-8 validator in test_utf8.cpp.
#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <vector>

#include "proto/ws_close.hpp"
#include "proto/ws_encode.hpp"
#include "proto/ws_frame.hpp"
#include "proto/ws_message.hpp"
#include "tests/support/cuts.hpp"
#include "tests/support/guard_page.hpp"

using namespace std::string_literals;
using namespace ringload::proto;
using namespace ringload::proto::ws;
using ringload::test::Cut;
using ringload::test::cuts;
using ringload::test::feed_guarded;
using ringload::test::GuardPage;

namespace {

constexpr std::size_t all = SIZE_MAX;

// An unmasked server frame with the minimal length encoding.
std::string srv(uint8_t b0, std::string_view payload) {
  std::string f(1, static_cast<char>(b0));
  const uint64_t n = payload.size();
  if (n < 126) {
    f += static_cast<char>(n);
  } else if (n <= 0xffff) {
    f += '\x7e';
    for (int i = 1; i >= 0; --i) f += static_cast<char>(n >> (8 * i));
  } else {
    f += '\x7f';
    for (int i = 7; i >= 0; --i) f += static_cast<char>(n >> (8 * i));
  }
  return f.append(payload);
}

std::string name(Opcode op) {
  switch (op) {
    case Opcode::text: return "text";
    case Opcode::binary: return "binary";
    case Opcode::close: return "close";
    case Opcode::ping: return "ping";
    case Opcode::pong: return "pong";
    case Opcode::continuation: break;
  }
  return "continuation";
}

struct Run {
  std::vector<std::string> messages;  // "<opcode>:<payload>" at each done
  std::string msg, ctrl;              // accumulators, as the engine keeps them
  std::size_t frames = 0;
  std::size_t consumed = 0;
  ParseError error = ParseError::none;
  bool stopped = false;  // error, or a close frame arrived
  bool operator==(const Run&) const = default;
};

// Feeds one read (placed against the guard page) the way the engine does (see
// ws_message.hpp).
void feed(MessageAssembler& a, std::span<const char> in, Run& run) {
  if (run.stopped) return;
  for (;;) {
    const MessageResult r = a.feed(in);
    REQUIRE(r.consumed <= in.size());
    if (!r.data.empty()) {
      REQUIRE(r.data.data() >= in.data());
      REQUIRE(r.data.data() + r.data.size() <= in.data() + r.consumed);
    }
    if (r.status != Status::error && !in.empty()) REQUIRE(r.consumed > 0);
    if (r.status == Status::done) REQUIRE(r.frame_end);
    std::string& buf = is_control(r.opcode) ? run.ctrl : run.msg;
    if (r.message_start) buf.clear();
    buf.append(r.data.data(), r.data.size());
    run.frames += r.frame_end ? 1 : 0;
    run.consumed += r.consumed;
    in = in.subspan(r.consumed);
    if (r.status == Status::error) {
      REQUIRE(r.error != ParseError::none);
      run.error = r.error;
      run.stopped = true;
      return;
    }
    if (r.status == Status::done) {
      run.messages.push_back(name(r.opcode) + ":" + buf);
      if (a.closed()) {
        run.stopped = true;
        return;
      }
    }
    if (in.empty()) return;
  }
}

struct Vector {
  const char* name;
  std::string bytes;
  std::vector<std::string> messages;
  ParseError error = ParseError::none;
  std::size_t consumed = all;  // total bytes used; `all` = the whole input
  uint64_t max = ws::limits::default_max_message;
};

std::string big(std::size_t n) {
  std::string s(n, 'x');
  for (std::size_t i = 0; i < n; i += 7) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

std::vector<Vector> vectors() {
  using E = ParseError;
  const std::string close_bye = "\x03\xe8" "bye";
  return {
      {"text", srv(0x81, "Hello"), {"text:Hello"}},
      {"empty binary", srv(0x82, ""), {"binary:"}},
      {"length 125", srv(0x82, big(125)), {"binary:" + big(125)}},
      {"length 126", srv(0x82, big(126)), {"binary:" + big(126)}},
      {"length 65535", srv(0x82, big(65535)), {"binary:" + big(65535)}},
      {"length 65536", srv(0x82, big(65536)), {"binary:" + big(65536)}},
      {"length 70000", srv(0x81, big(70000)), {"text:" + big(70000)}},
      {"ping pong", srv(0x89, "p!") + srv(0x8a, ""), {"ping:p!", "pong:"}},
      {"ping of 125", srv(0x89, big(125)), {"ping:" + big(125)}},
      {"utf-8 split inside a character", srv(0x01, "h\xc3") + srv(0x80, "\xa9llo"), {"text:h\xc3\xa9llo"}},
      {"4-byte character over three frames", srv(0x01, "\xf0\x9f") + srv(0x00, "\x98") + srv(0x80, "\x80!"),
       {"text:\xf0\x9f\x98\x80!"}},
      {"ping inside a fragmented message",
       srv(0x01, "ab") + srv(0x89, "x") + srv(0x00, "cd") + srv(0x8a, "") + srv(0x80, "ef"),
       {"ping:x", "pong:", "text:abcdef"}},
      {"empty fragments", srv(0x02, "") + srv(0x00, "") + srv(0x80, ""), {"binary:"}},
      {"messages back to back", srv(0x81, "a") + srv(0x82, "b") + srv(0x81, "\xe2\x82\xac"),
       {"text:a", "binary:b", "text:\xe2\x82\xac"}},
      {"close ends the stream", srv(0x81, "a") + srv(0x88, close_bye) + "junk",
       {"text:a", "close:" + close_bye}, E::none, 3 + 7},
      {"message at the size limit", srv(0x01, "abc") + srv(0x80, "d"), {"text:abcd"}, E::none, all, 4},
      // Frame header errors, found at the byte that shows them.
      {"RSV1", "\xc1\x00"s, {}, E::ws_reserved_bits, 0},
      {"RSV2", "\xa2\x00"s, {}, E::ws_reserved_bits, 0},
      {"RSV3 after a message", srv(0x81, "a") + "\x91\x00"s, {"text:a"}, E::ws_reserved_bits, 3},
      {"opcode 3", "\x83\x00"s, {}, E::ws_reserved_opcode, 0},
      {"opcode 7", "\x87\x00"s, {}, E::ws_reserved_opcode, 0},
      {"opcode 0xb", "\x8b\x00"s, {}, E::ws_reserved_opcode, 0},
      {"opcode 0xf", "\x8f\x00"s, {}, E::ws_reserved_opcode, 0},
      {"masked frame", "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"s, {}, E::ws_masked_frame, 1},
      {"64-bit length with MSB", "\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00"s, {}, E::ws_bad_length, 2},
      {"16-bit length under 126", "\x82\x7e\x00\x7d"s + big(125), {}, E::ws_bad_length, 3},
      {"64-bit length under 65536", "\x82\x7f\x00\x00\x00\x00\x00\x00\xff\xff"s, {}, E::ws_bad_length, 9},
      {"ping of 126", "\x89\x7e\x00\x7e"s + big(126), {}, E::ws_bad_control_frame, 1},
      {"close with a 64-bit length", "\x88\x7f"s, {}, E::ws_bad_control_frame, 1},
      {"fragmented ping", "\x09\x00"s, {}, E::ws_bad_control_frame, 0},
      {"fragmented close", "\x08\x02\x03\xe8"s, {}, E::ws_bad_control_frame, 0},
      // Message errors, found at the end of the frame header.
      {"continuation without message", srv(0x80, "x"), {}, E::ws_unexpected_continuation, 2},
      {"continuation after a whole message", srv(0x81, "a") + srv(0x00, "b"), {"text:a"},
       E::ws_unexpected_continuation, 5},
      {"text inside a fragmented message", srv(0x01, "a") + srv(0x81, "b"), {}, E::ws_expected_continuation, 5},
      {"binary inside a fragmented message", srv(0x02, "a") + srv(0x89, "") + srv(0x02, "b"), {"ping:"},
       E::ws_expected_continuation, 7},
      {"message over the limit", srv(0x81, "hello"), {}, E::ws_message_too_large, 2, 4},
      {"fragments over the limit", srv(0x01, "abc") + srv(0x80, "de"), {}, E::ws_message_too_large, 7, 4},
      {"large frame over the limit", srv(0x82, big(70000)), {}, E::ws_message_too_large, 10, 65536},
      // UTF-8 errors, at the invalid byte or at the end of the message.
      {"invalid byte", srv(0x81, "a\xff" "b"), {}, E::ws_invalid_utf8, 3},
      {"overlong", srv(0x81, "\xc0\xaf"), {}, E::ws_invalid_utf8, 2},
      {"surrogate in a fragment", srv(0x01, "ok") + srv(0x80, "\xed\xa0\x80"), {}, E::ws_invalid_utf8, 4 + 3},
      {"surrogate split by a ping", srv(0x01, "\xed") + srv(0x89, "") + srv(0x80, "\xbf\xbf"), {"ping:"},
       E::ws_invalid_utf8, 3 + 2 + 2},
      {"truncated at the end", srv(0x81, "a\xc3"), {}, E::ws_invalid_utf8, 4},
      {"truncated before an empty final fragment", srv(0x01, "\xe2\x82") + srv(0x80, ""), {},
       E::ws_invalid_utf8, 6},
      {"invalid after ASCII run", srv(0x81, "0123456789abcdef\xf5"), {}, E::ws_invalid_utf8, 18},
      {"binary is not checked", srv(0x82, "\xff\xfe"), {"binary:\xff\xfe"}},
  };
}

// Every offset for short inputs; for long ones, every offset near both ends.
constexpr ringload::test::CutPlan plan{.dense = 600, .edge = 64, .stride = 997};

}  // namespace

TEST_CASE("frames fed whole, split and byte by byte", "[ws]") {
  GuardPage guard;
  for (const Vector& v : vectors()) {
    INFO("vector: " << v.name);
    MessageAssembler a(v.max);
    const std::size_t consumed = v.consumed == all ? v.bytes.size() : v.consumed;
    Run whole;
    for (const Cut& cut : cuts(v.bytes.size(), plan)) {
      INFO(cut.label(v.bytes.size()));
      a.reset();
      Run run;
      feed_guarded(v.bytes, cut, guard, [&](std::span<const char> read, std::size_t end) {
        feed(a, read, run);
        if (end < consumed) REQUIRE(run.error == ParseError::none);  // not found before its byte
      });
      if (cut.first < v.bytes.size()) {
        REQUIRE(run == whole);
        continue;
      }
      whole = run;
      CHECK(whole.messages == v.messages);
      CHECK(whole.error == v.error);
      CHECK(whole.consumed == consumed);
      if (v.error == ParseError::none) CHECK(a.finish() == Status::done);
    }
  }
}

TEST_CASE("frame decoder reports header, data and end", "[ws]") {
  GuardPage guard;
  // The frame layer alone accepts a continuation with no message: §5.4 is the assembler's.
  const std::string bytes = srv(0x00, "abc") + srv(0x89, "") + srv(0x02, big(300));
  const std::string expect = "0-3:abc|9F0:|2-300:" + big(300) + "|";
  auto run = [&](std::size_t step) {
    FrameDecoder d;
    std::string trace;
    for (std::size_t pos = 0; pos < bytes.size(); pos += step) {
      std::span<const char> in = guard.place(std::string_view(bytes).substr(pos, step));
      while (!in.empty()) {
        const FrameResult r = d.feed(in);
        REQUIRE(r.status != Status::error);
        REQUIRE(r.consumed > 0);
        if (r.frame_start) {
          trace += std::to_string(static_cast<int>(r.header.opcode)) + (r.header.fin ? "F" : "-") +
                   std::to_string(r.header.length) + ":";
        }
        trace.append(r.data.data(), r.data.size());
        if (r.status == Status::done) {
          trace += "|";
          REQUIRE(d.at_frame_boundary());
        }
        in = in.subspan(r.consumed);
      }
    }
    return trace;
  };
  for (std::size_t step : {bytes.size(), std::size_t{1}, std::size_t{2}, std::size_t{5}, std::size_t{64}}) {
    INFO("step " << step);
    CHECK(run(step) == expect);
  }
}

TEST_CASE("one frame per call, sticky errors, feeds after close", "[ws]") {
  const std::string two = srv(0x81, "ab") + srv(0x82, "c");
  MessageAssembler a;
  MessageResult r = a.feed(two);
  CHECK(r.status == Status::done);
  CHECK(r.consumed == 4);
  CHECK(r.message_start);
  CHECK(r.opcode == Opcode::text);
  r = a.feed(std::string_view(two).substr(4));
  CHECK(r.status == Status::done);
  CHECK(r.opcode == Opcode::binary);

  const std::string fragment = srv(0x01, "ab") + srv(0x80, "c");
  a.reset();
  r = a.feed(fragment);
  CHECK(r.status == Status::need_more);  // a non-final fragment ended: keep looping
  CHECK(r.frame_end);
  CHECK(r.consumed == 4);
  CHECK(a.in_message());
  CHECK(a.finish() == Status::error);  // the message was cut short

  a.reset();
  r = a.feed("\xc1\x00"s);
  CHECK(r.status == Status::error);
  r = a.feed(srv(0x81, "ok"));
  CHECK(r.status == Status::error);
  CHECK(r.error == ParseError::ws_reserved_bits);
  CHECK(r.consumed == 0);
  CHECK(a.finish() == Status::error);

  a.reset();
  CHECK(a.feed(srv(0x88, "")).status == Status::done);
  CHECK(a.closed());
  r = a.feed(srv(0x81, "late"));
  CHECK(r.status == Status::done);
  CHECK(r.consumed == 0);
  CHECK_FALSE(r.frame_end);
  CHECK(a.finish() == Status::done);

  a.reset();
  CHECK(a.feed("\x81\x05he"s).status == Status::need_more);
  CHECK(a.finish() == Status::error);  // inside a frame
  CHECK(close_code_for(ParseError::ws_invalid_utf8) == 1007);
  CHECK(close_code_for(ParseError::ws_message_too_large) == 1009);
  CHECK(close_code_for(ParseError::ws_masked_frame) == 1002);
}

TEST_CASE("close payloads", "[ws]") {
  auto payload = [](uint16_t code, std::string_view reason) {
    return std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)}.append(reason);
  };
  const CloseInfo none = parse_close({});
  CHECK_FALSE(none.has_code);
  CHECK(none.code == 1005);
  CHECK(none.valid);
  CHECK_FALSE(parse_close(std::string_view("\x03")).valid);
  const std::string bye = payload(1000, "bye");
  const CloseInfo c = parse_close(bye);
  CHECK(c.has_code);
  CHECK(c.code == 1000);
  CHECK(c.reason == "bye");
  CHECK(c.valid);
  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999}) {
    INFO("code " << code);
    CHECK(parse_close(payload(code, "")).valid);
  }
  for (uint16_t code : {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    INFO("code " << code);
    const CloseInfo bad = parse_close(payload(code, ""));
    CHECK_FALSE(bad.valid);
    CHECK(bad.code == code);
  }
  CHECK_FALSE(parse_close(payload(1000, "\xff")).valid);
  CHECK_FALSE(parse_close(payload(1000, "\xe2\x82")).valid);
  CHECK(parse_close(payload(1001, "\xe2\x82\xac")).valid);
}

TEST_CASE("encoder: RFC 6455 §5.7 vector and header sizes", "[ws]") {
  std::array<char, 64> out{};
  const std::string hello = "Hello";
  const std::size_t n = encode_frame(out, Opcode::text, true, hello, 0x37fa213d);
  CHECK(std::string(out.data(), n) == "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"s);

  struct Size { uint64_t len; std::size_t size; std::string len_bytes; };
  const std::vector<Size> sizes = {
      {0, 6, "\x80"s}, {125, 6, "\xfd"s}, {126, 8, "\xfe\x00\x7e"s}, {65535, 8, "\xfe\xff\xff"s},
      {65536, 14, "\xff\x00\x00\x00\x00\x00\x01\x00\x00"s},
      {(1ull << 63) - 1, 14, "\xff\x7f\xff\xff\xff\xff\xff\xff\xff"s}};
  for (const Size& s : sizes) {
    INFO("length " << s.len);
    REQUIRE(encode_frame_header(out, Opcode::binary, false, s.len, 0x01020304) == s.size);
    CHECK(out[0] == '\x02');
    CHECK(std::string(out.data() + 1, s.size - 5) == s.len_bytes);
    CHECK(std::string(out.data() + s.size - 4, 4) == "\x01\x02\x03\x04"s);
  }
  CHECK(encode_frame_header(out, Opcode::binary, true, 1ull << 63, 0) == 0);
  CHECK(encode_frame_header(out, Opcode::ping, true, 126, 0) == 0);
  CHECK(encode_frame_header(out, Opcode::ping, false, 0, 0) == 0);
  CHECK(encode_frame_header(out, static_cast<Opcode>(3), true, 0, 0) == 0);
  CHECK(encode_frame_header(std::span<char>(out.data(), 7), Opcode::text, true, 126, 0) == 0);
  CHECK(encode_frame_header(std::span<char>(out.data(), 8), Opcode::text, true, 126, 0) == 8);
  CHECK(encode_frame(std::span<char>(out.data(), 10), Opcode::text, true, hello, 0) == 0);
}

TEST_CASE("encoder round trip through the decoder", "[ws]") {
  std::vector<char> out(70000 + 14);
  for (std::size_t len : {0, 1, 125, 126, 65535, 65536, 70000}) {
    INFO("length " << len);
    const std::string payload = big(len);
    const uint32_t key = 0x9e3779b9u + static_cast<uint32_t>(len);
    const std::size_t n = encode_frame(out, Opcode::binary, true, payload, key);
    REQUIRE(n > len);
    const std::size_t h = n - len;
    CHECK((out[1] & 0x80) != 0);
    // Play the server: unmask, drop the key and the MASK bit, decode.
    std::string frame(out.data(), h - 4);
    frame[1] = static_cast<char>(frame[1] & 0x7f);
    std::span<char> body(out.data() + h, len);
    mask_payload(body, key, 0);
    frame.append(body.data(), body.size());
    CHECK(frame == srv(0x82, payload));
    MessageAssembler a;
    const MessageResult r = a.feed(frame);
    CHECK(r.status == Status::done);
    CHECK(std::string(r.data.data(), r.data.size()) == payload);
  }
}

TEST_CASE("masking in pieces equals masking whole", "[ws]") {
  const std::string payload = big(100);
  const uint32_t key = 0xa1b2c3d4u;
  std::string expect = payload;
  for (std::size_t i = 0; i < expect.size(); ++i) {
    expect[i] = static_cast<char>(expect[i] ^ static_cast<char>(key >> (8 * (3 - i % 4))));
  }
  for (std::size_t a = 0; a <= payload.size(); ++a) {
    for (std::size_t b = a; b <= payload.size(); b += 1 + b / 8) {
      std::string m = payload;
      mask_payload(std::span<char>(m.data(), a), key, 0);
      mask_payload(std::span<char>(m.data() + a, b - a), key, a);
      mask_payload(std::span<char>(m.data() + b, m.size() - b), key, b);
      REQUIRE(m == expect);
    }
  }
}

TEST_CASE("close and pong frames", "[ws]") {
  std::array<char, 200> out{};
  const uint32_t key = 0x11223344;
  auto unmasked = [&](std::size_t n) {
    std::string payload(out.data() + 6, n - 6);
    mask_payload(std::span<char>(payload.data(), payload.size()), key, 0);
    return payload;
  };
  std::size_t n = encode_close_frame(out, 1000, "bye", key);
  REQUIRE(n == 11);
  CHECK(out[0] == '\x88');
  const std::string payload = unmasked(n);
  const CloseInfo c = parse_close(payload);
  CHECK((c.valid && c.code == 1000 && c.reason == "bye"));
  CHECK(encode_close_frame(out, 0, "", key) == 6);
  CHECK(encode_close_frame(out, 0, "why", key) == 0);
  CHECK(encode_close_frame(out, 1005, "", key) == 0);
  CHECK(encode_close_frame(out, 1000, "\xff", key) == 0);
  CHECK(encode_close_frame(out, 4000, std::string(123, 'r'), key) == 6 + 125);
  CHECK(encode_close_frame(out, 4000, std::string(124, 'r'), key) == 0);
  std::array<char, 2> tiny{};
  CHECK(encode_close_payload(tiny, 1000, "") == 2);
  CHECK(encode_close_payload(tiny, 1000, "x") == 0);

  const std::string ping = big(125);
  n = encode_pong_frame(out, ping, key);
  REQUIRE(n == 131);
  CHECK(out[0] == '\x8a');
  CHECK(unmasked(n) == ping);
  CHECK(encode_pong_frame(out, big(126), key) == 0);
}
