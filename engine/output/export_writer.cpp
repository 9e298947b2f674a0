#include "engine/output/export_writer.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "engine/core/clock.hpp"
#include "engine/output/json_text.hpp"
#include "proto/base64.hpp"
#include "ringload/stats.hpp"

namespace ringload {
namespace {

using namespace json_text;

constexpr std::size_t out_buffer = 1u << 20;   // bytes buffered before a write(2)
constexpr uint64_t idle_flush_ns = 200'000'000;  // a slow run still reaches the file
constexpr std::size_t records_per_turn = 4096;   // round-robin fairness between queues

constexpr uint64_t diff(uint64_t later, uint64_t earlier) noexcept { return later > earlier ? later - earlier : 0; }

std::string spill_dir_for(const ExportOptions& o) {
  if (!o.spill_dir.empty()) return o.spill_dir;
  if (o.path != "-") {
    const auto slash = o.path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : o.path.substr(0, slash);
  }
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && tmp[0] != '\0' ? tmp : "/tmp";
}

}  // namespace

ExportWriter::ExportWriter(const ExportOptions& options, const RequestTable& table,
                           std::span<ExportQueue* const> queues, uint64_t t0_ns)
    : options_(options),
      table_(table),
      area_(spill_dir_for(options), options.spill_per_request, options.spill_total),
      t0_ns_(t0_ns) {
  if (!options_.success_status) options_.success_status = [](int s) { return s >= 200 && s <= 399; };
  for (ExportQueue* q : queues) sources_.push_back(Source{q, {}});
  for (const Url& u : table_.origins) origins_.push_back(u.origin());
  out_.reserve(out_buffer + 64 * 1024);
}

ExportWriter::~ExportWriter() {
  if (thread_.joinable()) (void)finish();
  if (close_fd_ && fd_ >= 0) ::close(fd_);
}

std::expected<void, std::string> ExportWriter::open() {
  if (options_.path == "-") {
    fd_ = STDOUT_FILENO;
    close_fd_ = false;
  } else {
    const int fd = ::open(options_.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return std::unexpected("cannot open export file '" + options_.path + "': " + std::strerror(errno));
    fd_ = fd;
    close_fd_ = true;
  }
  struct stat st {};
  regular_file_ = fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
  return {};
}

void ExportWriter::start() {
  if (thread_.joinable() || finished_) return;
  last_flush_ns_ = now_ns();
  thread_ = std::thread([this] { run(); });
}

std::expected<void, std::string> ExportWriter::finish() {
  if (!finished_) {
    if (!thread_.joinable()) start();  // all file I/O happens on the writer thread
    finished_ = true;
    {
      std::lock_guard lock(mutex_);
      stop_.store(true, std::memory_order_release);
    }
    wake_.notify_one();
    thread_.join();
    if (close_fd_ && fd_ >= 0 && ::close(fd_) != 0 && error_.empty())
      fail("cannot write export file '" + options_.path + "': " + std::strerror(errno));
    fd_ = -1;
  }
  if (!error_.empty()) return std::unexpected(error_);
  return {};
}

void ExportWriter::run() noexcept {
  // A closed pipe on stdout must fail the write with EPIPE, not kill the run: a
  // thread-directed SIGPIPE stays pending on this thread while blocked.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  while (!stop_.load(std::memory_order_acquire)) {
    bool any = false;
    for (Source& s : sources_) any = drain(s, records_per_turn) || any;
    if (any) continue;
    if (!out_.empty() && now_ns() - last_flush_ns_ >= idle_flush_ns) flush();
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, std::chrono::microseconds(100), [this] { return stop_.load(std::memory_order_relaxed); });
  }
  // The shards have stopped: everything they produced is in the rings.
  for (bool any = true; any;) {
    any = false;
    for (Source& s : sources_) any = drain(s, SIZE_MAX) || any;
  }
  for (Source& s : sources_) {
    dropped_ += s.pending.size();
    while (!s.pending.empty()) release(s, s.pending.begin()->first);
  }
  flush();
}

