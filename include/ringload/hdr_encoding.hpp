// HdrHistogram's interchange encoding of a Histogram: the compressed V2 form, Base64
// ("HISTFAAA..."), which HdrHistogram's own libraries decode (Java's
// Histogram.decodeFromCompressedByteBuffer, C's hdr_log_decode, hdr-histogram-js's
// decodeFromCompressedBase64). The report carries one per histogram block (`hdr`).
//
// ringload's layout is HdrHistogram's own for lowest discernible value 1, highest trackable
// value 2^37 - 1 and 3 significant digits (histogram.hpp), so the counts are written as they
// are: index i of Histogram::counts() is index i of HdrHistogram's counts array. Values are
// nanoseconds, the unit ringload records in (not the report blocks' microseconds: a
// microsecond histogram could not hold the nanosecond buckets below 2 ms exactly).
//
// Bytes (big-endian), as HdrHistogram's Java AbstractHistogram.encodeIntoCompressedByteBuffer
// writes them:
//   int32 0x1c849314   compressed V2 cookie (base 0x1c849304 | 0x10: LEB128 word size)
//   int32 n            length of what follows
//   n bytes            zlib (RFC 1950) deflate of the V2 encoding:
//     int32 0x1c849313   V2 cookie (0x1c849303 | 0x10)
//     int32              payload length in bytes
//     int32 0            normalizing index offset
//     int32 3            significant value digits
//     int64 1            lowest discernible value
//     int64 2^37 - 1     highest trackable value
//     float64 1.0        integer-to-double value conversion ratio
//     payload            counts[0 .. index_of(max)] as ZigZag LEB128-64b9B longs; a run
//                        of k > 1 zero counts is the one value -k
#pragma once
#include <expected>
#include <string>
#include <string_view>

#include "ringload/export.hpp"
#include "ringload/histogram.hpp"

namespace ringload {

// The Base64 text of `h` (an empty histogram too: its encoding holds one zero count).
// Reads only the counts between h's lowest and highest non-empty ones.
RINGLOAD_API std::string hdr_encode(const Histogram& h);

// Decodes `text` (the form hdr_encode writes, from ringload or any HdrHistogram library)
// and adds its counts to `into` (Histogram::record_bucket: min, max and mean as
// HdrHistogram computes them from buckets). Accepts the compressed V2 encoding whose layout
// is ringload's (3 significant digits, lowest discernible value 1, no count beyond
// 2^37 - 1); the normalizing index offset and the conversion ratio are ignored, as
// HdrHistogram's integer histograms ignore them. On an error `into` is unchanged and the
// message says what is wrong ("not Base64", "layout: 2 significant digits ...").
RINGLOAD_API std::expected<void, std::string> hdr_decode(std::string_view text, Histogram& into);

}  // namespace ringload
