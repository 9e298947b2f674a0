// One HTTP/1.1 request/response exchange on a connection: feeds received bytes to the
// proto/ parsers and says when the response is complete. Knows nothing of rings.
//
// Received buffers are lent for one call. A response head split across reads is
// assembled in the connection's carry buffer (bounded: a head that does not fit is a
// protocol error); body bytes are never copied.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "proto/body.hpp"
#include "proto/http_response.hpp"

namespace ringload {

struct CarryBuffer {
  char* data = nullptr;
  uint32_t capacity = 0;
  uint32_t len = 0;
};

enum class ExchangeState : uint8_t { head, body, complete, failed, upgraded };

// The consumer of a stream on this exchange: an SSE stream takes the response body, a
// WebSocket session every byte after the 101. Called from on_data() only.
class StreamSink {
 public:
  enum class Verdict : uint8_t { stream, http, fail };
  // The final head arrived. stream: the body (after a 101: the connection) goes to
  // on_stream_data(); http: an ordinary response (an SSE request answered 404, say);
  // fail: the exchange fails with `why` (a static string).
  virtual Verdict on_stream_head(const proto::ResponseHead& head, std::span<const proto::Header> headers,
                                 const char*& why) noexcept = 0;
  // Stream bytes (decoded body, or raw after a 101). false: the consumer ended the stream
  // (its session's Step says how); the exchange reports `stopped` and reads nothing more.
  virtual bool on_stream_data(std::span<const char> data) noexcept = 0;

 protected:
  ~StreamSink() = default;
};

// What a response keeps for plugins (engine/plugins): its final head and body as read.
struct ResponseCapture {
  std::string head;  // the final head as received
  std::string body;  // the decoded body, up to the tap's capture_left bytes
};

// Where an exchange copies what it parsed: to the export (the final head as received and
// the decoded body, up to `body_left` bytes), and for plugins (the head, and the body up to
// `capture_left` bytes). Both off: the exchange copies nothing.
class ExportQueue;
struct ResponseTap {
  ExportQueue* queue = nullptr;        // --export; null: off
  uint64_t id = 0;
  uint64_t body_left = 0;
  bool truncated = false;
  ResponseCapture* capture = nullptr;  // plugins; null: off
  uint64_t capture_left = 0;

  bool active() const noexcept { return queue != nullptr || capture != nullptr; }
};

struct ExchangeEvent {
  // stopped: the stream's sink ended it (the connection cannot be reused).
  enum class Kind : uint8_t { need_more, complete, error, stopped } kind = Kind::need_more;
  proto::ParseError error = proto::ParseError::none;
  const char* message = nullptr;  // for errors not from the parser
};

class HttpExchange {
 public:
  // A new request was sent on this connection; `sink`: it is a stream (SSE, WebSocket).
  void start(bool head_request, CarryBuffer& carry, StreamSink* sink = nullptr) noexcept;

  // Bytes from the connection. `headers` is scratch for the head parser (per shard).
  // Bytes beyond the end of the response are an error (one request is in flight), unless
  // `rest` is given (pipelining: the next responses): then a complete response leaves them
  // there, unread, for the next exchange; otherwise *rest is left empty.
  ExchangeEvent on_data(std::span<const char> in, CarryBuffer& carry, std::span<proto::Header> headers,
                        ResponseTap* tap = nullptr, std::span<const char>* rest = nullptr) noexcept;

  // The server closed the connection.
  ExchangeEvent on_eof() noexcept;

  bool received_any() const noexcept { return received_any_; }
  int status() const noexcept { return head_.status; }
  // The final head's status once it arrived whole; 0 before (or when it failed).
  int final_status() const noexcept { return head_done_ ? head_.status : 0; }
  bool keep_alive() const noexcept { return head_.keep_alive; }
  ExchangeState state() const noexcept { return state_; }
  bool streaming() const noexcept { return streaming_; }  // the sink took the stream

 private:
  ExchangeEvent feed_head(std::span<const char>& in, CarryBuffer& carry,
                          std::span<proto::Header> headers, ResponseTap* tap) noexcept;
  ExchangeEvent completed(std::span<const char> in, std::span<const char>* rest) noexcept;
  ExchangeEvent stop() noexcept;

  proto::ResponseHead head_;
  proto::BodyDecoder body_;
  uint32_t scanned_ = 0;  // bytes of the carried head already scanned (last_len)
  ExchangeState state_ = ExchangeState::complete;
  bool head_request_ = false;
  bool received_any_ = false;
  bool streaming_ = false;
  bool head_done_ = false;  // the final head arrived
  StreamSink* sink_ = nullptr;
};

}  // namespace ringload
