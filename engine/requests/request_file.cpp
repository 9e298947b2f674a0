#include "ringload/request_file.hpp"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <set>
#include <string_view>
#include <vector>

#include "engine/requests/json_cursor.hpp"
#include "proto/base64.hpp"
#include "proto/http_response.hpp"
#include "proto/token.hpp"
#include "ringload/stream_keys.hpp"

namespace ringload {
namespace {

namespace dom = simdjson::dom;
using Header = std::pair<std::string_view, std::string_view>;

// Reads stay this size; a longer line grows the buffer to hold it whole.
constexpr std::size_t read_block = 1u << 20;
// The engine's clock counts int64 nanoseconds; this keeps any deadline far inside it.
constexpr double max_timeout_seconds = 1e9;

// A problem with one line: what is wrong and where. `path` holds ordinals (the n-th member
// of the line's object, then the n-th member or element inside it...); depth 0: the line.
struct Fault {
  std::string message;
  std::array<uint32_t, 3> path{};
  uint8_t depth = 0;
  bool at_key = false;  // point at the member's name rather than its value
};
using Result = std::expected<void, Fault>;

std::unexpected<Fault> fault(std::string message, std::initializer_list<uint32_t> path = {},
                             bool at_key = false) {
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
  std::array<uint32_t, 64> field_of{};  // ordinal of each given key, for positions (keys.size() <= 64)

  void reset(std::string_view line) {
    text = line;
    seen = 0;
    url = method = body = name = proto = {};
    headers.clear();
    headers_as_pairs = json_body = false;
    timeout = {};
    stream = {};
  }
};

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

bool given(const LineFields& f, std::string_view key);

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
constexpr std::array<KeySpec, 17> keys = {{
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
}};
static_assert(keys.size() <= 64, "LineFields::seen is a 64-bit mask");
static_assert(keys.size() <= std::tuple_size_v<decltype(LineFields::field_of)>, "LineFields::field_of has a slot per key");
constexpr std::size_t key_index(std::string_view name) {
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (keys[i].name == name) return i;
  return keys.size();
}
bool given(const LineFields& f, std::string_view key) { return (f.seen >> key_index(key)) & 1; }
static_assert(std::ranges::all_of(stream_keys, [](const StreamKey& k) { return key_index(k.key) < keys.size(); }),
              "every stream key is a key of the request file");

bool is_blank(std::string_view s) noexcept {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r') return false;
  return true;
}

class Loader {
 public:
  Loader(const std::string& path, const RequestFileOptions& options,
         const std::function<void(const std::string&)>& warn)
      : path_(path), options_(options), warn_(warn) {}

  std::expected<RequestTable, RequestFileError> run();

 private:
  using Status = std::expected<void, RequestFileError>;
  Status read_lines(int fd, std::size_t file_size);
  Status add_line(const char* data, std::size_t len);
  Result apply_keys(dom::object obj);
  Result add_request();
  Fault builder_fault(std::string message, const Url& url) const;
  std::unexpected<RequestFileError> error(uint32_t line, uint32_t column, std::string message) const {
    return std::unexpected(RequestFileError{path_, line, column, std::move(message)});
  }
  std::unexpected<RequestFileError> line_error(const Fault& f) const;