bool ExportWriter::drain(Source& s, std::size_t max_records) {
  return s.queue->drain(max_records, [&](const ExportQueue::Record& r) { on_record(s, r); });
}

ExportWriter::Pending& ExportWriter::pending(Source& s, uint64_t id) {
  auto [it, added] = s.pending.try_emplace(id, 0);
  if (added) {
    if (free_slots_.empty()) {
      it->second = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    } else {
      it->second = free_slots_.back();
      free_slots_.pop_back();
    }
  }
  return slots_[it->second];
}

void ExportWriter::on_record(Source& s, const ExportQueue::Record& r) {
  using Kind = ExportQueue::Kind;
  if (r.kind == Kind::end) return on_end(s, r.id, r.payload);
  if (r.kind == Kind::discard) return release(s, r.id);
  // After a failure nothing more is written: records are only freed.
  if (failed()) return;
  Pending& p = pending(s, r.id);
  switch (r.kind) {
    case Kind::head: p.head.append(r.payload.data(), r.payload.size()); return;
    case Kind::head_reset:
      p.head.clear();
      p.head_replaced = true;
      return;
    case Kind::body_reset:
      p.data.clear(area_);
      p.utf8.reset();
      p.truncated = false;
      p.body_replaced = true;
      return;
    case Kind::item: return on_item(p, r.payload);
    case Kind::item_data: return on_data(p, r.payload, true);
    case Kind::body: return on_data(p, r.payload, false);
    case Kind::close: {
      ExportQueue::CloseFields f;
      std::memcpy(&f, r.payload.data(), sizeof f);
      p.has_close = true;
      p.close_code = f.code;
      p.close_by_server = f.by_server != 0;
      p.close_reason.assign(r.payload.data() + sizeof f, f.reason_len);
      return;
    }
    default: return;
  }
}

void ExportWriter::on_item(Pending& p, std::span<const char> payload) {
  close_item(p);
  ExportQueue::ItemFields f;
  std::memcpy(&f, payload.data(), sizeof f);
  const std::string_view type(payload.data() + sizeof f, f.type_len);
  const std::string_view event_id(payload.data() + sizeof f + f.type_len, f.id_len);
  std::string& o = p.item_head;
  o = "{\"t_us\":";
  append_us(o, f.t_ns);
  if (f.message) {
    o += f.binary ? ",\"opcode\":\"binary\"" : ",\"opcode\":\"text\"";
  } else {
    o += ",\"event\":";
    if (f.has_type) append_string(o, type); else o += "null";
    o += ",\"id\":";
    if (!event_id.empty()) append_string(o, event_id); else o += "null";
  }
  p.item_binary = f.message && f.binary;
}

// Body bytes, or an item's data. --export-max-body caps the body, and a stream's item
// data in all (by default nothing is cut): the shard caps the body itself, the writer
// enforces the bound too.
void ExportWriter::on_data(Pending& p, std::span<const char> bytes, bool item) {
  const uint64_t used = item ? p.item_bytes : p.data.size();
  const uint64_t room = options_.max_body - std::min<uint64_t>(options_.max_body, used);
  const std::size_t keep = static_cast<std::size_t>(std::min<uint64_t>(room, bytes.size()));
  if (keep < bytes.size()) p.truncated = true;
  bytes = bytes.first(keep);
  if (item) p.item_bytes += keep;
  p.utf8.feed(bytes);
  std::string why;
  if (!p.data.append(area_, bytes, why)) fail("export: " + why);
}

void ExportWriter::release(Source& s, uint64_t id) {
  auto it = s.pending.find(id);
  if (it == s.pending.end()) return;
  Pending& p = slots_[it->second];
  p.head.clear();
  if (p.head.capacity() > out_buffer) std::string().swap(p.head);
  p.data.clear(area_);
  p.utf8.reset();
  p.truncated = false;
  p.head_replaced = false;
  p.body_replaced = false;
  p.items.clear(area_);
  p.item_bytes = 0;
  p.item_head.clear();
  p.has_close = false;
  free_slots_.push_back(it->second);
  s.pending.erase(it);
}

