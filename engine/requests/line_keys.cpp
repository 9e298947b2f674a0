#include "engine/requests/line_keys.hpp"

#include <algorithm>
#include <cmath>

#include "engine/requests/json_cursor.hpp"
#include "proto/base64.hpp"
#include "proto/http_response.hpp"
#include "proto/token.hpp"
#include "ringload/stream_keys.hpp"

namespace ringload::request_lines {
namespace {

namespace dom = simdjson::dom;

// The engine's clock counts int64 nanoseconds; this keeps any deadline far inside it.
constexpr double max_timeout_seconds = 1e9;

bool given_key(const LineFields& f, std::string_view key) noexcept;


// RFC 4648 §4 (proto/base64.hpp): padding optional, but complete when present.
std::expected<void, std::string> decode_base64(std::string_view in, std::string& out) {
  out.resize(proto::base64_decoded_max(in.size()));
  const proto::Base64Decoded d = proto::base64_decode(in, out.data());
  if (d.error != proto::Base64Decoded::Error::none) {
    char buf[64];
    return std::unexpected(proto::to_string(d, in.size(), buf));
  }
  out.resize(d.size);
  return {};
}

using KeyHandler = Result (*)(LineFields&, dom::element, uint32_t field);
struct KeySpec {
  std::string_view name;
  KeyHandler handle;
};

Result on_url(LineFields& f, dom::element v, uint32_t field) {
  if (v.get_string().get(f.url)) return fault("'url' must be a string, not " + type_name(v), {field});
  f.url_field = field;
  return {};
}

Result on_method(LineFields& f, dom::element v, uint32_t field) {
  if (v.get_string().get(f.method)) return fault("'method' must be a string, not " + type_name(v), {field});
  f.method_field = field;
  return {};
}

Result header_pair(LineFields& f, dom::element pair, uint32_t field, uint32_t j) {
  dom::array a;
  if (pair.get_array().get(a) || a.size() != 2)
    return fault("each 'headers' entry must be a [name, value] pair", {field, j});
  auto it = a.begin();
  const dom::element name_v = *it;
  const dom::element value_v = *++it;
  Header h;
  if (name_v.get_string().get(h.first))
    return fault("a header name must be a string, not " + type_name(name_v), {field, j, 0});
  if (value_v.get_string().get(h.second))
    return fault("header '" + std::string(h.first) + "' must have a string value, not " + type_name(value_v),
                 {field, j, 1});
  f.headers.push_back(h);
  return {};
}

Result on_headers(LineFields& f, dom::element v, uint32_t field) {
  f.headers_field = field;
  uint32_t j = 0;
  if (dom::object obj; !v.get_object().get(obj)) {
    for (const dom::key_value_pair kv : obj) {
      std::string_view value;
      if (kv.value.get_string().get(value))
        return fault("header '" + std::string(kv.key) + "' must have a string value, not " + type_name(kv.value),
                     {field, j});
      f.headers.emplace_back(kv.key, value);
      ++j;
    }
    return {};
  }
  if (dom::array arr; !v.get_array().get(arr)) {
    f.headers_as_pairs = true;
    for (const dom::element pair : arr)
      if (auto r = header_pair(f, pair, field, j++); !r) return r;
    return {};
  }
  return fault("'headers' must be an object or an array of [name, value] pairs, not " + type_name(v), {field});
}

Result on_body(LineFields& f, dom::element v, uint32_t field) {
  if (given(f, "body_base64")) return fault("'body' and 'body_base64' cannot both be given", {field}, true);
  switch (v.type()) {
    case dom::element_type::STRING:
      f.body = v.get_string().value_unsafe();
      return {};
    case dom::element_type::OBJECT:
    case dom::element_type::ARRAY: {
      // The raw text keeps numbers exactly as written; minify only drops the whitespace.
      const json::Span span = json::locate(f.text, {field});
      if (span.begin == json::npos) return fault("cannot find the text of 'body'", {field});
      const std::string_view raw = f.text.substr(span.begin, span.end - span.begin);
      f.body_buf.resize(raw.size() + simdjson::SIMDJSON_PADDING);
      std::size_t len = 0;
      if (simdjson::minify(raw.data(), raw.size(), f.body_buf.data(), len) != simdjson::SUCCESS)
        return fault("cannot minify 'body'", {field});
      f.body_buf.resize(len);
      f.body = f.body_buf;
      f.json_body = true;
      return {};
    }
    default:
      return fault("'body' must be a string, an object or an array, not " + type_name(v), {field});
  }
}

Result on_body_base64(LineFields& f, dom::element v, uint32_t field) {
  if (given(f, "body")) return fault("'body' and 'body_base64' cannot both be given", {field}, true);
  std::string_view text;
  if (v.get_string().get(text)) return fault("'body_base64' must be a string, not " + type_name(v), {field});
  if (auto ok = decode_base64(text, f.body_buf); !ok)
    return fault("bad base64 in 'body_base64': " + ok.error(), {field});
  f.body = f.body_buf;
  return {};
}

Result on_timeout(LineFields& f, dom::element v, uint32_t field) {
  double seconds = 0;
  if (v.get_double().get(seconds))
    return fault("'timeout' must be a number of seconds, not " + type_name(v), {field});
  if (!(seconds > 0)) return fault("'timeout' must be greater than 0 seconds", {field});
  if (seconds > max_timeout_seconds) return fault("'timeout' must be at most 1e9 seconds", {field});
  // Round up to 1 ns: 0 would mean "the run's default".
  f.timeout = std::chrono::nanoseconds(std::max<int64_t>(1, std::llround(seconds * 1e9)));
  return {};
}

Result on_name(LineFields& f, dom::element v, uint32_t field) {
  if (v.get_string().get(f.name)) return fault("'name' must be a string, not " + type_name(v), {field});
  if (f.name.empty()) return fault("'name' must not be empty", {field});
  return {};
}

Result seconds_value(std::string_view key, dom::element v, uint32_t field, uint64_t& out_ns) {
  double seconds = 0;
  if (v.get_double().get(seconds))
    return fault("'" + std::string(key) + "' must be a number of seconds, not " + type_name(v), {field});
  if (!(seconds > 0)) return fault("'" + std::string(key) + "' must be greater than 0 seconds", {field});
  if (seconds > max_timeout_seconds) return fault("'" + std::string(key) + "' must be at most 1e9 seconds", {field});
  out_ns = static_cast<uint64_t>(std::max<int64_t>(1, std::llround(seconds * 1e9)));
  return {};
}

Result count_value(std::string_view key, dom::element v, uint32_t field, uint64_t min, uint64_t& out) {
  int64_t n = 0;
  if (v.get_int64().get(n) || n < static_cast<int64_t>(min))
    return fault("'" + std::string(key) + "' must be an integer >= " + std::to_string(min) + ", not " +
                     (v.is_number() ? std::string(simdjson::to_string(v)) : type_name(v)),
                 {field});
  out = static_cast<uint64_t>(n);
  return {};
}

Result on_proto(LineFields& f, dom::element v, uint32_t field) {
  if (v.get_string().get(f.proto)) return fault("'proto' must be a string, not " + type_name(v), {field});
  if (f.proto != "http" && f.proto != "sse" && f.proto != "ws")
    return fault("'proto' must be \"http\", \"sse\" or \"ws\", not '" + std::string(f.proto) + "'", {field});
  return {};
}

Result on_http2(LineFields& f, dom::element v, uint32_t field) {
  bool on = false;
  if (v.get_bool().get(on)) return fault("'http2' must be true or false, not " + type_name(v), {field});
  f.http2 = on ? LineHttp2::on : LineHttp2::off;
  return {};
}

Result on_max_events(LineFields& f, dom::element v, uint32_t field) {
  return count_value("max_events", v, field, 1, f.stream.max_events);
}

Result on_stream_timeout(LineFields& f, dom::element v, uint32_t field) {
  return seconds_value("stream_timeout", v, field, f.stream.stream_timeout_ns);
}

Result on_until(LineFields& f, dom::element v, uint32_t field) {
  std::string_view text;
  if (v.get_string().get(text)) return fault("'until' must be a string, not " + type_name(v), {field});
  f.stream.has_until = true;
  f.stream.until = text;
  return {};
}

Result on_messages(LineFields& f, dom::element v, uint32_t field) {
  dom::array a;
  if (v.get_array().get(a))
    return fault("'messages' must be an array of strings or {\"binary_base64\": ...} objects, not " + type_name(v),
                 {field});
  uint32_t j = 0;
  for (dom::element m : a) {
    WsMessage msg;
    std::string_view text;
    dom::object o;
    if (!m.get_string().get(text)) {
      msg.data = text;
    } else if (!m.get_object().get(o) && o.size() == 1) {
      const dom::key_value_pair kv = *o.begin();
      if (kv.value.get_string().get(text))
        return fault("'" + std::string(kv.key) + "' must be a string, not " + type_name(kv.value), {field, j, 0});
      if (kv.key == "binary_base64") {
        msg.binary = true;
        if (auto ok = decode_base64(text, msg.data); !ok)
          return fault("bad base64 in 'binary_base64': " + ok.error(), {field, j, 0});
      } else if (kv.key == "text") {
        msg.data = text;
      } else {
        return fault("a message object takes 'text' or 'binary_base64', not '" + std::string(kv.key) + "'",
                     {field, j, 0}, true);
      }
    } else {
      return fault("a message must be a string or {\"binary_base64\": ...}, not " + type_name(m), {field, j});
    }
    f.stream.messages.push_back(std::move(msg));
    ++j;
  }
  return {};
}

Result on_expect(LineFields& f, dom::element v, uint32_t field) {
  f.stream.has_expect = true;
  return count_value("expect", v, field, 0, f.stream.expect);
}

Result on_idle_timeout(LineFields& f, dom::element v, uint32_t field) {
  return seconds_value("idle_timeout", v, field, f.stream.idle_timeout_ns);
}

Result on_interval(LineFields& f, dom::element v, uint32_t field) {
  return seconds_value("interval", v, field, f.stream.interval_ns);
}

Result on_repeat(LineFields& f, dom::element v, uint32_t field) {
  return count_value("repeat", v, field, 0, f.stream.repeat);
}

Result on_subprotocols(LineFields& f, dom::element v, uint32_t field) {
  dom::array a;
  if (v.get_array().get(a)) return fault("'subprotocols' must be an array of strings, not " + type_name(v), {field});
  uint32_t j = 0;
  for (dom::element p : a) {
    std::string_view text;
    if (p.get_string().get(text)) return fault("a subprotocol must be a string, not " + type_name(p), {field, j});
    if (!proto::is_token(text)) return fault("subprotocol '" + std::string(text) + "' is not a token", {field, j});
    f.stream.subprotocols.emplace_back(text);
    ++j;
  }
  return {};
}

// The line's keys: adding one is one entry here plus its field in LineFields.
constexpr std::array<KeySpec, key_count> keys = {{
    {"url", on_url},
    {"method", on_method},
    {"headers", on_headers},
    {"body", on_body},
    {"body_base64", on_body_base64},
    {"timeout", on_timeout},
    {"name", on_name},
    {"proto", on_proto},
    {"max_events", on_max_events},
    {"stream_timeout", on_stream_timeout},
    {"until", on_until},
    {"messages", on_messages},
    {"expect", on_expect},
    {"idle_timeout", on_idle_timeout},
    {"subprotocols", on_subprotocols},
    {"interval", on_interval},
    {"repeat", on_repeat},
    {"http2", on_http2},
}};
static_assert(keys.size() <= 64, "LineFields::seen is a 64-bit mask");
static_assert(keys.size() <= std::tuple_size_v<decltype(LineFields::field_of)>, "LineFields::field_of has a slot per key");
constexpr std::size_t key_at(std::string_view name) {
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (keys[i].name == name) return i;
  return keys.size();
}
static_assert(std::ranges::all_of(stream_keys, [](const StreamKey& k) { return key_at(k.key) < keys.size(); }),
              "every stream key is a key of the request file");

bool given_key(const LineFields& f, std::string_view key) noexcept { return (f.seen >> key_at(key)) & 1; }

}  // namespace

std::unexpected<Fault> fault(std::string message, std::initializer_list<uint32_t> path, bool at_key) {
  Fault f{std::move(message)};
  for (uint32_t step : path) f.path[f.depth++] = step;
  f.at_key = at_key;
  return std::unexpected(std::move(f));
}

std::string type_name(dom::element v) {
  switch (v.type()) {
    case dom::element_type::ARRAY: return "an array";
    case dom::element_type::OBJECT: return "an object";
    case dom::element_type::STRING: return "a string";
    case dom::element_type::BOOL: return "a boolean";
    case dom::element_type::NULL_VALUE: return "null";
    default: return "a number";
  }
}

std::size_t key_index(std::string_view name) noexcept { return key_at(name); }
bool given(const LineFields& f, std::string_view key) noexcept { return given_key(f, key); }

Result apply_key(std::size_t k, LineFields& f, dom::element value, uint32_t field) { return keys[k].handle(f, value, field); }

}  // namespace ringload::request_lines
