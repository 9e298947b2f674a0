#include "engine/plugins/request_head.hpp"

#include <cstring>

#include "proto/http_response.hpp"
#include "proto/token.hpp"

namespace ringload {
namespace {

bool value_ok(std::string_view v) noexcept {
  return v.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool target_ok(std::string_view t) noexcept {
  if (t.empty() || t[0] != '/') return false;
  for (const char c : t)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

std::string_view RequestHead::method() const noexcept {
  const std::string_view head(data_, len_);
  return head.substr(0, head.find(' '));
}

std::string_view RequestHead::target() const noexcept {
  const std::string_view line = line_end_view();
  const std::size_t a = line.find(' ');
  const std::size_t b = line.rfind(' ');
  return a == std::string_view::npos || b <= a ? std::string_view{} : line.substr(a + 1, b - a - 1);
}

// The request line without its CRLF.
std::string_view RequestHead::line_end_view() const noexcept {
  const std::string_view head(data_, len_);
  return head.substr(0, head.find("\r\n"));
}

std::size_t RequestHead::fields_begin() const noexcept { return line_end_view().size() + 2; }

bool RequestHead::find(std::string_view name, std::size_t from, std::size_t& begin, std::size_t& end) const noexcept {
  const std::string_view head(data_, len_);
  for (std::size_t at = from; at + 2 < head.size();) {
    const std::size_t eol = head.find("\r\n", at);
    if (eol == std::string_view::npos) return false;
    const std::string_view line = head.substr(at, eol - at);
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos && proto::iequals(line.substr(0, colon), name)) {
      begin = at;
      end = eol + 2;
      return true;
    }
    at = eol + 2;
  }
  return false;
}

std::string_view RequestHead::header(std::string_view name) const noexcept {
  std::size_t begin = 0, end = 0;
  if (!find(name, fields_begin(), begin, end)) return {};
  const std::string_view line(data_ + begin, end - begin - 2);
  return proto::trim_ows(line.substr(line.find(':') + 1));
}

bool RequestHead::replace(std::size_t at, std::size_t old_len, std::string_view with) noexcept {
  return replace(at, old_len, with, {}, {}, {});
}

// data_[at, at + old_len) becomes a + b + c + d.
bool RequestHead::replace(std::size_t at, std::size_t old_len, std::string_view a, std::string_view b,
                          std::string_view c, std::string_view d) noexcept {
  const std::size_t add = a.size() + b.size() + c.size() + d.size();
  if (len_ - old_len + add > cap_) return false;
  std::memmove(data_ + at + add, data_ + at + old_len, len_ - at - old_len);
  char* p = data_ + at;
  for (const std::string_view part : {a, b, c, d}) {
    if (!part.empty()) std::memcpy(p, part.data(), part.size());
    p += part.size();
  }
  len_ = static_cast<uint32_t>(len_ - old_len + add);
  changed_ = true;
  return true;
}

bool RequestHead::set_method(std::string_view method) noexcept {
  if (!proto::is_token(method)) return false;
  return replace(0, this->method().size(), method);
}

bool RequestHead::set_target(std::string_view target) noexcept {
  if (!target_ok(target)) return false;
  const std::string_view old = this->target();
  return replace(static_cast<std::size_t>(old.data() - data_), old.size(), target);
}

bool RequestHead::set_header(std::string_view name, std::string_view value) noexcept {
  if (!proto::is_token(name) || !value_ok(value)) return false;
  std::size_t begin = 0, end = 0;
  if (!find(name, fields_begin(), begin, end)) {
    // Before the blank line that ends the head.
    return replace(len_ - 2, 0, name, ": ", value, "\r\n");
  }
  if (!replace(begin, end - begin, name, ": ", value, "\r\n")) return false;
  // Later fields of the same name go: the new value is the only one.
  const std::size_t next = begin + name.size() + 2 + value.size() + 2;
  std::size_t b2 = 0, e2 = 0;
  while (find(name, next, b2, e2)) replace(b2, e2 - b2, {});
  return true;
}

void RequestHead::remove_header(std::string_view name) noexcept {
  std::size_t begin = 0, end = 0;
  while (find(name, fields_begin(), begin, end)) replace(begin, end - begin, {});
}

}  // namespace ringload
