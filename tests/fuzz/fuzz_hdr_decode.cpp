// libFuzzer target for the HdrHistogram decoder (hdr_decode, include/ringload/hdr_encoding.hpp),
// which will read reports from other machines (`ringload merge`).
//
// Input: its first byte chooses what the rest is.
// - even: the Base64 text itself (the outer layers: Base64, cookie, compressed length, inflate);
// - odd: the uncompressed V2 encoding, which the target deflates (zlib), frames and Base64s,
//   so the header and count parsing behind inflate gets fuzzed too.
// Checks, besides memory safety: a refused input leaves the histogram as it was; an accepted
// one holds as many values as its counts add up to, in ringload's layout, and encodes and
// decodes back to the same counts.
#include <zlib.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "proto/base64.hpp"
#include "ringload/hdr_encoding.hpp"
#include "ringload/histogram.hpp"

using ringload::Histogram;

namespace {

std::string wrap(const uint8_t* data, std::size_t size) {
  uLongf zlen = compressBound(static_cast<uLong>(size));
  std::vector<unsigned char> framed(8 + zlen);
  if (compress2(framed.data() + 8, &zlen, data, static_cast<uLong>(size), Z_DEFAULT_COMPRESSION) != Z_OK) return {};
  framed.resize(8 + zlen);
  const uint32_t cookie = 0x1c849314;
  for (int i = 0; i < 4; ++i) {
    framed[i] = static_cast<unsigned char>(cookie >> (24 - 8 * i));
    framed[4 + i] = static_cast<unsigned char>(zlen >> (24 - 8 * i));
  }
  std::string text(ringload::proto::base64_encoded_size(framed.size()), '\0');
  ringload::proto::base64_encode({reinterpret_cast<const char*>(framed.data()), framed.size()}, text.data());
  return text;
}

uint64_t sum(const Histogram& h) {
  uint64_t total = 0;
  for (uint64_t c : h.counts()) total += c;
  return total;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string text = (data[0] & 1) != 0 ? wrap(data + 1, size - 1)
                                              : std::string(reinterpret_cast<const char*>(data + 1), size - 1);
  static auto h = std::make_unique<Histogram>();
  static auto back = std::make_unique<Histogram>();
  h->reset();
  h->record_n(7, 3);  // something to keep on a refusal
  const auto r = ringload::hdr_decode(text, *h);
  if (!r) {
    FUZZ_ASSERT(!r.error().empty());
    FUZZ_ASSERT(h->count() == 3 && h->counts()[7] == 3 && sum(*h) == 3);
    return 0;
  }
  FUZZ_ASSERT(sum(*h) == h->count());
  FUZZ_ASSERT(h->count() >= 3 && h->min() <= 7 && h->max() <= Histogram::highest_trackable);
  back->reset();
  FUZZ_ASSERT(ringload::hdr_decode(ringload::hdr_encode(*h), *back));
  const auto a = h->counts(), b = back->counts();
  for (std::size_t i = 0; i < Histogram::counts_len; ++i) FUZZ_ASSERT(a[i] == b[i]);
  return 0;
}
