// RFC 9110 §5.6.2 tokens (method names, header names, chunk extensions): one table for
// every parser and renderer.
#pragma once
#include <array>
#include <string_view>

namespace ringload::proto {

namespace detail {
constexpr std::array<bool, 256> make_tchar_table() noexcept {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
inline constexpr std::array<bool, 256> tchar_table = make_tchar_table();
}  // namespace detail

inline bool is_tchar(char c) noexcept { return detail::tchar_table[static_cast<unsigned char>(c)]; }

// RFC 9110 §5.6.3: optional whitespace (SP / HTAB) around field values and list elements.
inline bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

inline std::string_view trim_ows(std::string_view v) noexcept {
  while (!v.empty() && is_ows(v.front())) v.remove_prefix(1);
  while (!v.empty() && is_ows(v.back())) v.remove_suffix(1);
  return v;
}

inline bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

}  // namespace ringload::proto