void ExportWriter::on_end(Source& s, uint64_t id, std::span<const char> payload) {
  ExportQueue::EndFields f;
  std::memcpy(&f, payload.data(), sizeof f);
  ExportEnd e{id, f.line_index, f.iteration, f.status, f.error_kind, nullptr, f.start_ns, f.first_byte_ns,
              f.end_ns, f.truncated != 0, f.stream_end, static_cast<ExportProtocol>(f.protocol)};
  if (!failed()) {
    auto it = s.pending.find(id);
    Pending* p = it == s.pending.end() ? nullptr : &slots_[it->second];
    if (p != nullptr) {
      close_item(*p);
      replaced(*p, e);
    }
    // A WebSocket session's 101 is its success status, whatever the run's success range.
    const bool upgraded =
        e.status == 101 && e.line_index < table_.lines.size() && table_.lines[e.line_index].stream != 0;
    const bool bad = e.error_kind >= 0 || (!upgraded && (e.status == 0 || !options_.success_status(e.status)));
    if (!options_.errors_only || bad) write_line(e, {payload.data() + sizeof f, f.message_len}, p);
  }
  release(s, id);
}

// A plugin's replacement: the status of its head ("HTTP/1.1 NNN ..."), and a replaced
// body's own truncation only.
void ExportWriter::replaced(const Pending& p, ExportEnd& e) {
  if (p.head_replaced && p.head.size() >= 12 && p.head.compare(0, 5, "HTTP/") == 0) {
    const std::size_t sp = p.head.find(' ');
    if (sp != std::string::npos && sp + 4 <= p.head.size()) {
      int code = 0;
      for (std::size_t i = sp + 1; i < sp + 4 && p.head[i] >= '0' && p.head[i] <= '9'; ++i) code = code * 10 + (p.head[i] - '0');
      if (code >= 100 && code <= 999) e.status = code;
    }
  }
  if (p.body_replaced) e.body_truncated = p.truncated;
}

void ExportWriter::write_line(const ExportEnd& e, std::string_view message, Pending* p) {
  const RequestLine* line = e.line_index < table_.lines.size() ? &table_.lines[e.line_index] : nullptr;
  write_request(line, e.iteration);
  std::string& o = out_;
  o += e.protocol == ExportProtocol::h2 ? ",\"protocol\":\"HTTP/2\"" : ",\"protocol\":\"HTTP/1.1\"";
  o += ",\"status\":";
  if (e.status != 0) append_u64(o, static_cast<uint64_t>(e.status)); else o += "null";
  o += ",\"headers\":";
  write_headers(p != nullptr && e.status != 0 ? std::string_view(p->head) : std::string_view{},
                line != nullptr && (line->flags & RequestLine::flag_head));
  if (line != nullptr && line->stream != 0) {
    write_stream(*line, e, p);
  } else {
    if (p != nullptr) {
      write_data(*p, ",\"body\":\"", ",\"body_base64\":\"", false);
    } else {
      o += ",\"body\":\"\"";
    }
    if (e.body_truncated || (p && p->truncated)) o += ",\"body_truncated\":true";
  }
  if (e.error_kind >= 0) {
    o += ",\"error\":{\"kind\":";
    const bool known = e.error_kind < static_cast<int>(error_kind_count);
    append_string(o, known ? to_string(static_cast<ErrorKind>(e.error_kind)) : "unknown");
    o += ",\"message\":";
    append_string(o, message);
    o += '}';
  }
  o += ",\"timing\":{\"start_us\":";
  append_us(o, diff(e.start_ns, t0_ns_));
  o += ",\"ttfb_us\":";
  if (e.first_byte_ns != 0) append_us(o, diff(e.first_byte_ns, e.start_ns)); else o += "null";
  o += ",\"total_us\":";
  append_us(o, diff(e.end_ns, e.start_ns));
  o += "}}\n";
  if (o.size() >= out_buffer) flush();
}