  const std::string& path_;
  const RequestFileOptions& options_;
  const std::function<void(const std::string&)>& warn_;
  dom::parser parser_;
  RequestTableBuilder builder_;
  LineFields fields_;
  uint32_t line_no_ = 0;
  std::size_t line_base_ = 0;  // bytes before fields_.text on its line (a UTF-8 BOM)
  std::set<std::string, std::less<>> unknown_keys_;
};

std::unexpected<RequestFileError> Loader::line_error(const Fault& f) const {
  uint32_t column = 1;
  if (f.depth > 0) {
    const json::Span span = json::locate(fields_.text, f.path.data(), f.depth);
    const std::size_t at = f.at_key && span.key != json::npos ? span.key : span.begin;
    if (at != json::npos) column = static_cast<uint32_t>(line_base_ + at + 1);
  }
  return error(line_no_, column, f.message);
}

Result Loader::apply_keys(dom::object obj) {
  uint32_t field = 0;
  for (const dom::key_value_pair kv : obj) {
    const std::size_t k = key_index(kv.key);
    if (k == keys.size()) {
      if (!unknown_keys_.contains(kv.key)) {
        unknown_keys_.emplace(kv.key);
        if (warn_)
          warn_(path_ + ":" + std::to_string(line_no_) + ": unknown key '" + std::string(kv.key) + "' (ignored)");
      }
    } else {
      if ((fields_.seen >> k) & 1) return fault("duplicate key '" + std::string(kv.key) + "'", {field}, true);
      fields_.seen |= uint64_t{1} << k;
      fields_.field_of[k] = field;
      if (auto r = keys[k].handle(fields_, kv.value, field); !r) return r;
    }
    ++field;
  }
  return {};
}

// The builder names no position: find the culprit by adding the line's parts one by one.
Fault Loader::builder_fault(std::string message, const Url& url) const {
  RequestTableBuilder probe;
  RequestInput in;
  in.url = url;
  in.method = fields_.method;
  if (given(fields_, "method") && !probe.add(in)) return fault(std::move(message), {fields_.method_field}).error();
  in.method = "GET";
  const uint32_t field = fields_.headers_field;
  for (uint32_t j = 0; j < fields_.headers.size() && given(fields_, "headers"); ++j) {
    const Header name_only{fields_.headers[j].first, ""};
    in.headers = {&name_only, 1};
    const bool bad_name = !probe.add(in);
    in.headers = {&fields_.headers[j], 1};
    if (!bad_name && probe.add(in)) continue;
    if (fields_.headers_as_pairs) return fault(std::move(message), {field, j, bad_name ? 0u : 1u}).error();
    return fault(std::move(message), {field, j}, bad_name).error();
  }
  return Fault{std::move(message)};
}

Result Loader::add_request() {
  LineFields& f = fields_;
  if (!given(f, "url")) return fault("'url' is missing");
  auto url = parse_url(f.url);
  if (!url) return fault("bad 'url': " + url.error(), {f.url_field});
  if ((url->scheme == Scheme::https || url->scheme == Scheme::wss) && !options_.allow_https)
    return fault("https is not supported yet", {f.url_field});
  const bool ws_url = url->scheme == Scheme::ws || url->scheme == Scheme::wss;
  const std::string_view proto = !f.proto.empty() ? f.proto : ws_url ? "ws" : "http";
  if (ws_url && proto != "ws")
    return fault("a " + std::string(proto) + " line cannot have a ws:// or wss:// url", {f.url_field});
  // Keys that belong to another proto are mistakes, not options to ignore.
  const auto misplaced = [&](std::string_view key) {
    return fault("'" + std::string(key) + "' does not apply to a " + std::string(proto) + " line" +
                     (proto == "http" ? " (add \"proto\": \"sse\" or \"ws\")" : ""),
                 {f.field_of[key_index(key)]}, true);
  };
  for (const StreamKey& k : stream_keys) {
    const bool applies = proto != "http" && applies_to(k.scope, proto == "sse" ? StreamProto::sse : StreamProto::ws);
    if (given(f, k.key) && !applies) return misplaced(k.key);
  }
  if (proto == "ws" && given(f, "body")) return misplaced("body");
  if (proto == "ws" && given(f, "body_base64"))
    return fault("'body_base64' does not apply to a ws line (use 'messages')", {f.field_of[key_index("body_base64")]}, true);
  if (proto == "ws" && given(f, "method") && f.method != "GET")
    return fault("a WebSocket session starts with GET, not " + std::string(f.method), {f.method_field});
  if (proto == "ws" && !ws_url) url->scheme = url->scheme == Scheme::https ? Scheme::wss : Scheme::ws;
  if (proto == "sse") f.stream.proto = StreamProto::sse;
  if (proto == "ws") f.stream.proto = StreamProto::ws;
  const bool has_body = given(f, "body") || given(f, "body_base64");
  const std::size_t own_headers = f.headers.size();
  if (f.json_body) {
    bool typed = false;
    for (const Header& h : f.headers) typed = typed || proto::iequals(h.first, "content-type");
    if (!typed) f.headers.emplace_back("Content-Type", "application/json");
  }
  RequestInput in;
  in.url = std::move(*url);
  in.method = given(f, "method") ? f.method : has_body ? "POST" : "GET";
  in.headers = f.headers;
  in.body = f.body;
  in.name = f.name;
  in.timeout = f.timeout;
  in.source_line = line_no_;
  if (proto != "http") in.stream = &f.stream;
  if (auto added = builder_.add(in); !added) {
    f.headers.resize(own_headers);
    return std::unexpected(builder_fault(added.error(), in.url));
  }
  return {};
}

Loader::Status Loader::add_line(const char* data, std::size_t len) {
  if (line_no_ == UINT32_MAX) return error(line_no_, 1, "more than 4294967295 lines");
  ++line_no_;
  line_base_ = 0;
  if (line_no_ == 1 && len >= 3 && std::memcmp(data, "\xef\xbb\xbf", 3) == 0) line_base_ = 3;  // UTF-8 BOM
  const std::string_view text(data + line_base_, len - line_base_);
  if (is_blank(text)) return {};
  // The read buffer keeps SIMDJSON_PADDING bytes after any line: no copy needed.
  dom::element root;
  if (const auto err = parser_.parse(text.data(), text.size(), false).get(root)) {
    const json::Invalid bad = json::find_error(text);
    const std::string why = bad.why ? bad.why : simdjson::error_message(err);
    const std::size_t at = bad.offset == json::npos ? 0 : bad.offset;
    return error(line_no_, static_cast<uint32_t>(line_base_ + at + 1), "not valid JSON: " + why);
  }
  fields_.reset(text);
  dom::object obj;
  if (root.get_object().get(obj)) {
    const std::size_t at = json::locate(text, {}).begin;
    return error(line_no_, static_cast<uint32_t>(line_base_ + (at == json::npos ? 0 : at) + 1),
                 "a line must be a JSON object, not " + type_name(root));
  }
  if (auto r = apply_keys(obj); !r) return line_error(r.error());
  if (auto r = add_request(); !r) return line_error(r.error());
  return {};
}

// Reads in blocks and hands each complete line to add_line; a line longer than the buffer
// grows it. The buffer always has SIMDJSON_PADDING readable bytes past its capacity.
Loader::Status Loader::read_lines(int fd, std::size_t file_size) {
  std::size_t capacity = std::min(read_block, std::max<std::size_t>(file_size, 4096));
  std::vector<char> buf(capacity + simdjson::SIMDJSON_PADDING);
  std::size_t begin = 0, end = 0;
  bool eof = false;
  for (;;) {
    while (const void* nl = std::memchr(buf.data() + begin, '\n', end - begin)) {
      const std::size_t stop = static_cast<const char*>(nl) - buf.data();
      if (auto ok = add_line(buf.data() + begin, stop - begin); !ok) return ok;
      begin = stop + 1;
    }
    if (eof) return begin < end ? add_line(buf.data() + begin, end - begin) : Status{};
    std::memmove(buf.data(), buf.data() + begin, end - begin);
    end -= begin;
    begin = 0;
    if (end == capacity) {
      capacity *= 2;
      buf.resize(capacity + simdjson::SIMDJSON_PADDING);
    }
    const ssize_t n = ::read(fd, buf.data() + end, capacity - end);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return error(0, 0, std::string("cannot read: ") + std::strerror(errno));
    if (n == 0) eof = true;
    end += static_cast<std::size_t>(n > 0 ? n : 0);
  }
}

std::expected<RequestTable, RequestFileError> Loader::run() {
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return error(0, 0, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    const int err = S_ISDIR(st.st_mode) ? EISDIR : errno;
    ::close(fd);
    return error(0, 0, std::string("cannot read: ") + std::strerror(err));
  }
  const std::size_t size = S_ISREG(st.st_mode) ? static_cast<std::size_t>(st.st_size) : 0;
  // No line is shorter than {"url":"http://a"} (18 bytes) plus its newline, and a line's
  // rendered head and body are rarely longer than its JSON. Pages reserved but never
  // touched cost no memory, so these bounds are cheap.
  builder_.reserve(size / 19 + 1, size + 4096);
  auto status = read_lines(fd, size);
  ::close(fd);
  if (!status) return std::unexpected(std::move(status.error()));
  if (builder_.size() == 0) return error(0, 0, "no requests (the file is empty or has only blank lines)");
  RequestTable table = std::move(builder_).finish();
  table.source = path_;
  return table;
}

}  // namespace

std::string RequestFileError::to_string() const {
  if (line == 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

std::expected<RequestTable, RequestFileError> load_request_file(
    const std::string& path, const RequestFileOptions& options,
    const std::function<void(const std::string&)>& warn) {
  return Loader(path, options, warn).run();
}

}  // namespace ringload
