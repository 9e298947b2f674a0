#include "proto/status.hpp"

namespace ringload::proto {

const char* to_string(ParseError e) noexcept {
  switch (e) {
    case ParseError::none: return "none";
    case ParseError::bad_version: return "bad HTTP version";
    case ParseError::bad_status: return "bad status code";
    case ParseError::bad_reason: return "bad reason phrase";
    case ParseError::bad_header_name: return "bad header name";
    case ParseError::bad_header_value: return "bad header value";
    case ParseError::header_too_large: return "response head too large";
    case ParseError::too_many_headers: return "too many headers";
    case ParseError::bad_content_length: return "bad Content-Length";
    case ParseError::bad_transfer_encoding: return "bad Transfer-Encoding";
    case ParseError::bad_chunk_size: return "bad chunk size";
    case ParseError::bad_chunk_extension: return "bad chunk extension";
    case ParseError::bad_chunk_data_end: return "chunk data not followed by CRLF";
    case ParseError::trailer_too_large: return "trailer section too large";
    case ParseError::bad_trailer: return "bad trailer field";
    case ParseError::unexpected_eof: return "connection closed before the message ended";
  }
  return "unknown parse error";
}

}  // namespace ringload::proto
