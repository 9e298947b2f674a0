// One line of a request file: the keys it may hold, each key's value checked and stored
// (engine/requests/request_file.cpp reads the file and turns lines into requests).
#pragma once
#include <simdjson.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <expected>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ringload/requests.hpp"

namespace ringload::request_lines {

using Header = std::pair<std::string_view, std::string_view>;

// A problem with one line: what is wrong and where. `path` holds ordinals (the n-th member
// of the line's object, then the n-th member or element inside it...); depth 0: the line.
struct Fault {
  std::string message;
  std::array<uint32_t, 3> path{};
  uint8_t depth = 0;
  bool at_key = false;  // point at the member's name rather than its value
};
using Result = std::expected<void, Fault>;

std::unexpected<Fault> fault(std::string message, std::initializer_list<uint32_t> path = {}, bool at_key = false);

// What one line asks for. Views point into the parser's strings, the line or body_buf, so
// they live until the next line is parsed; the vectors keep their capacity across lines.
struct LineFields {
  std::string_view text;  // the line's JSON
  uint64_t seen = 0;      // bit i: keys[i] was given
  std::string_view url, method, body, name;
  uint32_t url_field = 0, method_field = 0;  // ordinals, for positions
  std::vector<Header> headers;
  bool headers_as_pairs = false;  // [[name, value], ...] rather than {name: value}
  uint32_t headers_field = 0;
  bool json_body = false;
  std::string body_buf;  // decoded base64 or minified JSON
  std::chrono::nanoseconds timeout{0};
  std::string_view proto;  // "http", "sse", "ws"; empty: from the URL's scheme
  StreamSpec stream;       // the stream keys, whatever the proto (checked after)
  LineHttp2 http2 = LineHttp2::run;  // "http2": true / false; run: not given
  std::array<uint32_t, 64> field_of{};  // ordinal of each given key, for positions (keys.size() <= 64)

  void reset(std::string_view line) {
    text = line;
    seen = 0;
    url = method = body = name = proto = {};
    headers.clear();
    headers_as_pairs = json_body = false;
    timeout = {};
    stream = {};
    http2 = LineHttp2::run;
  }
};

// "an array", "a string" ...: what a JSON value is, for messages.
std::string type_name(simdjson::dom::element v);

// The number of keys a line may hold, and the index of one (key_count: not a key).
inline constexpr std::size_t key_count = 18;
std::size_t key_index(std::string_view name) noexcept;
// The line gave `key`.
bool given(const LineFields& f, std::string_view key) noexcept;
// Checks the value of key number `k` (the line's `field`-th member) and stores it in `f`.
Result apply_key(std::size_t k, LineFields& f, simdjson::dom::element value, uint32_t field);

}  // namespace ringload::request_lines
