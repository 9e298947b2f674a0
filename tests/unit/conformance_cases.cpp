#include "conformance_cases.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace ringload::conformance {
namespace {

// llhttp's flags (llhttp.h, enum llhttp_flags): the two that give a body a length.
constexpr unsigned long flag_chunked = 0x08;
constexpr unsigned long flag_content_length = 0x20;
// llhttp_errno HPE_PAUSED_UPGRADE: llhttp stops after a 101, the rest is not HTTP.
constexpr int paused_upgrade = 22;

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// `\` + digits in `base` (at most `max_digits`) becomes one byte, left to right, like the
// JS regex replace llhttp uses. A value above 0xff would be a UTF-16 unit there: refused.
std::string replace_numeric_escapes(const std::string& s, char prefix, int base,
                                    std::size_t max_digits, std::string& problem) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    std::size_t digits_at = i + 1 + (prefix != 0 ? 1 : 0);
    bool escape = s[i] == '\\' && (prefix == 0 || (i + 1 < s.size() && s[i + 1] == prefix));
    std::size_t n = 0;
    auto digit = [&](char d) { return base == 16 ? is_hex(d) : (d >= '0' && d <= '7'); };
    while (escape && digits_at + n < s.size() && n < max_digits && digit(s[digits_at + n])) ++n;
    if (!escape || n == 0) {
      out.push_back(s[i]);
      continue;
    }
    unsigned long value = 0;  // saturates just above 0xff: only "too big" matters then
    for (std::size_t d = 0; d < n && value <= 0xff; ++d) {
      const char ch = s[digits_at + d];
      const int v = ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10;
      value = value * static_cast<unsigned long>(base) + static_cast<unsigned long>(v);
    }
    if (value > 0xff) problem = "escape above \\xff (a UTF-16 unit in llhttp's runner)";
    out.push_back(static_cast<char>(value));
    i = digits_at + n - 1;
  }
  return out;
}

// After "key=" in a log line: the decimal (or hex) number there, or -1.
long number_after(const std::string& line, std::string_view key, int base = 10) {
  std::size_t at = line.find(key);
  if (at == std::string::npos) return -1;
  const char* begin = line.c_str() + at + key.size();
  char* end = nullptr;
  long v = std::strtol(begin, &end, base);
  return end == begin ? -1 : v;
}

// The body bytes of a `span[body]=` line: a quoted raw span, or cr / lf on their own.
bool read_body_span(const std::string& line, std::string& body, std::string& problem) {
  constexpr std::string_view key = " span[body]=";
  std::string v = line.substr(line.find(key) + key.size());
  long len = number_after(line, " len=");
  if (v == "cr" || v == "lf") {
    body.push_back(v == "cr" ? '\r' : '\n');
    return true;
  }
  if (v.size() < 2 || v.front() != '"' || v.back() != '"' ||
      static_cast<long>(v.size()) - 2 != len) {
    problem = "unreadable body span: " + line;
    return false;
  }
  body.append(v, 1, v.size() - 2);
  return true;
}

// llhttp_finish() (llhttp api.c) does nothing after an error, completes a body that ends at
// close (parser->finish == SAFE_WITH_CB) and fails with HPE_INVALID_EOF_STATE anywhere else
// inside a message (UNSAFE). A body ends at close when the head gave it no length: neither
// chunked nor Content-Length (llhttp__after_headers_complete).
void derive_eof(LlhttpVerdict& v, bool partial_head, unsigned long last_flags) {
  v.eof = v.open;
  if (v.open.error || v.upgraded) return;
  if (partial_head) {
    v.finish_state = 2;
  } else if (!v.open.messages.empty() && !v.open.messages.back().complete) {
    v.finish_state = (last_flags & (flag_chunked | flag_content_length)) != 0 ? 2 : 1;
  }
  if (v.finish_state == 1) v.eof.messages.back().complete = true;
  if (v.finish_state == 2) v.eof.error = true;
}

void escape_into(std::string& out, std::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\\' || c == '"') { out += '\\'; out += c; }
    else if (u < 0x20 || u == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    } else out += c;
  }
}

struct Pending {
  std::string title;
  int line = 0;
  nlohmann::json meta;
  bool has_meta = false;
  std::vector<std::string> http;
  bool has_http = false;
  std::vector<std::string> log;
  bool has_log = false;
};

// Emits the case under construction; false when it has a title but misses a part.
bool emit(Pending& p, const std::string& file, std::vector<Case>& out, std::string& error) {
  if (!p.has_meta && !p.has_http && !p.has_log) return true;  // a heading over prose only
  if (!p.has_meta || !p.has_http || !p.has_log) {
    error = file + ":" + std::to_string(p.line) + ": case '" + p.title + "' lacks meta/http/log";
    return false;
  }
  Case c;
  c.file = file;
  c.line = p.line;
  c.title = p.title;
  c.type = p.meta.value("type", "");
  c.skip_body = p.meta.value("skipBody", false);
  c.no_scan = p.meta.value("noScan", false);
  c.pause = p.meta.value("pause", "");
  std::string block;
  for (const std::string& l : p.http) block += l + "\n";
  c.bytes = http_block_to_bytes(block, c.skip_reason);
  c.llhttp = read_llhttp_log(p.log);
  if (!c.llhttp.problem.empty()) {
    error = file + ":" + std::to_string(p.line) + ": " + c.llhttp.problem;
    return false;
  }
  out.push_back(std::move(c));
  return true;
}

