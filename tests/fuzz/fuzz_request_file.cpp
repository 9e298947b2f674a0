// libFuzzer target for the request-file loader (load_request_file, request_file.hpp).
//
// Input: the file's bytes, whole. The loader reads a path, so each input is written to one
// memfd (no disk, nothing left behind) that the loader opens as /proc/self/fd/N.
// Checks, besides memory safety:
// - success: one table line per non-blank line (LF or CRLF, a UTF-8 BOM on line 1), in
//   order, each with its line number; every line's head, body, origin, name and stream
//   lie inside the table; heads are well-formed HTTP/1.1 (every CR is a CRLF, no NUL, the
//   request line first, at most one Host and one Content-Length, which equals the body's
//   size and is there when there is a body); a WebSocket line's key placeholder sits where
//   key_offset says; and without allow_https the first https or wss line is refused;
// - error: the line and column lie within the input (line 0 only when no line is
//   non-blank), the line itself is non-blank, the lines before it load by themselves, and
//   the same line alone fails with the same column and message: lines are independent;
// - the loader's JSON scanner (json_cursor, for positions) agrees with simdjson: a line
//   simdjson rejects is located by the scanner (the reason is the scanner's, not one of
//   simdjson's messages), and a value simdjson accepted is always found again;
// - warnings name the file and a line of it, each unknown key once.
#include <simdjson.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "engine/requests/request_table.hpp"
#include "ringload/request_file.hpp"

using namespace ringload;

