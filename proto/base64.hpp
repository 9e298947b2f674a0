// Base64, RFC 4648 §4 (the standard alphabet). Standard library only, no allocation.
//
// Encoding always pads. Decoding accepts input with or without padding (§3.2 lets a
// format omit it), but padding that is present must complete the last quantum; no
// whitespace or line breaks are accepted (§3.3).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ringload::proto {

// Characters the encoding of n bytes takes (padded).
constexpr std::size_t base64_encoded_size(std::size_t n) noexcept { return (n + 2) / 3 * 4; }

// Encodes all of `in` to `out`, which must hold base64_encoded_size(in.size()) bytes.
// Returns the characters written.
std::size_t base64_encode(std::span<const char> in, char* out) noexcept;

// Encodes input that arrives in pieces: the output equals base64_encode of the pieces
// joined. Holds at most two bytes between calls.
class Base64Encoder {
 public:
  // Most characters feed() writes for `n` input bytes.
  static constexpr std::size_t max_output(std::size_t n) noexcept { return (n + 2) / 3 * 4; }
  // Writes the whole quanta now complete to `out` (at least max_output(in.size())
  // bytes); returns the characters written.
  std::size_t feed(std::span<const char> in, char* out) noexcept;
  // The padded last quantum (0 or 4 characters); the encoder is then empty again.
  std::size_t finish(char* out) noexcept;

 private:
  unsigned char carry_[2]{};
  uint8_t carried_ = 0;
};

// Bytes the decoding of `text` may take at most.
constexpr std::size_t base64_decoded_max(std::size_t text_len) noexcept { return text_len / 4 * 3 + 2; }

struct Base64Decoded {
  enum class Error : uint8_t { none, bad_character, bad_padding, truncated } error = Error::none;
  std::size_t size = 0;      // bytes written (when error is none)
  std::size_t position = 0;  // bad_character: its offset in the text
};

// Decodes `text` to `out` (at least base64_decoded_max(text.size()) bytes).
Base64Decoded base64_decode(std::string_view text, char* out) noexcept;

// base64_decode(text) would succeed: the alphabet only, padding (if any) completing the
// last quantum, no length that leaves a lone character. "" is valid (it decodes to nothing).
bool base64_valid(std::string_view text) noexcept;

// "invalid character at offset 2", "bad padding", "truncated input (length 5)": the
// caller's buffer `buf` (64 bytes) holds the text when it needs numbers.
const char* to_string(const Base64Decoded& d, std::size_t text_len, std::span<char, 64> buf) noexcept;

}  // namespace ringload::proto
