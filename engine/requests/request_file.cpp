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
#include "engine/requests/line_keys.hpp"
#include "engine/requests/request_table.hpp"
#include "proto/base64.hpp"
#include "proto/http_response.hpp"
#include "proto/token.hpp"
#include "ringload/stream_keys.hpp"

namespace ringload {
namespace {

namespace dom = simdjson::dom;
using namespace request_lines;

// Reads stay this size; a longer line grows the buffer to hold it whole.
constexpr std::size_t read_block = 1u << 20;

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
  Fault builder_fault(std::string message, const RequestFault& where) const;
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
  uint32_t first_h2_line_ = 0, first_h2_column_ = 0;  // the first "http2": true
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
    if (k == key_count) {
      if (!unknown_keys_.contains(kv.key)) {
        unknown_keys_.emplace(kv.key);
        if (warn_)
          warn_(path_ + ":" + std::to_string(line_no_) + ": unknown key '" + std::string(kv.key) + "' (ignored)");
      }
    } else {
      if ((fields_.seen >> k) & 1) return fault("duplicate key '" + std::string(kv.key) + "'", {field}, true);
      fields_.seen |= uint64_t{1} << k;
      fields_.field_of[k] = field;
      if (auto r = apply_key(k, fields_, kv.value, field); !r) return r;
    }
    ++field;
  }
  return {};
}

// The part of the line the builder refused: the method's value, a header's name or value
// (the member's key or value, or the pair's element), else the line.
Fault Loader::builder_fault(std::string message, const RequestFault& where) const {
  using Part = RequestFault::Part;
  const LineFields& f = fields_;
  if (where.part == Part::method && given(f, "method")) return fault(std::move(message), {f.method_field}).error();
  const bool header = where.part == Part::header_name || where.part == Part::header_value;
  // Past the line's own headers: one ringload added (a JSON body's Content-Type).
  if (!header || !given(f, "headers") || where.header >= f.headers.size()) return Fault{std::move(message)};
  const bool name = where.part == Part::header_name;
  if (f.headers_as_pairs) return fault(std::move(message), {f.headers_field, where.header, name ? 0u : 1u}).error();
  return fault(std::move(message), {f.headers_field, where.header}, name).error();
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
  if (f.http2 == LineHttp2::on) {
    const uint32_t at = f.field_of[key_index("http2")];
    if (proto != "http")
      return fault("'http2': true does not apply to a " + std::string(proto) +
                       " line: SSE and WebSocket do not run over HTTP/2 (drop the key or say false)",
                   {at}, true);
    if (first_h2_line_ == 0) {
      const json::Span span = json::locate(f.text, {at});
      first_h2_line_ = line_no_;
      first_h2_column_ = static_cast<uint32_t>(line_base_ + (span.key != json::npos ? span.key : 0) + 1);
    }
  }
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
  in.http2 = f.http2;
  if (proto != "http") in.stream = &f.stream;
  if (auto added = builder_.add(in); !added) {
    f.headers.resize(own_headers);
    return std::unexpected(builder_fault(added.error(), builder_.fault()));
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
  table.first_h2_line = first_h2_line_;
  table.first_h2_column = first_h2_column_;
  return table;
}

}  // namespace

std::string RequestFileError::to_string() const {
  if (line == 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

std::expected<RequestFile, RequestFileError> load_request_file(
    const std::string& path, const RequestFileOptions& options,
    const std::function<void(const std::string&)>& warn) {
  auto table = Loader(path, options, warn).run();
  if (!table) return std::unexpected(std::move(table.error()));
  return RequestFile(std::make_shared<const RequestTable>(std::move(*table)));
}

}  // namespace ringload