namespace {

constexpr std::string_view bom = "\xef\xbb\xbf";

// The file's lines as the loader splits them: on LF; a last line without one counts.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

bool blank(std::string_view line, bool first) {
  if (first && line.starts_with(bom)) line.remove_prefix(bom.size());
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

class TempFile {
 public:
  TempFile() : fd_(memfd_create("fuzz_request_file", MFD_CLOEXEC)) {
    FUZZ_ASSERT(fd_ >= 0);
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  const std::string& write(std::string_view bytes) {
    FUZZ_ASSERT(ftruncate(fd_, 0) == 0);
    FUZZ_ASSERT(pwrite(fd_, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
    return path_;
  }

 private:
  int fd_;
  std::string path_;
};

struct Load {
  std::expected<RequestTable, RequestFileError> result;
  std::vector<std::string> warnings;
};

Load load(std::string_view bytes, bool allow_https) {
  static TempFile file;
  const std::string& path = file.write(bytes);
  std::vector<std::string> warnings;
  auto loaded = load_request_file(path, RequestFileOptions{allow_https},
                                  [&](const std::string& w) { warnings.push_back(w); });
  if (!loaded) {
    FUZZ_ASSERT(loaded.error().file == path);
    return {std::unexpected(std::move(loaded.error())), std::move(warnings)};
  }
  FUZZ_ASSERT(loaded->path() == path && loaded->table()->source == path);
  return {*loaded->table(), std::move(warnings)};
}

void check_head(const RequestTable& t, const RequestLine& l) {
  const std::string_view head = t.head(l);
  const std::string_view method = t.method(l);
  FUZZ_ASSERT(head.size() <= limits::max_request_head);
  FUZZ_ASSERT(!method.empty() && head.substr(method.size(), 2) == " /");
  const std::string_view request_line = head.substr(0, head.find("\r\n"));
  FUZZ_ASSERT(request_line == std::string(method) + " " + std::string(t.target(l)) + " HTTP/1.1");
  FUZZ_ASSERT(head.find('\0') == std::string_view::npos);
  for (std::size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '\r') FUZZ_ASSERT(i + 1 < head.size() && head[i + 1] == '\n');
    if (head[i] == '\n') FUZZ_ASSERT(i > 0 && head[i - 1] == '\r');
  }
  const bool ws = l.stream != 0 && t.streams[l.stream - 1].proto == StreamProto::ws;
  // Each field ends with CRLF; the blank line that ends the head comes from the shard.
  FUZZ_ASSERT(head.ends_with("\r\n") && !head.ends_with("\r\n\r\n"));
  std::size_t lengths = 0;
  std::size_t hosts = 0;
  for (std::size_t at = head.find("\r\n"); at != std::string_view::npos; at = head.find("\r\n", at + 2)) {
    const std::string_view field = head.substr(at + 2, head.find("\r\n", at + 2) - at - 2);
    const std::string_view name = field.substr(0, field.find(':'));
    hosts += iequal(name, "host");
    if (!iequal(name, "content-length")) continue;
    FUZZ_ASSERT(field.substr(name.size()) == ": " + std::to_string(l.body_len));
    ++lengths;
  }
  // RFC 9110 §5.3: neither field is a list; RFC 9112 §3.2: a second Host gets a 400.
  FUZZ_ASSERT(lengths <= 1 && hosts <= 1);
  if (l.body_len > 0) FUZZ_ASSERT(lengths == 1);
  if (ws) {
    const StreamSpec& s = t.streams[l.stream - 1];
    FUZZ_ASSERT(method == "GET" && l.body_len == 0);
    FUZZ_ASSERT(head.substr(s.key_offset, 24) == "AAAAAAAAAAAAAAAAAAAAAA==");
    FUZZ_ASSERT(head.substr(0, s.key_offset).ends_with("\r\nSec-WebSocket-Key: "));
    const Scheme scheme = t.origins[l.origin].scheme;
    FUZZ_ASSERT(scheme == Scheme::ws || scheme == Scheme::wss);
  }
}

void check_table(const RequestTable& t, const std::vector<std::string_view>& lines) {
  std::vector<uint32_t> expected_lines;
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (!blank(lines[i], i == 0)) expected_lines.push_back(static_cast<uint32_t>(i + 1));
  FUZZ_ASSERT(t.lines.size() == expected_lines.size());
  FUZZ_ASSERT(t.names.size() <= limits::max_named_stats);
  uint32_t streams = 0;
  for (std::size_t i = 0; i < t.lines.size(); ++i) {
    const RequestLine& l = t.lines[i];
    FUZZ_ASSERT(l.source_line == expected_lines[i]);
    FUZZ_ASSERT(l.offset + l.head_len + l.body_len <= t.arena.size());
    FUZZ_ASSERT(l.method_len > 0 && l.method_len < l.head_len);
    FUZZ_ASSERT(l.origin < t.origins.size() && l.name < t.names.size());
    if (l.stream != 0) FUZZ_ASSERT(l.stream == ++streams);  // each line has its own spec, in order
    check_head(t, l);
    FUZZ_ASSERT(((l.flags & RequestLine::flag_head) != 0) == (t.method(l) == "HEAD"));
  }
  FUZZ_ASSERT(streams == t.streams.size());
}

void check_warnings(const Load& r, std::size_t line_count) {
  std::set<std::string> keys;
  const std::string prefix = r.result ? r.result->source + ":" : r.result.error().file + ":";
  for (const std::string& w : r.warnings) {
    FUZZ_ASSERT(w.starts_with(prefix));
    const std::size_t colon = w.find(": unknown key '", prefix.size());
    FUZZ_ASSERT(colon != std::string::npos && w.ends_with("' (ignored)"));
    const unsigned long line = std::stoul(w.substr(prefix.size(), colon - prefix.size()));
    FUZZ_ASSERT(line >= 1 && line <= line_count);
    FUZZ_ASSERT(keys.insert(w.substr(colon)).second);
  }
}

// Without allow_https, the first https/wss line is refused at its url.
void check_https_refused(std::string_view bytes, const RequestTable& t) {
  for (const RequestLine& l : t.lines) {
    const Scheme s = t.origins[l.origin].scheme;
    if (s != Scheme::https && s != Scheme::wss) continue;
    const Load strict = load(bytes, false);
    FUZZ_ASSERT(!strict.result && strict.result.error().line == l.source_line);
    FUZZ_ASSERT(strict.result.error().message == "https is not supported yet");
    return;
  }
}

// simdjson's own messages: the loader falls back on one when its scanner finds no error.
bool is_simdjson_message(std::string_view why) {
  static const std::set<std::string, std::less<>> messages = [] {
    std::set<std::string, std::less<>> out;
    for (int code = 1; code < simdjson::NUM_ERROR_CODES; ++code)
      out.insert(simdjson::error_message(static_cast<simdjson::error_code>(code)));
    return out;
  }();
  return messages.contains(why);
}

void check_error(std::string_view bytes, const std::vector<std::string_view>& lines, const RequestFileError& e) {
  FUZZ_ASSERT(!e.message.empty());
  constexpr std::string_view invalid = "not valid JSON: ";
  if (e.message.starts_with(invalid))
    FUZZ_ASSERT(!is_simdjson_message(std::string_view(e.message).substr(invalid.size())));
  FUZZ_ASSERT(!e.message.starts_with("cannot find the text of"));
  const std::string text = e.to_string();
  FUZZ_ASSERT(text.starts_with(e.file + ":") && text.ends_with(": " + e.message));
  std::size_t non_blank = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) non_blank += !blank(lines[i], i == 0);
  if (e.line == 0) {
    FUZZ_ASSERT(non_blank == 0);
    return;
  }
  FUZZ_ASSERT(e.line <= lines.size());
  const std::string_view line = lines[e.line - 1];
  FUZZ_ASSERT(!blank(line, e.line == 1));
  FUZZ_ASSERT(e.column >= 1 && e.column <= line.size() + 1);

  // The lines before the culprit are fine on their own.
  const std::vector<std::string_view> before(lines.begin(), lines.begin() + (e.line - 1));
  bool any_before = false;
  for (std::size_t i = 0; i < before.size(); ++i) any_before = any_before || !blank(before[i], i == 0);
  if (any_before) {
    const Load prefix = load(bytes.substr(0, static_cast<std::size_t>(line.data() - bytes.data())), true);
    FUZZ_ASSERT(prefix.result.has_value());
    check_table(*prefix.result, before);
  }

  // The culprit fails alone, the same way (a BOM counts only on line 1).
  if (e.line > 1 && line.starts_with(bom)) return;
  if (e.line == 1 && bytes.size() <= line.size() + 1) return;  // it was alone
  const Load alone = load(line, true);
  FUZZ_ASSERT(!alone.result && alone.result.error().line == 1);
  FUZZ_ASSERT(alone.result.error().column == e.column && alone.result.error().message == e.message);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string_view> lines = split_lines(bytes);
  const Load r = load(bytes, true);
  check_warnings(r, lines.size());
  if (!r.result) {
    check_error(bytes, lines, r.result.error());
    return 0;
  }
  check_table(*r.result, lines);
  check_https_refused(bytes, *r.result);
  return 0;
}
