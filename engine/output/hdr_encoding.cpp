#include "ringload/hdr_encoding.hpp"

#include "proto/base64.hpp"

#include <zlib.h>

#include <bit>
#include <cstring>
#include <utility>
#include <vector>

namespace ringload {
namespace {

constexpr uint32_t v2_cookie = 0x1c849303 | 0x10;             // LEB128-64b9B words
constexpr uint32_t v2_compressed_cookie = 0x1c849304 | 0x10;  // deflate around the above
constexpr uint32_t cookie_base_mask = ~uint32_t{0xf0};
constexpr std::size_t header_len = 40;                        // the V2 header's bytes
constexpr int significant_digits = 3;
constexpr uint64_t lowest_discernible = 1;
// A count is at most 9 bytes: the largest V2 encoding ringload's layout allows.
constexpr std::size_t max_encoded = header_len + 9 * Histogram::counts_len;

void put_u32(std::vector<unsigned char>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<unsigned char>(v >> shift));
}

void put_u64(std::vector<unsigned char>& out, uint64_t v) {
  put_u32(out, static_cast<uint32_t>(v >> 32));
  put_u32(out, static_cast<uint32_t>(v));
}

// HdrHistogram's ZigZagEncoding.putLong: LEB128 in 7-bit groups for 8 bytes, then a
// ninth byte of 8 bits (LEB128-64b9B).
void put_zigzag(std::vector<unsigned char>& out, int64_t value) {
  uint64_t v = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  for (int i = 0; i < 8; ++i) {
    if ((v >> 7) == 0) {
      out.push_back(static_cast<unsigned char>(v));
      return;
    }
    out.push_back(static_cast<unsigned char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<unsigned char>(v));
}

// The V2 payload: counts[0 .. index_of(max)], zero runs longer than one as -length.
void put_counts(std::vector<unsigned char>& out, const Histogram& h) {
  if (h.count() == 0) {  // HdrHistogram writes counts[0 .. index_of(0)]: one zero
    put_zigzag(out, 0);
    return;
  }
  // Nothing below min's bucket or above max's holds a count (histogram.hpp); the pages
  // outside that range are not read.
  const std::size_t lo = Histogram::index_of(h.min());
  const std::size_t hi = Histogram::index_of(h.max());
  const auto counts = h.counts();
  std::size_t zeros = lo;
  auto flush_zeros = [&] {
    if (zeros == 1) put_zigzag(out, 0);
    if (zeros > 1) put_zigzag(out, -static_cast<int64_t>(zeros));
    zeros = 0;
  };
  for (std::size_t i = lo; i <= hi; ++i) {
    const uint64_t c = counts[i];
    if (c == 0) {
      ++zeros;
      continue;
    }
    flush_zeros();
    put_zigzag(out, static_cast<int64_t>(c));
  }
  flush_zeros();
}

}  // namespace

std::string hdr_encode(const Histogram& h) {
  std::vector<unsigned char> raw;
  raw.reserve(header_len + 64);
  put_u32(raw, v2_cookie);
  put_u32(raw, 0);  // the payload's length, filled in below
  put_u32(raw, 0);  // normalizing index offset
  put_u32(raw, significant_digits);
  put_u64(raw, lowest_discernible);
  put_u64(raw, Histogram::highest_trackable);
  put_u64(raw, std::bit_cast<uint64_t>(1.0));
  put_counts(raw, h);
  const auto payload = static_cast<uint32_t>(raw.size() - header_len);
  for (int i = 0; i < 4; ++i) raw[4 + i] = static_cast<unsigned char>(payload >> (24 - 8 * i));

  uLongf zlen = compressBound(static_cast<uLong>(raw.size()));
  std::vector<unsigned char> framed(8 + zlen);
  // zlib's default level, as java.util.zip.Deflater's; a failure here is out of memory.
  if (compress2(framed.data() + 8, &zlen, raw.data(), static_cast<uLong>(raw.size()), Z_DEFAULT_COMPRESSION) != Z_OK) {
    throw std::bad_alloc();
  }
  framed.resize(8 + zlen);
  for (int i = 0; i < 4; ++i) {
    framed[i] = static_cast<unsigned char>(v2_compressed_cookie >> (24 - 8 * i));
    framed[4 + i] = static_cast<unsigned char>(zlen >> (24 - 8 * i));
  }
  std::string text(proto::base64_encoded_size(framed.size()), '\0');
  text.resize(proto::base64_encode({reinterpret_cast<const char*>(framed.data()), framed.size()}, text.data()));
  return text;
}

namespace {

// Reads the big-endian and LEB128 fields of a decoded buffer; `ok` turns false at the
// first read past its end.
struct Reader {
  const unsigned char* p;
  std::size_t n;
  std::size_t at = 0;
  bool ok = true;

