// WebSocket (RFC 6455) codec: server frames through MessageAssembler fed whole, split at
// every offset and byte by byte against a PROT_NONE page; UTF-8 edge cases; close
// payloads; the client encoder (RFC 6455 §5.7 vector, masking in pieces); handshake.
#include <catch2/catch.hpp>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/coding.h>
#include <wolfssl/wolfcrypt/hash.h>

#include <array>
#include <string>
#include <vector>

#include "proto/websocket.hpp"
#include "tests/unit/guard_page.hpp"

using namespace std::string_literals;
using namespace ringload::proto;
using namespace ringload::proto::ws;
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

// Feeds one read the way the engine does (see websocket.hpp).
void feed(MessageAssembler& a, GuardPage& guard, std::string_view chunk, Run& run) {
  if (run.stopped) return;
  std::span<const char> in = guard.place(chunk);
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
std::vector<std::size_t> splits(std::size_t n) {
  std::vector<std::size_t> out;
  for (std::size_t k = 1; k < n; ++k) {
    if (n <= 600 || k < 64 || n - k < 64 || k % 997 == 0) out.push_back(k);
  }
  return out;
}

}  // namespace

TEST_CASE("frames fed whole, split and byte by byte", "[ws]") {
  GuardPage guard;
  for (const Vector& v : vectors()) {
    INFO("vector: " << v.name);
    MessageAssembler a(v.max);
    Run whole;
    feed(a, guard, v.bytes, whole);
    CHECK(whole.messages == v.messages);
    CHECK(whole.error == v.error);
    CHECK(whole.consumed == (v.consumed == all ? v.bytes.size() : v.consumed));
    if (v.error == ParseError::none) CHECK(a.finish() == Status::done);

    const std::string_view bytes = v.bytes;
    for (std::size_t k : splits(bytes.size())) {
      INFO("split at " << k);
      a.reset();
      Run split;
      feed(a, guard, bytes.substr(0, k), split);
      if (k < whole.consumed) REQUIRE(split.error == ParseError::none);
      feed(a, guard, bytes.substr(k), split);
      REQUIRE(split == whole);
    }

    a.reset();
    Run slow;
    for (char c : bytes) feed(a, guard, std::string_view(&c, 1), slow);
    CHECK(slow == whole);
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

TEST_CASE("UTF-8 validator edge cases", "[ws]") {
  struct Case {
    std::string s;
    std::size_t fail_at;  // `all`: valid; s.size(): truncated at the end
  };
  const std::vector<Case> cases = {
      {"", all}, {"plain ASCII, longer than eight bytes", all},
      {"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", all},           // κόσμε
      {"\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", all},           // boundaries of 1-3 bytes
      {"\xed\x9f\xbf\xee\x80\x80", all},                               // U+D7FF, U+E000
      {"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", all},                       // U+10000, U+10FFFF
      {"\x80", 0}, {"ab\xbf", 2}, {"\xc0\x80", 0}, {"\xc1\xbf", 0},    // lone continuation, overlong
      {"\xe0\x80\x80", 1}, {"\xe0\x9f\xbf", 1},                        // overlong 3 bytes
      {"\xf0\x80\x80\x80", 1}, {"\xf0\x8f\xbf\xbf", 1},                // overlong 4 bytes
      {"\xed\xa0\x80", 1}, {"\xed\xbf\xbf", 1},                        // surrogates
      {"\xf4\x90\x80\x80", 1}, {"\xf5\x80\x80\x80", 0}, {"\xff", 0},   // above U+10FFFF
      {"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80" "edited", 12},
      {"\xc3(", 1}, {"\xe2\x82(", 2}, {"\xf0\x9f\x98(", 3},           // short sequences
      {"01234567\x80", 8}, {"0123456789abcde\xfe", 15},                 // after ASCII runs
      {"\xc3", 1}, {"\xe2\x82", 2}, {"\xf0\x9f\x98", 3},                // truncated at the end
  };
  for (const Case& c : cases) {
    INFO("case: " << Catch::Detail::stringify(c.s));
    const bool valid = c.fail_at == all;
    CHECK(valid_utf8(c.s) == valid);
    for (std::size_t k = 0; k <= c.s.size(); ++k) {
      Utf8Validator v;
      std::size_t ok = v.feed(std::string_view(c.s).substr(0, k));
      if (ok == k) ok += v.feed(std::string_view(c.s).substr(k));
      const bool whole_ok = ok == c.s.size();
      if (valid || c.fail_at == c.s.size()) {
        CHECK(whole_ok);
        CHECK(v.at_boundary() == valid);
      } else {
        CHECK(ok == c.fail_at);
        CHECK_FALSE(v.at_boundary());
      }
    }
  }
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

TEST_CASE("accept key input gives the RFC 6455 §1.3 accept value", "[ws]") {
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  std::array<char, 64> in{};
  const std::size_t n = accept_key_input(in, key);
  REQUIRE(n == key.size() + accept_guid.size());
  CHECK(std::string(in.data(), n) == key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
  CHECK(accept_key_input(std::span<char>(in.data(), n - 1), key) == 0);
  // What the engine does with it (wolfSSL).
  std::array<byte, 20> sha{};
  REQUIRE(wc_ShaHash(reinterpret_cast<const byte*>(in.data()), static_cast<word32>(n), sha.data()) == 0);
  std::array<byte, 64> b64{};
  word32 b64_len = b64.size();
  REQUIRE(Base64_Encode_NoNl(sha.data(), sha.size(), b64.data(), &b64_len) == 0);
  CHECK(b64_len == accept_length);
  CHECK(std::string(reinterpret_cast<const char*>(b64.data()), b64_len) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("opening request", "[ws]") {
  const std::array<std::string_view, 2> protocols{"chat", "superchat"};
  const std::array<Header, 1> extra{{{"Origin", "http://example.com"}}};
  OpeningRequest req{"server.example.com", "/chat", "dGhlIHNhbXBsZSBub25jZQ==", protocols, extra};
  const std::string expect =
      "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
      "Origin: http://example.com\r\n\r\n";
  std::array<char, 512> out{};
  REQUIRE(render_opening_request(out, req) == expect.size());
  CHECK(std::string(out.data(), expect.size()) == expect);
  std::array<char, 16> small{};
  CHECK(render_opening_request(small, req) == expect.size());  // the size needed
  CHECK(std::string(small.data(), small.size()) == expect.substr(0, small.size()));

  OpeningRequest plain{"h:8080", "/", "a2V5", {}, {}};
  const std::size_t n = render_opening_request(out, plain);
  CHECK(std::string_view(out.data(), n).find("Protocol") == std::string_view::npos);

  auto rejects = [&](OpeningRequest r) { return render_opening_request(out, r) == 0; };
  CHECK(rejects({"", "/", "a2V5", {}, {}}));
  CHECK(rejects({"h", "chat", "a2V5", {}, {}}));
  CHECK(rejects({"h", "/a b", "a2V5", {}, {}}));
  CHECK(rejects({"h\r\nX: y", "/", "a2V5", {}, {}}));
  CHECK(rejects({"h", "/", "", {}, {}}));
  CHECK(rejects({"h", "/", "a2V5\r\n", {}, {}}));
  const std::array<std::string_view, 1> bad_protocol{"a,b"};
  CHECK(rejects({"h", "/", "a2V5", bad_protocol, {}}));
  const std::array<Header, 1> dup{{{"connection", "close"}}};
  CHECK(rejects({"h", "/", "a2V5", {}, dup}));
  const std::array<Header, 1> ext{{{"Sec-WebSocket-Extensions", "permessage-deflate"}}};
  CHECK(rejects({"h", "/", "a2V5", {}, ext}));
  const std::array<Header, 1> crlf{{{"X-A", "1\r\nX-B: 2"}}};
  CHECK(rejects({"h", "/", "a2V5", {}, crlf}));
}

TEST_CASE("upgrade response checks", "[ws]") {
  const std::string_view accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
  const std::array<std::string_view, 2> offered{"chat", "v2"};
  struct Case {
    const char* name;
    std::vector<Header> headers;
    bool ok;
    std::string_view selected = {};
  };
  const Header up{"Upgrade", "websocket"};
  const Header conn{"Connection", "Upgrade"};
  const Header acc{"Sec-WebSocket-Accept", accept};
  const std::vector<Case> cases = {
      {"minimal", {up, conn, acc}, true},
      {"case and lists", {{"UPGRADE", "WebSocket"}, {"connection", "keep-alive, upgrade"}, acc}, true},
      {"connection over two lines", {up, {"Connection", "keep-alive"}, {"Connection", "Upgrade"}, acc}, true},
      {"protocol chosen", {up, conn, acc, {"Sec-WebSocket-Protocol", "v2"}}, true, "v2"},
      {"empty extensions", {up, conn, acc, {"Sec-WebSocket-Extensions", ""}}, true},
      {"no upgrade", {conn, acc}, false},
      {"wrong upgrade", {{"Upgrade", "h2c"}, conn, acc}, false},
      {"no connection", {up, acc}, false},
      {"connection without upgrade", {up, {"Connection", "keep-alive"}, acc}, false},
      {"no accept", {up, conn}, false},
      {"wrong accept", {up, conn, {"Sec-WebSocket-Accept", "S3pPLMBiTxaQ9kYGzzhZRbK+xOo="}}, false},
      {"two accepts", {up, conn, acc, acc}, false},
      {"extension", {up, conn, acc, {"Sec-WebSocket-Extensions", "permessage-deflate"}}, false},
      {"protocol not offered", {up, conn, acc, {"Sec-WebSocket-Protocol", "other"}}, false},
      {"two protocols", {up, conn, acc, {"Sec-WebSocket-Protocol", "chat"}, {"Sec-WebSocket-Protocol", "v2"}}, false},
  };
  for (const Case& c : cases) {
    INFO("case: " << c.name);
    std::string_view selected = "stale";
    const char* why = check_upgrade_headers(c.headers, accept, offered, &selected);
    CHECK((why == nullptr) == c.ok);
    if (c.ok) CHECK(selected == c.selected);
  }
  ResponseHead head;
  head.status = 426;
  const std::vector<Header> good{up, conn, acc};
  CHECK(check_upgrade_response(head, good, accept, offered) != nullptr);
  head.status = 101;
  CHECK(check_upgrade_response(head, good, accept, offered) == nullptr);
  CHECK(check_upgrade_headers(good, accept, {}) == nullptr);
}
