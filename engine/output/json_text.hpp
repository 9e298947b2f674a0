// JSON text (RFC 8259) appended to a std::string: numbers, escaped strings and Base64
// payloads, for the export's lines. No allocation beyond the output's growth.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace ringload::json_text {

void append_u64(std::string& out, uint64_t v);

// Microseconds with three decimals: exact nanoseconds, no floating point.
void append_us(std::string& out, uint64_t ns);

// What to do with bytes that are not UTF-8.
enum class BadUtf8 : uint8_t {
  fail,     // stop: append_escaped returns false (out holds a partial string to cut off)
  replace,  // each invalid byte becomes U+FFFD
  pass,     // copy bytes >= 0x80 unchecked: the caller knows the whole text is valid and
            // feeds it in pieces that may split a character
};

// Appends s as the inside of a JSON string (RFC 8259 §7): '"', '\\' and control bytes
// escaped. false: `fail` met invalid UTF-8.
bool append_escaped(std::string& out, std::string_view s, BadUtf8 bad);

// A quoted string, invalid UTF-8 replaced.
void append_string(std::string& out, std::string_view s);

// RFC 4648 §4, padded.
void append_base64(std::string& out, std::string_view s);

}  // namespace ringload::json_text