// `data` as a JSON string value after `text_key` when it is valid UTF-8 (and not binary),
// else as Base64 after `base64_key`; read back piece by piece when it was spilled, the
// output flushed as it grows.
void ExportWriter::write_data(Pending& p, std::string_view text_key, std::string_view base64_key, bool binary) {
  const bool text = !binary && p.utf8.at_boundary();
  out_ += text ? text_key : base64_key;
  append_data(out_, p, text, [this] {
    if (out_.size() >= out_buffer) flush();
  });
  out_ += '"';
}

// p.data as the inside of a JSON string (escaped text, or Base64), appended to `o` piece by
// piece; `grown()` after each piece may take the output away.
template <typename Grown>
void ExportWriter::append_data(std::string& o, Pending& p, bool text, Grown&& grown) {
  proto::Base64Encoder encoder;
  std::string why;
  const bool ok = p.data.for_each(area_, read_scratch_, why, [&](std::span<const char> piece) {
    if (text) {
      append_escaped(o, {piece.data(), piece.size()}, BadUtf8::pass);
    } else {
      const std::size_t at = o.size();
      o.resize(at + proto::Base64Encoder::max_output(piece.size()));
      o.resize(at + encoder.feed(piece, o.data() + at));
    }
    grown();
  });
  if (!ok) fail("export: " + why);
  if (!text) {
    char tail[4];
    o.append(tail, encoder.finish(tail));
  }
}

// Ends the open stream item: its JSON goes to `items` with its data (text when it is
// UTF-8 and not binary, else base64).
void ExportWriter::close_item(Pending& p) {
  if (p.item_head.empty()) return;
  std::string why;
  std::string& t = item_text_;
  t.clear();
  if (!p.items.empty()) t += ',';
  t += p.item_head;
  const bool text = !p.item_binary && p.utf8.at_boundary();
  t += text ? ",\"data\":\"" : ",\"data_base64\":\"";
  auto move_out = [&] {
    if (!p.items.append(area_, {t.data(), t.size()}, why)) fail("export: " + why);
    t.clear();
  };
  append_data(t, p, text, [&] {
    if (t.size() >= 64 * 1024) move_out();
  });
  t += "\"}";
  move_out();
  p.item_head.clear();
  p.data.clear(area_);
  p.utf8.reset();
}

// A stream's own keys, instead of the body: its items, how it ended and (WebSocket) the
// close frame received or sent.
void ExportWriter::write_stream(const RequestLine& line, const ExportEnd& e, Pending* p) {
  std::string& o = out_;
  const StreamSpec* spec = table_.stream(line);
  const bool ws = spec != nullptr && spec->proto == StreamProto::ws;
  o += ws ? ",\"messages\":[" : ",\"events\":[";
  if (p != nullptr) {
    std::string why;
    const bool ok = p->items.for_each(area_, read_scratch_, why, [&](std::span<const char> piece) {
      o.append(piece.data(), piece.size());
      if (o.size() >= out_buffer) flush();
    });
    if (!ok) fail("export: " + why);
  }
  o += ']';
  // No stream came (an SSE request answered 404, say): the body it got instead.
  if (p != nullptr && p->items.empty() && !p->data.empty()) write_data(*p, ",\"body\":\"", ",\"body_base64\":\"", false);
  if (ws) {
    o += ",\"close\":";
    if (p != nullptr && p->has_close) {
      o += "{\"code\":";
      append_u64(o, p->close_code);
      o += ",\"reason\":";
      append_string(o, p->close_reason);
      o += p->close_by_server ? ",\"by\":\"server\"}" : ",\"by\":\"client\"}";
    } else {
      o += "null";
    }
  }
  if (p != nullptr && p->truncated) o += ",\"data_truncated\":true";
  o += ws ? ",\"session_end\":" : ",\"stream_end\":";
  if (e.stream_end >= 0) append_string(o, to_string(static_cast<StreamEnd>(e.stream_end))); else o += "null";
}

