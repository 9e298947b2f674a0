// UTF-8 validation (RFC 3629 §4: no overlongs, no surrogates, nothing above U+10FFFF).
// Standard library only. Used by the WebSocket message assembler (RFC 6455 §8.1) and by
// the JSON text of the export.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ringload::proto {

// Incremental validation: fails at the first byte that cannot continue a valid sequence,
// whatever the splits, as RFC 6455 §8.1 asks ("fail fast").
class Utf8Validator {
 public:
  void reset() noexcept { need_ = 0; lo_ = 0x80; hi_ = 0xbf; failed_ = false; }
  // Returns in.size() when every byte may belong to valid UTF-8 (the input may end inside
  // a character), else the offset of the first invalid byte; after that, returns 0.
  std::size_t feed(std::span<const char> in) noexcept;
  // The bytes so far end on a character boundary: a message may end here.
  bool at_boundary() const noexcept { return need_ == 0 && !failed_; }

 private:
  uint8_t need_ = 0;    // continuation bytes still due
  uint8_t lo_ = 0x80;   // allowed range of the next continuation byte
  uint8_t hi_ = 0xbf;
  bool failed_ = false;
};

// The whole of `s` is valid UTF-8.
bool valid_utf8(std::string_view s) noexcept;

// Length (2 to 4) of the well-formed multi-byte sequence at the start of `s`; 0 when
// s[0] does not start one or the sequence is cut short or ill-formed (Unicode 15,
// table 3-7). ASCII bytes are not sequences here: 0.
std::size_t utf8_sequence_length(std::span<const char> s) noexcept;

}  // namespace ringload::proto