bool load_file(const std::filesystem::path& path, std::vector<Case>& out, std::string& error) {
  std::ifstream in(path);
  std::string file = path.filename().string();
  Pending p;
  std::string line;
  std::vector<std::string>* block = nullptr;  // inside a fenced block: where lines go
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (block != nullptr) {
      if (line == "```") block = nullptr;
      else block->push_back(line);
      continue;
    }
    if (line.starts_with("#")) {
      if (!emit(p, file, out, error)) return false;
      p = {};
      const std::size_t text = line.find_first_not_of("# ");
      p.title = text == std::string::npos ? std::string() : line.substr(text);
      p.line = n;
    } else if (line.starts_with("<!-- meta=")) {
      std::size_t begin = line.find('{'), end = line.rfind('}');
      p.meta = nlohmann::json::parse(line.substr(begin, end - begin + 1), nullptr, false);
      if (p.meta.is_discarded()) {
        error = file + ":" + std::to_string(n) + ": unreadable meta";
        return false;
      }
      p.has_meta = true;
    } else if (line == "```http") {
      block = &p.http;
      p.has_http = true;
    } else if (line == "```log") {
      block = &p.log;
      p.has_log = true;
    }
  }
  if (block != nullptr) {
    error = file + ": unterminated code block";
    return false;
  }
  return emit(p, file, out, error);
}

}  // namespace

std::string http_block_to_bytes(std::string_view block, std::string& problem) {
  std::string s(block);
  if (!s.empty() && s.back() == '\n') s.pop_back();
  std::string joined;  // backslash-newline removed, newlines normalised to CRLF
  for (std::size_t i = 0; i < s.size(); ++i) {
    bool newline = s[i] == '\r' || s[i] == '\n';
    std::size_t nl_len = s.compare(i, 2, "\r\n") == 0 ? 2 : 1;
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '\r' || s[i + 1] == '\n')) {
      i += s.compare(i + 1, 2, "\r\n") == 0 ? 2 : 1;
      continue;
    }
    if (newline) {
      joined += "\r\n";
      i += nl_len - 1;
      continue;
    }
    joined.push_back(s[i]);
  }
  replace_all(joined, "\\r", "\r");
  replace_all(joined, "\\n", "\n");
  replace_all(joined, "\\t", "\t");
  replace_all(joined, "\\f", "\f");
  joined = replace_numeric_escapes(joined, 'x', 16, std::string::npos, problem);
  joined = replace_numeric_escapes(joined, 0, 8, 3, problem);
  if (joined.find("${") != std::string::npos)
    problem = "holds a ${...} JavaScript expression, not expanded here";
  return joined;
}

LlhttpVerdict read_llhttp_log(const std::vector<std::string>& lines) {
  LlhttpVerdict v;
  bool partial_head = false;  // a message began and its head did not complete
  unsigned long last_flags = 0;
  for (std::string line : lines) {
    replace_all(line, "\\t", "\t");  // llhttp's runner does this to logs too
    replace_all(line, "\\f", "\f");
    if (line.ends_with(" message begin")) {
      partial_head = true;
    } else if (line.find(" headers complete ") != std::string::npos) {
      v.open.messages.push_back({static_cast<int>(number_after(line, " status=")), {}, false});
      last_flags = static_cast<unsigned long>(number_after(line, " flags=", 16));
      partial_head = false;
    } else if (line.find(" span[body]=") != std::string::npos) {
      if (v.open.messages.empty()) v.problem = "body before headers: " + line;
      else if (!read_body_span(line, v.open.messages.back().body, v.problem)) break;
    } else if (line.ends_with(" message complete")) {
      if (v.open.messages.empty()) v.problem = "message complete before headers";
      else v.open.messages.back().complete = true;
    } else if (line.find(" error code=") != std::string::npos) {
      if (number_after(line, " error code=") == paused_upgrade) v.upgraded = true;
      else v.open.error = true;
    } else if (line.starts_with("off=NULL finish=")) {
      v.logged_finish = static_cast<int>(number_after(line, "finish="));
    }
  }
  derive_eof(v, partial_head, last_flags);
  return v;
}

std::vector<Case> load_cases(const std::string& dir, std::string& error) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.path().extension() == ".md" && entry.path().filename() != "README.md")
      files.push_back(entry.path());
  if (ec) error = dir + ": " + ec.message();
  std::sort(files.begin(), files.end());
  std::vector<Case> out;
  for (const auto& f : files)
    if (!load_file(f, out, error)) break;
  return out;
}

std::string describe(const Outcome& o) {
  std::string out;
  for (const Message& m : o.messages) {
    out += "[" + std::to_string(m.status) + (m.complete ? " complete" : " open") + " body=\"";
    escape_into(out, m.body.size() > 80 ? std::string_view(m.body).substr(0, 80) : m.body);
    out += m.body.size() > 80 ? "...\"(" + std::to_string(m.body.size()) + " bytes)] " : "\"] ";
  }
  out += o.error ? "rejected" : "no error";
  return out;
}

}  // namespace ringload::conformance