// From "{" to "method": what the request was. `line` null: an index outside the table.
void ExportWriter::write_request(const RequestLine* line, uint32_t iteration) {
  std::string& o = out_;
  o += "{\"seq\":";
  append_u64(o, seq_++);
  o += ",\"line\":";
  if (line != nullptr && line->source_line != 0) append_u64(o, line->source_line); else o += "null";
  o += ",\"iteration\":";
  append_u64(o, iteration);
  const std::string_view method = line ? table_.method(*line) : std::string_view{};
  const std::string_view target = line ? table_.target(*line) : std::string_view{};
  o += ",\"name\":\"";
  if (line != nullptr && (line->flags & RequestLine::flag_named) && line->name < table_.names.size()) {
    append_escaped(o, table_.names[line->name], BadUtf8::replace);
  } else if (line != nullptr) {
    append_escaped(o, method, BadUtf8::replace);
    o += ' ';
    append_escaped(o, target.substr(0, target.find('?')), BadUtf8::replace);
  }
  o += "\",\"url\":\"";
  if (line != nullptr && line->origin < origins_.size()) {
    append_escaped(o, origins_[line->origin], BadUtf8::replace);
    append_escaped(o, target, BadUtf8::replace);
  }
  o += "\",\"method\":";
  append_string(o, method);
}

// Lists the fields of the final head: 1xx interim heads (not 101) before it are skipped,
// like the shard does. A head that does not parse lists nothing.
void ExportWriter::write_headers(std::string_view raw, bool head_request) {
  out_ += '[';
  // A field line takes at least 4 bytes ("x:" CRLF): enough room without counting.
  if (header_scratch_.size() < raw.size() / 4 + 1) header_scratch_.resize(raw.size() / 4 + 1);
  while (!raw.empty()) {
    proto::ResponseHead rh;
    const proto::HeadResult r = proto::parse_response_head(raw, 0, rh, header_scratch_, head_request);
    if (r.status != proto::Status::done) break;
    if (rh.status < 200 && rh.status != 101 && r.consumed < raw.size()) {
      raw.remove_prefix(r.consumed);
      continue;
    }
    for (std::size_t i = 0; i < rh.num_headers; ++i) {
      out_ += i == 0 ? "[" : ",[";
      append_string(out_, header_scratch_[i].name);
      out_ += ',';
      append_string(out_, header_scratch_[i].value);
      out_ += ']';
    }
    break;
  }
  out_ += ']';
}

// Writes the buffered output and counts the whole lines that reached the file. A line
// may be written in several flushes (a large body); only its newline makes it count.
void ExportWriter::flush() {
  last_flush_ns_ = now_ns();
  std::string_view rest = out_;
  while (!rest.empty() && !failed() && fd_ >= 0) {
    const ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write export file '" + options_.path + "': " + std::strerror(errno));
      break;
    }
    const std::string_view done = rest.substr(0, static_cast<std::size_t>(n));
    const auto newlines = static_cast<uint64_t>(std::count(done.begin(), done.end(), '\n'));
    if (newlines != 0) {
      whole_ = written_ + done.rfind('\n') + 1;
      lines_.store(lines_.load(std::memory_order_relaxed) + newlines, std::memory_order_relaxed);
    }
    written_ += static_cast<uint64_t>(n);
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  out_.clear();
}

// The first failure stops the export: a regular file is cut back to its last whole line
// (a pipe cannot be), and nothing more is written.
void ExportWriter::fail(const std::string& why) {
  if (failed()) return;
  error_ = why;
  if (regular_file_ && fd_ >= 0 && written_ != whole_ && ftruncate(fd_, static_cast<off_t>(whole_)) != 0)
    error_ += std::string(" (and the torn last line could not be cut: ") + std::strerror(errno) + ")";
  out_.clear();
  failed_.store(true, std::memory_order_release);
}

}  // namespace ringload
