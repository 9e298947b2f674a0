#include <cstring>

#include "proto/http_response.hpp"
#include "proto/token.hpp"
#include "ringload/requests.hpp"

namespace ringload {
namespace {

// RFC 9110 §5.5: no CR, LF or NUL in a field value.
bool is_field_value(std::string_view s) noexcept {
  for (unsigned char c : s)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

}  // namespace

std::string_view RequestTable::target(const RequestLine& l) const noexcept {
  std::string_view h = head(l).substr(l.method_len + 1u);
  return h.substr(0, h.find(' '));
}

void RequestTableBuilder::reserve(std::size_t lines, std::size_t arena_bytes) {
  table_.lines.reserve(lines);
  table_.arena.reserve(arena_bytes);
}

uint16_t RequestTableBuilder::intern_origin(const Url& url) {
  std::string key = url.origin();
  auto [it, added] = origin_index_.try_emplace(std::move(key), static_cast<uint16_t>(table_.origins.size()));
  if (added) table_.origins.push_back(url);
  return it->second;
}

uint32_t RequestTableBuilder::intern_name(std::string_view name) {
  if (auto it = name_index_.find(std::string(name)); it != name_index_.end()) return it->second;
  if (table_.names.size() + 1 >= limits::max_named_stats) {
    if (other_name_ == UINT32_MAX) {
      other_name_ = static_cast<uint32_t>(table_.names.size());
      table_.names.emplace_back("(other)");
    }
    return other_name_;
  }
  auto index = static_cast<uint32_t>(table_.names.size());
  table_.names.emplace_back(name);
  name_index_.emplace(std::string(name), index);
  return index;
}

std::expected<void, std::string> RequestTableBuilder::add(const RequestInput& in) {
  if (!proto::is_token(in.method)) return std::unexpected("bad method '" + std::string(in.method) + "'");
  if (in.method.size() > 255) return std::unexpected("method longer than 255 bytes");
  if (origin_index_.size() >= UINT16_MAX && !origin_index_.contains(in.url.origin()))
    return std::unexpected("more than 65535 origins");
  RequestLine line;
  for (const auto& [n, v] : in.headers) {
    if (!proto::is_token(n)) return std::unexpected("bad header name '" + std::string(n) + "'");
    if (!is_field_value(v))
      return std::unexpected("header '" + std::string(n) + "' has CR, LF or NUL in its value");
    if (proto::iequals(n, "host")) line.flags |= RequestLine::flag_has_host;
    if (proto::iequals(n, "user-agent")) line.flags |= RequestLine::flag_has_user_agent;
    if (proto::iequals(n, "accept")) line.flags |= RequestLine::flag_has_accept;
  }
  // The body is sent as given, with its length: a header that says otherwise would
  // desynchronise the connection (the server reads the rest as the next request).
  bool has_length = false;
  for (const auto& [n, v] : in.headers) {
    if (proto::iequals(n, "transfer-encoding"))
      return std::unexpected("Transfer-Encoding is not supported in requests: ringload sends the body with Content-Length");
    if (proto::iequals(n, "content-length")) {
      if (v != std::to_string(in.body.size()))
        return std::unexpected("Content-Length '" + std::string(v) + "' does not match the body's " +
                               std::to_string(in.body.size()) + " bytes");
      has_length = true;
    }
  }
  const bool body_expected =
      !in.body.empty() || in.method == "POST" || in.method == "PUT" || in.method == "PATCH";

  std::string& a = table_.arena;
  line.offset = a.size();
  a.append(in.method).append(" ").append(in.url.target).append(" HTTP/1.1\r\n");
  for (const auto& [n, v] : in.headers) a.append(n).append(": ").append(v).append("\r\n");
  if (body_expected && !has_length) a.append("Content-Length: ").append(std::to_string(in.body.size())).append("\r\n");
  const std::size_t head_len = a.size() - line.offset;
  if (head_len > limits::max_request_head) {
    a.resize(line.offset);
    return std::unexpected("request line and headers are longer than " +
                           std::to_string(limits::max_request_head) + " bytes");
  }
  if (in.body.size() > UINT32_MAX) {
    a.resize(line.offset);
    return std::unexpected("body larger than 4 GiB");
  }
  a.append(in.body);
  line.head_len = static_cast<uint32_t>(head_len);
  line.body_len = static_cast<uint32_t>(in.body.size());
  line.method_len = static_cast<uint8_t>(in.method.size());
  line.timeout_ns = static_cast<uint64_t>(in.timeout.count() > 0 ? in.timeout.count() : 0);
  line.source_line = in.source_line;
  line.origin = intern_origin(in.url);
  if (in.method == "HEAD") line.flags |= RequestLine::flag_head;
  if (!in.name.empty()) {
    line.flags |= RequestLine::flag_named;
    line.name = intern_name(in.name);
  } else {
    std::string_view path = in.url.target;
    path = path.substr(0, path.find('?'));
    std::string key;
    key.reserve(in.method.size() + 1 + path.size());
    key.append(in.method).append(" ").append(path);
    line.name = intern_name(key);
  }
  table_.lines.push_back(line);
  return {};
}

RequestTable RequestTableBuilder::finish() && {
  table_.arena.shrink_to_fit();
  table_.lines.shrink_to_fit();
  return std::move(table_);
}

}  // namespace ringload
