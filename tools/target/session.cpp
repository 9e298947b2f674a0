#include "session.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace ringload::target {
namespace {

// Bodies up to this size are copied next to the headers: one iovec, one small write.
constexpr std::size_t inline_body_max = 1024;
constexpr std::size_t keep_buffer_bytes = 64 * 1024;

// What the head says about the message (RFC 9112 §6, §9.3).
struct HeadFacts {
  int error = 0;  // status to answer with instead, 0 if none
  bool keep_alive = true;
  bool chunked = false;
  std::uint64_t length = 0;  // Content-Length, 0 if absent
  bool expect_continue = false;
};

// Content-Length = 1*DIGIT; a list of identical values is the same length (RFC 9110 §8.6).
bool merge_content_length(std::string_view value, bool& seen, std::uint64_t& length) noexcept {
  constexpr std::uint64_t max_length = std::uint64_t{1} << 62;
  while (true) {
    const std::size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    std::uint64_t v = 0;
    if (!parse_decimal(item, max_length, v) || (seen && v != length)) return false;
    seen = true;
    length = v;
    if (comma == std::string_view::npos) return true;
    value.remove_prefix(comma + 1);
  }
}

// Transfer-Encoding: counts the codings and remembers whether the last one is chunked.
void scan_transfer_coding(std::string_view value, int& codings, int& chunked_count,
                          bool& last_chunked) noexcept {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) {
      ++codings;
      last_chunked = iequals(item, "chunked");
      if (last_chunked) ++chunked_count;
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

HeadFacts analyze(const Request& req) noexcept {
  HeadFacts f;
  bool has_length = false, conn_close = false, conn_keep_alive = false, last_chunked = false;
  int hosts = 0, codings = 0, chunked_count = 0;
  for (const Header& h : req.headers) {
    if (iequals(h.name, "content-length")) {
      if (!merge_content_length(h.value, has_length, f.length)) f.error = 400;
    } else if (iequals(h.name, "transfer-encoding")) {
      scan_transfer_coding(h.value, codings, chunked_count, last_chunked);
    } else if (iequals(h.name, "connection")) {
      conn_close = conn_close || list_has_token(h.value, "close");
      conn_keep_alive = conn_keep_alive || list_has_token(h.value, "keep-alive");
    } else if (iequals(h.name, "host")) {
      ++hosts;
    } else if (iequals(h.name, "expect")) {
      f.expect_continue = iequals(h.value, "100-continue");
    }
  }
  // HTTP/1.1 requires exactly one Host; more than one is always an error (RFC 9112 §3.2).
  if (hosts > 1 || (req.minor_version >= 1 && hosts == 0)) f.error = 400;
  if (codings > 0 || chunked_count > 0) {
    // Transfer-Encoding in HTTP/1.0 means faulty framing (RFC 9112 §6.1); with
    // Content-Length too, rejecting closes the smuggling door (RFC 9112 §6.3 ¶3).
    if (req.minor_version == 0 || has_length) f.error = 400;
    // chunked must be the final coding, applied once (RFC 9112 §6.3 ¶4, §7); any other
    // coding before it is one we do not decode (RFC 9112 §6.1: 501).
    else if (!last_chunked || chunked_count != 1) f.error = 400;
    else if (codings > 1) f.error = 501;
    f.chunked = true;
    f.length = 0;
  }
  f.keep_alive = req.minor_version >= 1 ? !conn_close : conn_keep_alive && !conn_close;
  return f;
}

// A response head assembled in place, then queued with one append.
class HeadBuilder {
 public:
  HeadBuilder& operator<<(std::string_view s) noexcept {
    const std::size_t n = std::min(s.size(), sizeof buf_ - size_);
    if (n == 0) return *this;  // an empty view may have a null data(): no memcpy with it
    std::memcpy(buf_ + size_, s.data(), n);
    size_ += n;
    return *this;
  }
  HeadBuilder& operator<<(std::uint64_t v) noexcept {
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, v);
    return *this << std::string_view(digits, static_cast<std::size_t>(r.ptr - digits));
  }
  std::size_t room() const noexcept { return sizeof buf_ - size_; }
  std::string_view view() const noexcept { return {buf_, size_}; }

 private:
  char buf_[2048];
  std::size_t size_ = 0;
};

// Decimal digits of every id from 1 to n.
std::uint64_t id_digits(std::uint64_t n) noexcept {
  std::uint64_t total = 0;
  for (std::uint64_t first = 1, digits = 1; first <= n; first *= 10, ++digits)
    total += (std::min(n, first * 10 - 1) - first + 1) * digits;
  return total;
}

constexpr std::string_view sse_done = "data: [DONE]\n\n";
// "id: " + "\n" + "data: " + "\n\n" around an event's id and data.
constexpr std::uint64_t sse_event_overhead = 13;

std::uint64_t content_length(const Reply& r) noexcept {
  switch (r.kind) {
    case BodyKind::none: return 0;
    case BodyKind::text: return r.text.size();
    case BodyKind::pattern: return r.length;
    case BodyKind::chunked: return r.chunks * r.length;
    case BodyKind::sse:
      return r.chunks * (sse_event_overhead + r.length) + id_digits(r.chunks) + sse_done.size();
  }
  return 0;
}

void release_if_large(std::string& s) noexcept {
  if (s.capacity() > keep_buffer_bytes) std::string{}.swap(s);
  else s.clear();
}

}  // namespace

