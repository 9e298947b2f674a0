// Byte positions in JSON text, which simdjson does not report: where a text stops being
// valid JSON, and where a member or element sits in a valid text. Used for error messages
// and to find the raw text of a nested value; not a parser (simdjson is).
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace ringload::json {

inline constexpr std::size_t npos = std::string_view::npos;
inline constexpr int max_depth = 1024;  // simdjson's default nesting limit

// A strict RFC 8259 scanner over one text.
class Cursor {
 public:
  explicit Cursor(std::string_view text) noexcept : s_(text) {}

  std::size_t pos = 0;        // next byte to read
  const char* why = nullptr;  // after a failed skip: what is wrong at `pos`

  void ws() noexcept;
  char peek() const noexcept { return pos < s_.size() ? s_[pos] : '\0'; }
  bool at_end() const noexcept { return pos >= s_.size(); }
  bool eat(char c) noexcept;
  // Skip one value or one string starting at `pos`. False: invalid, `pos` and `why` tell.
  bool value(int depth = 0) noexcept;
  bool string() noexcept;

 private:
  bool fail(const char* what) noexcept;
  bool container(char close, int depth) noexcept;
  bool number() noexcept;
  bool literal(std::string_view word) noexcept;
  bool utf8() noexcept;
  std::string_view s_;
};

struct Invalid {
  std::size_t offset = npos;  // npos: the scanner found no error
  const char* why = nullptr;
};
// Where `text`, which should hold exactly one JSON value, stops being valid.
Invalid find_error(std::string_view text) noexcept;

struct Span {
  std::size_t key = npos;    // the member's name (its opening quote); npos for an element
  std::size_t begin = npos;  // the value; npos: no such member
  std::size_t end = npos;    // one past the value
};
// The member or element reached through `path` in the valid JSON `text`: each step is the
// ordinal of a member (in an object) or element (in an array), outermost first.
Span locate(std::string_view text, std::initializer_list<uint32_t> path) noexcept;
Span locate(std::string_view text, const uint32_t* path, std::size_t depth) noexcept;

}  // namespace ringload::json
