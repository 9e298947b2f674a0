// A rendered request head, edited in place: the request line and header fields a plugin
// changes, in the connection's scratch, bounded by its capacity. The head's form is the
// one the engine renders: "METHOD SP target SP HTTP/1.1 CRLF", fields "Name: value CRLF",
// then CRLF.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringload {

class RequestHead {
 public:
  RequestHead(char* data, uint32_t& len, std::size_t capacity) noexcept : data_(data), len_(len), cap_(capacity) {}

  std::string_view method() const noexcept;
  std::size_t size() const noexcept { return len_; }
  // A change was made (set_*, remove_header that removed something).
  bool changed() const noexcept { return changed_; }
  std::string_view target() const noexcept;
  // The value of the first field named `name` (case-insensitive); absent: empty with a
  // null data().
  std::string_view header(std::string_view name) const noexcept;

  // Each returns false (and changes nothing) when the result would not fit, or the value
  // is not allowed: a method must be a token; a target must start with '/' and hold no
  // whitespace or control byte; a field name must be a token, a value must hold no CR, LF
  // or NUL.
  bool set_method(std::string_view method) noexcept;
  bool set_target(std::string_view target) noexcept;
  // Replaces every field of that name with one (in the first one's place), or adds it.
  bool set_header(std::string_view name, std::string_view value) noexcept;
  void remove_header(std::string_view name) noexcept;

 private:
  std::string_view line_end_view() const noexcept;
  bool replace(std::size_t at, std::size_t old_len, std::string_view with) noexcept;
  bool replace(std::size_t at, std::size_t old_len, std::string_view a, std::string_view b,
               std::string_view c, std::string_view d) noexcept;
  // The field line starting at or after `from` named `name`: [begin, end) with its CRLF.
  bool find(std::string_view name, std::size_t from, std::size_t& begin, std::size_t& end) const noexcept;
  std::size_t fields_begin() const noexcept;

  char* data_;
  uint32_t& len_;
  std::size_t cap_;
  bool changed_ = false;
};

}  // namespace ringload
