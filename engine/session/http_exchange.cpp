#include "engine/session/http_exchange.hpp"

#include <cstring>

#include "engine/output/export_queue.hpp"

namespace ringload {
namespace {

ExchangeEvent parse_failure(proto::ParseError e) noexcept {
  return {ExchangeEvent::Kind::error, e, nullptr};
}

ExchangeEvent failure(const char* message) noexcept {
  return {ExchangeEvent::Kind::error, proto::ParseError::none, message};
}

// Decoded body bytes to the export and to the plugins' capture, each up to its bound.
void copy_body(ResponseTap& tap, std::span<const char> data) noexcept {
  if (tap.queue != nullptr) {
    const std::size_t keep = data.size() < tap.body_left ? data.size() : tap.body_left;
    if (keep != 0) tap.queue->body(tap.id, data.first(keep));
    tap.body_left -= keep;
    if (keep < data.size()) tap.truncated = true;
  }
  if (tap.capture != nullptr && tap.capture_left != 0) {
    const std::size_t keep = data.size() < tap.capture_left ? data.size() : tap.capture_left;
    tap.capture->body.append(data.data(), keep);  // its capacity stays across responses
    tap.capture_left -= keep;
  }
}

}  // namespace

void HttpExchange::start(bool head_request, CarryBuffer& carry, StreamSink* sink) noexcept {
  head_ = {};
  sink_ = sink;
  streaming_ = false;
  head_done_ = false;
  head_request_ = head_request;
  received_any_ = false;
  scanned_ = 0;
  carry.len = 0;
  state_ = ExchangeState::head;
}

ExchangeEvent HttpExchange::on_data(std::span<const char> in, CarryBuffer& carry, std::span<proto::Header> headers,
                                    ResponseTap* tap, std::span<const char>* rest) noexcept {
  if (rest != nullptr) *rest = {};
  if (state_ == ExchangeState::complete || state_ == ExchangeState::failed)
    return failure("data received with no request in flight");
  received_any_ = true;
  while (!in.empty()) {
    if (state_ == ExchangeState::upgraded) {
      if (!sink_->on_stream_data(in)) return stop();
      return {};
    }
    if (state_ == ExchangeState::head) {
      ExchangeEvent ev = feed_head(in, carry, headers, tap);
      if (ev.kind == ExchangeEvent::Kind::complete) return completed(in, rest);
      if (ev.kind != ExchangeEvent::Kind::need_more) return ev;
      continue;  // a partial head left `in` empty; an interim response left the rest
    }
    if (state_ == ExchangeState::body) {
      proto::BodyResult r = body_.feed(in);
      in = in.subspan(r.consumed);
      if (streaming_) {
        if (!r.data.empty() && !sink_->on_stream_data(r.data)) return stop();
      } else if (tap != nullptr && !r.data.empty()) {
        copy_body(*tap, r.data);
      }
      if (r.status == proto::Status::error) {
        state_ = ExchangeState::failed;
        return parse_failure(r.error);
      }
      if (r.status == proto::Status::done) {
        state_ = ExchangeState::complete;
        return completed(in, rest);
      }
      continue;
    }
    return failure("bytes after the end of the response");
  }
  return {};
}

// Parses the head from `in` directly when nothing is carried (the common case: the whole
// head in one read), else from the carry buffer. On success `in` is left holding the
// bytes after the head (body bytes, or the next interim response's head).
ExchangeEvent HttpExchange::feed_head(std::span<const char>& in, CarryBuffer& carry,
                                      std::span<proto::Header> headers, ResponseTap* tap) noexcept {
  std::span<const char> buf = in;
  std::size_t last_len = 0;
  if (carry.len != 0) {
    std::size_t room = carry.capacity - carry.len;
    std::size_t take = in.size() < room ? in.size() : room;
    std::memcpy(carry.data + carry.len, in.data(), take);
    carry.len += static_cast<uint32_t>(take);
    buf = {carry.data, carry.len};
    last_len = scanned_;
  }
  proto::HeadResult r = proto::parse_response_head(buf, last_len, head_, headers, head_request_);
  if (r.status == proto::Status::error) {
    state_ = ExchangeState::failed;
    return parse_failure(r.error);
  }
  if (r.status == proto::Status::need_more) {
    if (carry.len == 0) {
      if (in.size() > carry.capacity) {
        state_ = ExchangeState::failed;
        return parse_failure(proto::ParseError::header_too_large);
      }
      std::memcpy(carry.data, in.data(), in.size());
      carry.len = static_cast<uint32_t>(in.size());
    } else if (carry.len == carry.capacity) {
      state_ = ExchangeState::failed;
      return parse_failure(proto::ParseError::header_too_large);
    }
    scanned_ = carry.len;
    in = {};
    return {};
  }
  // Done. The carried bytes before this call were exactly the `last_len` already
  // scanned, so the head ends at in[consumed - last_len] in either case.
  const bool interim = head_.status >= 100 && head_.status < 200 && head_.status != 101;
  if (tap != nullptr && !interim) {
    if (tap->queue != nullptr) tap->queue->head(tap->id, buf.first(r.consumed));
    if (tap->capture != nullptr) tap->capture->head.assign(buf.data(), r.consumed);
  }
  in = in.subspan(r.consumed - last_len);
  carry.len = 0;
  scanned_ = 0;
  if (interim) {
    head_ = {};  // interim response (100 Continue, 103 Early Hints): the real one follows
    return {};
  }
  head_done_ = true;
  if (sink_ != nullptr) {
    const char* why = nullptr;
    switch (sink_->on_stream_head(head_, headers.first(head_.num_headers), why)) {
      case StreamSink::Verdict::stream:
        streaming_ = true;
        if (head_.status == 101) {
          state_ = ExchangeState::upgraded;
          return {};  // the rest of `in` is the upgraded protocol's
        }
        break;
      case StreamSink::Verdict::http:
        sink_ = nullptr;
        break;
      case StreamSink::Verdict::fail:
        state_ = ExchangeState::failed;
        return failure(why);
    }
  }
  if (head_.body == proto::BodyKind::none) {
    state_ = ExchangeState::complete;
    return {ExchangeEvent::Kind::complete};  // on_data: bytes after it are the caller's question
  }
  body_.reset(head_);
  state_ = ExchangeState::body;
  return {};
}

// The response is complete with `in` unread: an error, or (pipelining) the next ones'.
ExchangeEvent HttpExchange::completed(std::span<const char> in, std::span<const char>* rest) noexcept {
  if (in.empty()) return {ExchangeEvent::Kind::complete};
  if (rest == nullptr) return failure("bytes after the end of the response");
  *rest = in;
  return {ExchangeEvent::Kind::complete};
}

ExchangeEvent HttpExchange::stop() noexcept {
  state_ = ExchangeState::complete;
  return {ExchangeEvent::Kind::stopped};
}

ExchangeEvent HttpExchange::on_eof() noexcept {
  if (state_ == ExchangeState::body && body_.finish() == proto::Status::done) {
    state_ = ExchangeState::complete;
    return {ExchangeEvent::Kind::complete};
  }
  if (state_ == ExchangeState::complete) return {ExchangeEvent::Kind::complete};
  state_ = ExchangeState::failed;
  return failure(received_any_ ? "connection closed mid-response"
                               : "connection closed before the response");
}

}  // namespace ringload
