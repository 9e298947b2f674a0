// The run's requests as HTTP/2 header lists (RFC 9113 §8.3): per request line, the
// pseudo-headers (:method, :scheme, :authority, :path) and its own headers lower-cased,
// the connection-specific ones dropped (§8.2.2), the origin's defaults it did not set.
// Built once per shard before the run from the rendered HTTP/1.1 heads, so a stream's
// HEADERS need no parsing or copying: libnghttp2 takes the arrays with NO_COPY flags.
#pragma once
#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/requests/request.hpp"
#include "engine/requests/request_table.hpp"

namespace ringload {

// Why a request cannot run with `mode` ("" : it can): a stream (SSE, WebSocket), or a
// scheme the mode is not for. Fields in braces, as ConfigError words them.
std::string http2_refusal(Http2Mode mode, Scheme scheme, bool stream);

class H2Requests {
 public:
  // Returns an error text ("" on success).
  std::string setup(const RequestTable& table, std::span<const Origin> origins) noexcept;
  std::span<const nghttp2_nv> headers(uint32_t line) const noexcept {
    return {nv_.data() + at_[line].first, at_[line].second};
  }
  bool empty() const noexcept { return at_.empty(); }
  std::size_t bytes() const noexcept {
    return arena_.capacity() + nv_.capacity() * sizeof(nghttp2_nv) + at_.capacity() * sizeof(at_[0]);
  }

 private:
  void add(const RequestTable& table, const RequestLine& line, const Origin& origin);
  void field(std::string_view name, std::string_view value, bool lower);

  std::string arena_;                                  // names and values
  std::vector<nghttp2_nv> nv_;                         // pointers into arena_ (set at the end)
  std::vector<std::pair<std::size_t, std::size_t>> spans_;  // per nv_: name, value offsets
  std::vector<std::pair<uint32_t, uint32_t>> at_;      // per line: first nv_, count
};

// A request head a plugin may have changed (the HTTP/1.1 form RequestHead edits) as an
// HTTP/2 header list, the way H2Requests builds the table's: Host becomes :authority,
// connection-specific fields go, names are lower-cased. Built per request into buffers
// made once at setup; the fields carry no NO_COPY flags, so nghttp2_submit_request copies
// them before the next request reuses the buffers.
class H2HeadList {
 public:
  // For heads of up to `head_capacity` bytes. Returns an error text ("" on success).
  std::string setup(std::size_t head_capacity) noexcept;
  // `head` parses (RequestHead keeps it well-formed); `authority`: without a Host field.
  std::span<const nghttp2_nv> convert(std::string_view head, bool tls, std::string_view authority) noexcept;
  std::size_t bytes() const noexcept { return cap_ + max_fields_ * sizeof(nghttp2_nv); }

 private:
  void add(std::string_view name, std::string_view value) noexcept;

  std::unique_ptr<char[]> names_;  // the fields' names, lower-cased
  std::unique_ptr<nghttp2_nv[]> nv_;
  std::size_t cap_ = 0, max_fields_ = 0, used_ = 0, count_ = 0;
};

}  // namespace ringload
