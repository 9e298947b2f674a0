// libFuzzer target for the WebSocket frame decoder and message assembler.
//
// Input: byte 0 picks the assembler's message size limit, byte 1 where reads are split;
// the rest is a stream of server frames. Besides memory safety it checks the contracts:
// consumed never exceeds the input, non-empty input makes progress unless an error,
// data spans stay inside the input, text messages and close reasons that pass are valid
// UTF-8, messages respect the limit, and a feed split in two, in small pieces or byte by
// byte (the unit tests' cuts, tests/support/cuts.hpp) agrees exactly with a feed of the
// whole input. Close payloads and frame headers found on the way go through the encoder
// and back.
#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "proto/utf8.hpp"
#include "proto/ws_close.hpp"
#include "proto/ws_encode.hpp"
#include "proto/ws_frame.hpp"
#include "proto/ws_message.hpp"
#include "tests/support/cuts.hpp"

using namespace ringload::proto;
using namespace ringload::proto::ws;
using ringload::test::Cut;
using ringload::test::GuardPage;

namespace {

constexpr std::array<uint64_t, 8> max_sizes = {ws::limits::default_max_message, 0, 1, 16, 125,
                                               126, 1000, UINT64_MAX};

struct Run {
  std::vector<std::string> messages;  // opcode byte + payload, at each done
  std::string msg, ctrl;
  std::size_t frames = 0;
  std::size_t consumed = 0;
  ParseError error = ParseError::none;
  bool stopped = false;
  bool operator==(const Run&) const = default;
};

void check_message(Opcode op, const std::string& payload, uint64_t max) {
  if (is_control(op)) {
    FUZZ_ASSERT(payload.size() <= ws::limits::max_control_payload);
  } else {
    FUZZ_ASSERT(payload.size() <= max);
  }
  if (op == Opcode::text) FUZZ_ASSERT(valid_utf8(payload));
  if (op == Opcode::close) {
    const CloseInfo c = parse_close(payload);
    if (c.valid && c.has_code) {
      // A valid close payload is exactly what the encoder writes for its code and reason.
      std::array<char, ws::limits::max_control_payload> out{};
      const std::size_t n = encode_close_payload(out, c.code, c.reason);
      FUZZ_ASSERT(std::string(out.data(), n) == payload);
    }
    if (c.valid) FUZZ_ASSERT(valid_utf8(c.reason));
  }
  if (op == Opcode::ping) {
    std::array<char, 200> out{};
    const auto key = static_cast<uint32_t>(payload.size() * 0x9e3779b9u);
    const std::size_t n = encode_pong_frame(out, payload, key);
    FUZZ_ASSERT(n == 6 + payload.size());
    std::span<char> body(out.data() + 6, payload.size());
    mask_payload(body, key, 0);
    FUZZ_ASSERT(std::string(body.data(), body.size()) == payload);
  }
}

// One read, copied by the guard page (under ASan: an allocation of exactly its size, freed
// after the call), so ASan sees any overread; false once the run stopped (no more reads).
bool feed(MessageAssembler& a, std::span<const char> in, uint64_t max, Run& run) {
  if (run.stopped) return false;
  const std::size_t size = in.size();
  for (std::size_t calls = 0;; ++calls) {
    FUZZ_ASSERT(calls <= size + 1);
    const MessageResult r = a.feed(in);
    FUZZ_ASSERT(r.consumed <= in.size());
    FUZZ_ASSERT(r.data.empty() || (r.data.data() >= in.data() &&
                                   r.data.data() + r.data.size() <= in.data() + r.consumed));
    if (r.status != Status::error && !in.empty()) FUZZ_ASSERT(r.consumed > 0);
    if (r.status == Status::done) FUZZ_ASSERT(r.frame_end);
    if (r.status == Status::error) FUZZ_ASSERT(r.error != ParseError::none);
    std::string& buf = is_control(r.opcode) ? run.ctrl : run.msg;
    if (r.message_start) buf.clear();
    buf.append(r.data.data(), r.data.size());
    run.frames += r.frame_end ? 1 : 0;
    run.consumed += r.consumed;
    in = in.subspan(r.consumed);
    if (r.status == Status::error) {
      run.error = r.error;
      run.stopped = true;
      return false;
    }
    if (r.status == Status::done) {
      check_message(r.opcode, buf, max);
      run.messages.push_back(static_cast<char>(r.opcode) + buf);
      if (a.closed()) {
        run.stopped = true;
        return false;
      }
    }
    if (in.empty()) return true;
  }
}

// The frame layer alone, whole: every header it accepts re-encodes (as a client frame)
// to the same length field, four bytes longer for the mask key.
void check_frames(std::span<const char> stream) {
  FrameDecoder d;
  std::size_t header_at = 0;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    const FrameResult r = d.feed(stream.subspan(pos));
    if (r.status == Status::error) return;
    FUZZ_ASSERT(r.consumed > 0);
    if (r.frame_start) {
      const std::size_t header_end = r.data.empty() ? pos + r.consumed
                                                    : static_cast<std::size_t>(r.data.data() - stream.data());
      std::array<char, ws::limits::max_client_header> out{};
      const std::size_t n = encode_frame_header(out, r.header.opcode, r.header.fin, r.header.length, 0);
      FUZZ_ASSERT(n == header_end - header_at + 4);
      FUZZ_ASSERT(out[0] == stream[header_at]);
    }
    pos += r.consumed;
    if (r.status == Status::done) header_at = pos;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static GuardPage guard(1 << 24);
  if (size < 2 || size - 2 > guard.capacity()) return 0;
  const uint64_t max = max_sizes[data[0] % max_sizes.size()];
  const unsigned split_seed = data[1];
  const std::span<const char> stream(reinterpret_cast<const char*>(data + 2), size - 2);

  // Whole, in two reads, in reads of 1..16 bytes, byte by byte: each agrees exactly with
  // the whole.
  const std::size_t n = stream.size();
  const std::size_t step = 1 + split_seed % 16;
  const Cut cuts[] = {{n, n}, {split_seed % (n + 1), n}, {step, step}, {1, 1}};
  MessageAssembler a(max);
  Run whole;
  for (const Cut& cut : cuts) {
    a.reset();
    Run run;
    ringload::test::feed_guarded(std::string_view(stream.data(), n), cut, guard,
                                 [&](std::span<const char> read, std::size_t) { return feed(a, read, max, run); });
    if (&cut != &cuts[0]) {
      FUZZ_ASSERT(run == whole);
      continue;
    }
    whole = run;
    if (!whole.stopped) FUZZ_ASSERT(whole.consumed == n);
    const Status eof = a.finish();
    if (whole.error != ParseError::none) FUZZ_ASSERT(eof == Status::error);
  }

  check_frames(stream);
  return 0;
}