  uint64_t be(int bytes) {
    if (n - at < static_cast<std::size_t>(bytes)) {
      ok = false;
      at = n;
      return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = v << 8 | p[at++];
    return v;
  }
  int64_t zigzag() {
    uint64_t v = 0;
    for (int i = 0; i < 9; ++i) {
      if (at == n) {
        ok = false;
        return 0;
      }
      const uint64_t b = p[at++];
      if (i == 8) {
        v |= b << 56;
        break;
      }
      v |= (b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) break;
    }
    return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
  }
};

using Expected = std::expected<void, std::string>;
using Buckets = std::vector<std::pair<std::size_t, uint64_t>>;

// zlib's inflate of `in`, at most max_encoded bytes out (a larger one is no histogram of
// ringload's layout: refused before it is all inflated).
std::expected<std::vector<unsigned char>, std::string> inflate_bounded(const unsigned char* in, std::size_t n) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) return std::unexpected(std::string("zlib: out of memory"));
  zs.next_in = const_cast<unsigned char*>(in);  // zlib's API is not const-correct
  zs.avail_in = static_cast<uInt>(n);
  std::vector<unsigned char> raw;
  unsigned char chunk[16384];
  int z = Z_OK;
  while (z == Z_OK && raw.size() <= max_encoded) {
    zs.next_out = chunk;
    zs.avail_out = sizeof chunk;
    z = inflate(&zs, Z_NO_FLUSH);
    raw.insert(raw.end(), chunk, chunk + (sizeof chunk - zs.avail_out));
  }
  inflateEnd(&zs);
  if (raw.size() > max_encoded) return std::unexpected(std::string("larger than any histogram of ringload's layout"));
  if (z == Z_BUF_ERROR) return std::unexpected(std::string("bad deflate data (truncated)"));
  if (z != Z_STREAM_END) return std::unexpected(std::string("bad deflate data (zlib: ") + zError(z) + ")");
  return raw;
}

// The compressed frame to the V2 encoding's bytes, bounded by the largest one possible.
std::expected<std::vector<unsigned char>, std::string> inflate_frame(std::string_view text) {
  std::vector<char> framed(proto::base64_decoded_max(text.size()));
  const proto::Base64Decoded d = proto::base64_decode(text, framed.data());
  if (d.error != proto::Base64Decoded::Error::none) {
    char buf[64];
    return std::unexpected(std::string("not Base64: ") + proto::to_string(d, text.size(), buf));
  }
  Reader r{reinterpret_cast<const unsigned char*>(framed.data()), d.size};
  const auto cookie = static_cast<uint32_t>(r.be(4));
  const uint64_t zlen = r.be(4);
  if (!r.ok || (cookie & cookie_base_mask) != (v2_compressed_cookie & cookie_base_mask)) {
    return std::unexpected(std::string("not a compressed V2 HdrHistogram (cookie)"));
  }
  if (zlen > d.size - 8) return std::unexpected(std::string("truncated: the compressed length exceeds the data"));
  return inflate_bounded(r.p + 8, static_cast<std::size_t>(zlen));
}

// The V2 header and counts to (index, count) pairs, checked against ringload's layout.
Expected parse_v2(const std::vector<unsigned char>& raw, Buckets& out) {
  Reader r{raw.data(), raw.size()};
  const auto cookie = static_cast<uint32_t>(r.be(4));
  const uint64_t payload = r.be(4);
  r.be(4);  // normalizing index offset: ignored, as by HdrHistogram's integer decoders
  const uint64_t digits = r.be(4);
  const uint64_t lowest = r.be(8);
  const uint64_t highest = r.be(8);
  r.be(8);  // conversion ratio (a double in Java's encoding; hdr-histogram-js writes 1L)
  if (!r.ok || cookie != v2_cookie) return std::unexpected(std::string("not a V2 HdrHistogram encoding (inner cookie)"));
  if (digits != significant_digits || lowest != lowest_discernible) {
    return std::unexpected("layout: " + std::to_string(digits) + " significant digits, lowest discernible value " +
                           std::to_string(lowest) + " (ringload reads 3 and 1)");
  }
  if (highest < 2) return std::unexpected(std::string("layout: highest trackable value below 2"));
  // HdrHistogram_c writes a payload length beyond the counts it writes (its test
  // histogram's: 49 for 9 bytes), and its decoder, like hdr-histogram-js's, stops at the
  // data's end: so does this one.
  if (payload < raw.size() - header_len) r.n = header_len + payload;
  std::size_t index = 0;
  uint64_t total = 0;
  while (r.at < r.n) {
    const int64_t v = r.zigzag();
    if (!r.ok) return std::unexpected(std::string("truncated count"));
    if (v < 0) {
      const auto run = static_cast<uint64_t>(-(v + 1)) + 1;  // safe for INT64_MIN
      if (run > Histogram::counts_len - index) return std::unexpected(std::string("counts beyond 2^37 - 1 ns"));
      index += run;
      continue;
    }
    if (index >= Histogram::counts_len) return std::unexpected(std::string("counts beyond 2^37 - 1 ns"));
    const auto c = static_cast<uint64_t>(v);
    if (c > UINT64_MAX / 2 - total) return std::unexpected(std::string("total count overflows"));
    total += c;
    if (c != 0) out.emplace_back(index, c);
    ++index;
  }
  return {};
}

}  // namespace

Expected hdr_decode(std::string_view text, Histogram& into) {
  auto raw = inflate_frame(text);
  if (!raw) return std::unexpected(std::move(raw.error()));
  Buckets buckets;
  if (auto parsed = parse_v2(*raw, buckets); !parsed) return parsed;
  for (const auto& [index, count] : buckets) into.record_bucket(index, count);
  return {};
}

}  // namespace ringload