std::size_t Session::consume(std::string_view in, SessionEnv& env) {
  std::size_t pos = 0;
  while (pos < in.size() && !blocked()) {
    const std::string_view rest = in.substr(pos);
    if (mode_ == Mode::websocket) {
      pos += ws_.feed(rest, out_, limits::out_high_water);
      // The close frame is queued: the server closes the TCP connection first (RFC 6455 §7.1.1).
      if (ws_.closed()) closing_ = true;
      continue;
    }
    if (phase_ == Phase::body) {
      pos += feed_body(rest, env);
      continue;
    }
    Request req;
    const ParseResult r = parse_request(rest, req, env.headers, scanned_);
    if (r.status == ParseStatus::need_more) break;
    scanned_ = 0;
    if (r.status == ParseStatus::error) {
      answer_error(r.error == ParseError::head_too_large ? 431
                   : r.error == ParseError::bad_version  ? 505
                                                         : 400,
                   env);
      return in.size();
    }
    pos += r.consumed;
    start_request(req, rest.substr(0, r.consumed), pos < in.size(), env);
  }
  return pos;
}

void Session::start_request(const Request& req, std::string_view head_bytes, bool body_follows,
                            SessionEnv& env) {
  const HeadFacts facts = analyze(req);
  if (facts.error != 0) return answer_error(facts.error, env);
  meta_ = Meta{req.method == "HEAD", facts.keep_alive, req.minor_version};
  if (!facts.chunked && facts.length == 0)
    return dispatch(RequestInfo{req.method, req.target, req.minor_version, req.headers, {}}, env);
  collect_ = wants_body(req.target);
  if (collect_ && facts.length > limits::max_echo_body) return answer_error(413, env);
  head_copy_.assign(head_bytes);
  body_.clear();
  framing_ = facts.chunked ? Framing::chunked : Framing::length;
  body_left_ = facts.length;
  chunked_.reset();
  phase_ = Phase::body;
  // The client waits for this before sending the body (RFC 9110 §10.1.1); none to HTTP/1.0.
  if (facts.expect_continue && req.minor_version >= 1 && !body_follows)
    out_.append("HTTP/1.1 100 Continue\r\n\r\n");
}

std::size_t Session::feed_body(std::string_view in, SessionEnv& env) {
  if (framing_ == Framing::length) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(body_left_, in.size()));
    if (collect_) body_.append(in.data(), n);
    body_left_ -= n;
    if (body_left_ == 0) finish_body(env);
    return n;
  }
  const ParseResult r = chunked_.feed(in, collect_ ? &body_ : nullptr, limits::max_echo_body);
  if (r.status == ParseStatus::error) {
    answer_error(r.error == ParseError::content_too_large ? 413 : 400, env);
    return in.size();
  }
  if (r.status == ParseStatus::done) finish_body(env);
  return r.consumed;
}

void Session::finish_body(SessionEnv& env) {
  Request req;
  std::size_t scanned = 0;
  // The head parsed once already; parsing the copy again gives views into stable bytes.
  parse_request(head_copy_, req, env.headers, scanned);
  phase_ = Phase::head;
  dispatch(RequestInfo{req.method, req.target, req.minor_version, req.headers, body_}, env);
  collect_ = false;
  release_if_large(body_);
  release_if_large(head_copy_);
}

void Session::dispatch(const RequestInfo& info, SessionEnv& env) {
  // Before routing, so an excess request costs no more than its 503, and answered at once
  // (no --latency-ms): an overloaded server sheds load fast or it is not shedding it.
  if (env.limiter != nullptr && !is_control(info.target) && !env.limiter->admit())
    return emit(unavailable_reply(), meta_, env);
  const Reply reply = route(info, env.fixed, *env.counters, env.scratch);
  if (reply.delay_ms > 0) {
    delayed_reply_ = reply;  // its text is static (fixed_reply), so it outlives the request
    delayed_ = true;
    timer_ = {std::uint64_t{reply.delay_ms} * 1'000'000, false};
    return;
  }
  emit(reply, meta_, env);
}

void Session::fire_timer(SessionEnv& env) {
  if (sse_.active) {
    sse_.due = true;
    fill(env);
    return;
  }
  if (!delayed_) return;
  delayed_ = false;
  emit(delayed_reply_, meta_, env);
}

void Session::emit(const Reply& r, const Meta& meta, SessionEnv& env) {
  // After a 101 the connection belongs to the new protocol: it stays open whatever --close says.
  const bool upgrade = r.status == 101;
  const bool close = !upgrade && (r.close || !meta.keep_alive || env.force_close);
  // Transfer-Encoding only to HTTP/1.1 clients (RFC 9112 §6.1); HTTP/1.0 gets the length.
  const bool chunked_framing =
      (r.kind == BodyKind::chunked || r.kind == BodyKind::sse) && meta.minor_version >= 1;
  // No Content-Length in a 1xx or 204 (RFC 9110 §8.6), and none needed in a 304.
  const bool no_content = upgrade || r.status == 204 || r.status == 304;
  HeadBuilder h;
  // No 1xx to an HTTP/1.0 client (RFC 9110 §15.2).
  if (r.interim != 0 && meta.minor_version >= 1)
    h << "HTTP/1.1 " << static_cast<std::uint64_t>(r.interim) << " " << reason_phrase(r.interim)
      << "\r\n\r\n";
  h << "HTTP/1.1 " << static_cast<std::uint64_t>(r.status) << " " << reason_phrase(r.status)
    << "\r\nServer: ringload-target\r\nDate: " << env.date.value() << "\r\n";
  if (!no_content) {
    if (r.kind != BodyKind::none) h << "Content-Type: " << r.content_type << "\r\n";
    if (chunked_framing) h << "Transfer-Encoding: chunked\r\n";
    else h << "Content-Length: " << content_length(r) << "\r\n";
  }
  h << r.extra_headers;
  if (close) h << "Connection: close\r\n";
  else if (meta.minor_version == 0) h << "Connection: keep-alive\r\n";
  h << "\r\n";
  const bool send_body = !meta.head && !no_content;
  if (send_body && r.kind == BodyKind::text && r.text.size() <= inline_body_max) {
    h << r.text;
    out_.append(h.view());
  } else if (send_body && r.kind == BodyKind::pattern && r.length <= inline_body_max) {
    h << std::string_view(pattern::at(0), r.length);
    out_.append(h.view());
  } else {
    out_.append(h.view());
    if (send_body) emit_body(r, chunked_framing, env);
  }
  if (r.counted) env.counters->bump(env.thread, r.outcome);
  if (close) closing_ = true;
  if (upgrade) mode_ = Mode::websocket;
}

void Session::emit_body(const Reply& r, bool chunked_framing, SessionEnv& env) {
  switch (r.kind) {
    case BodyKind::none: return;
    case BodyKind::text: out_.append(r.text); return;
    case BodyKind::pattern:
      stream_ = Stream{true, false, r.length, 0, 0, 0};
      break;
    case BodyKind::chunked:
      stream_ = chunked_framing ? Stream{true, true, 0, r.chunks, r.length, 0}
                                : Stream{true, false, r.chunks * r.length, 0, 0, 0};
      break;
    case BodyKind::sse:
      sse_ = SseStream{true, chunked_framing, false, 1, r.chunks, r.length, 0, r.interval_us};
      break;
  }
  fill(env);
}

bool Session::fill(SessionEnv&) {
  const bool was_streaming = streaming();
  const std::size_t queued = out_.queued();
  if (sse_.active) fill_sse();
  else fill_pattern();
  return out_.queued() != queued || streaming() != was_streaming;
}

void Session::fill_pattern() {
  while (stream_.active && out_.queued() < limits::out_high_water) {
    if (stream_.data_left > 0) {
      const auto n = static_cast<std::size_t>(
          std::min<std::uint64_t>(stream_.data_left, pattern::max_slice));
      const std::string_view slice(pattern::at(stream_.offset), n);
      // Small slices are copied so that chunk framing and data coalesce into one iovec.
      if (n <= inline_body_max) out_.append(slice);
      else out_.append_ref(slice);
      stream_.offset += n;
      stream_.data_left -= n;
      if (stream_.data_left == 0 && stream_.chunked) out_.append("\r\n");
      continue;
    }
    if (stream_.chunked && stream_.chunks_left > 0) {
      --stream_.chunks_left;
      stream_.data_left = stream_.chunk_size;
      char line[24];
      const auto end = std::to_chars(line, line + 20, stream_.chunk_size, 16).ptr;
      out_.append(std::string_view(line, static_cast<std::size_t>(end - line)));
      out_.append("\r\n");
      continue;
    }
    if (stream_.chunked) out_.append("0\r\n\r\n");  // last-chunk, no trailers
    stream_.active = false;
  }
}

// Events are generated as the output drains, so a stream of any length holds at most the
// high-water mark (plus one slice) in memory.
void Session::fill_sse() {
  while (sse_.active && out_.queued() < limits::out_high_water) {
    if (sse_.data_left > 0) {
      const std::uint64_t offset = sse_.size - sse_.data_left;
      const auto n = static_cast<std::size_t>(
          std::min<std::uint64_t>(sse_.data_left, pattern::max_slice));
      const std::string_view slice(pattern::at(offset), n);
      if (n <= inline_body_max) out_.append(slice);
      else out_.append_ref(slice);
      sse_.data_left -= n;
      if (sse_.data_left == 0) out_.append(sse_.chunked ? "\n\n\r\n" : "\n\n");
      continue;
    }
    if (sse_.next_id <= sse_.last_id) {
      if (sse_.interval_us > 0 && !sse_.due && sse_.next_id > 1) return;  // the timer's turn
      start_event();
      continue;
    }
    out_.append(sse_.chunked ? "e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n" : sse_done);
    sse_.active = false;
  }
}

// Queues the chunk-size line and "id: i\ndata: " of the next event, and asks for the timer
// of the one after it.
void Session::start_event() {
  const std::uint64_t id = sse_.next_id++;
  char line[80];
  char* p = line;
  char id_text[24];
  char* const id_end = std::to_chars(id_text, id_text + sizeof id_text, id).ptr;
  const auto id_size = static_cast<std::uint64_t>(id_end - id_text);
  if (sse_.chunked) {
    p = std::to_chars(p, p + 20, sse_event_overhead + id_size + sse_.size, 16).ptr;
    *p++ = '\r';
    *p++ = '\n';
  }
  p = std::copy_n("id: ", 4, p);
  p = std::copy(id_text, id_end, p);
  p = std::copy_n("\ndata: ", 7, p);
  out_.append(std::string_view(line, static_cast<std::size_t>(p - line)));
  sse_.data_left = sse_.size;
  if (sse_.size == 0) out_.append(sse_.chunked ? "\n\n\r\n" : "\n\n");
  if (sse_.interval_us > 0) {
    sse_.due = false;
    // The first event went out with the head; later ones each follow a fired timer.
    if (sse_.next_id <= sse_.last_id) timer_ = {sse_.interval_us * std::uint64_t{1000}, id > 1};
  }
}

void Session::answer_error(int status, SessionEnv& env) {
  phase_ = Phase::head;
  emit(error_reply(status), Meta{false, false, 1}, env);
}

void Session::reset() noexcept {
  out_.clear();
  phase_ = Phase::head;
  closing_ = delayed_ = collect_ = false;
  mode_ = Mode::http;
  timer_ = {};
  scanned_ = 0;
  meta_ = Meta{};
  framing_ = Framing::none;
  body_left_ = 0;
  chunked_.reset();
  release_if_large(head_copy_);
  release_if_large(body_);
  stream_ = Stream{};
  sse_ = SseStream{};
  ws_.reset();
}

}  // namespace ringload::target
