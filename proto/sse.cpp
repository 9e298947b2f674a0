// SSE parser. Bytes are classified one state at a time, but a value is found with one
// scan to its line end and handed on as a whole run, so long data lines cost a scan and
// at most one copy.
#include "proto/sse.hpp"

#include <cstring>
#include <new>
#include <utility>

namespace ringload::proto {
namespace {

constexpr char bom[3] = {'\xEF', '\xBB', '\xBF'};

bool is_line_end(char c) noexcept { return c == '\r' || c == '\n'; }

}  // namespace

bool SseParser::Buffer::append(std::string_view s, std::size_t cap) noexcept {
  if (size_ > cap || s.size() > cap - size_) return false;
  const std::size_t need = size_ + s.size();
  if (need > capacity_) {
    // Doubling keeps a line split into many small inputs linear; the cap bounds it.
    std::size_t grown = capacity_ < 64 ? 64 : (capacity_ > cap / 2 ? cap : capacity_ * 2);
    if (grown > cap) grown = cap;
    if (grown < need) grown = need;
    char* bytes = new (std::nothrow) char[grown];
    if (bytes == nullptr) return false;
    if (size_ != 0) std::memcpy(bytes, bytes_.get(), size_);
    bytes_.reset(bytes);
    capacity_ = grown;
  }
  if (!s.empty()) std::memcpy(bytes_.get() + size_, s.data(), s.size());
  size_ = need;
  return true;
}

void SseParser::Buffer::swap(Buffer& other) noexcept {
  bytes_.swap(other.bytes_);
  std::swap(size_, other.size_);
  std::swap(capacity_, other.capacity_);
}

void SseParser::start_stream() noexcept {
  state_ = State::bom;
  field_ = Field::other;
  error_ = ParseError::none;
  bom_matched_ = 0;
  name_len_ = 0;
  value_nul_ = false;
  retry_ok_ = false;
  value_len_ = 0;
  retry_value_ = 0;
  clear_event();
  line_.clear();
  id_pending_.clear();
  id_dirty_ = false;
}

void SseParser::reset() noexcept {
  start_stream();
  id_.clear();
  has_reconnect_ = false;
  reconnect_ms_ = 0;
  events_ = 0;
  comments_ = 0;
}

bool SseParser::finish() noexcept {
  const bool cut_off = state_ != State::error && data_lines_ != 0;
  start_stream();
  return cut_off;
}

// Buffers are cleared, not released: the views of the event just dispatched stay
// readable until the next call (Buffer::clear keeps the bytes).
void SseParser::clear_event() noexcept {
  data_.clear();
  type_.clear();
  data_view_ = {};
  type_view_ = {};
  data_in_place_ = false;
  type_in_place_ = false;
  data_lines_ = 0;
  data_bytes_ = 0;
  event_has_id_ = false;
  event_has_retry_ = false;
  event_retry_ms_ = 0;
}

// WHATWG: field names are compared case-sensitively; any other name is ignored.
SseParser::Field SseParser::field_from_name(std::string_view name) noexcept {
  // By length first: this runs for every line of a stream.
  switch (name.size()) {
    case 2:
      return name == "id" ? Field::id : Field::other;
    case 4:
      return name == "data" ? Field::data : Field::other;
    case 5:
      if (name == "event") return Field::event;
      return name == "retry" ? Field::retry : Field::other;
    default:
      return Field::other;
  }
}

// In-place views die with the input: copy them before returning need_more, or before a
// second data line has to be joined to the first.
bool SseParser::own_pending() noexcept {
  if (data_in_place_) {
    if (!data_.append(data_view_, max_)) return false;
    data_in_place_ = false;
  }
  if (type_in_place_) {
    if (!type_.append(type_view_, max_)) return false;
    type_in_place_ = false;
  }
  return true;
}

bool SseParser::start_field() noexcept {
  value_len_ = 0;
  switch (field_) {
    case Field::data:
      // WHATWG appends the value then an LF. The LF is counted here, at the colon or the
      // line end, so the limit falls on the same byte however the input is split.
      if (data_bytes_ >= max_) return false;
      if (data_lines_ != 0 && (!own_pending() || !data_.append("\n", max_))) return false;
      ++data_lines_;
      ++data_bytes_;
      return true;
    case Field::event:
      type_.clear();
      type_in_place_ = false;
      return true;
    case Field::id:
      line_.clear();
      value_nul_ = false;
      return true;
    case Field::retry:
      retry_value_ = 0;
      retry_ok_ = true;
      return true;
    case Field::comment:
    case Field::other:
      return true;
  }
  return true;
}

std::size_t SseParser::value_room() const noexcept {
  switch (field_) {
    case Field::data: return max_ - data_bytes_;
    case Field::event:
    case Field::id: return max_ - value_len_;
    case Field::comment:
    case Field::other: break;
    case Field::retry: break;  // nothing stored
  }
  return SIZE_MAX;
}

// `v` is the next run of the current value; `whole_line`: it is all of the value and its
// line ends in this input, so it may be kept in place.
bool SseParser::append_value(std::string_view v, bool whole_line) noexcept {
  switch (field_) {
    case Field::data:
      if (whole_line && data_lines_ == 1) {
        data_view_ = v;
        data_in_place_ = true;
      } else if (!data_.append(v, max_)) {
        return false;
      }
      data_bytes_ += v.size();
      break;
    case Field::event:
      if (whole_line) {
        type_view_ = v;
        type_in_place_ = true;
      } else if (!type_.append(v, max_)) {
        return false;
      }
      break;
    case Field::id:
      // WHATWG: an id holding U+0000 NULL is ignored; its bytes need not be kept.
      if (!v.empty() && std::memchr(v.data(), '\0', v.size()) != nullptr) value_nul_ = true;
      if (!value_nul_ && !line_.append(v, max_)) return false;
      break;
    case Field::retry:
      // WHATWG: digits only, else the field is ignored. Saturates: 49 days is "never".
      for (const char c : v) {
        if (!retry_ok_) break;
        if (c < '0' || c > '9') {
          retry_ok_ = false;
        } else {
          retry_value_ = retry_value_ * 10 + static_cast<uint64_t>(c - '0');
          if (retry_value_ > UINT32_MAX) retry_value_ = UINT32_MAX;
        }
      }
      break;
    case Field::comment:
    case Field::other:
      break;
  }
  value_len_ += v.size();
  return true;
}

void SseParser::end_value() noexcept {
  switch (field_) {
    case Field::comment:
      ++comments_;
      break;
    case Field::id:
      if (!value_nul_) {
        id_pending_.swap(line_);
        id_dirty_ = true;
        event_has_id_ = true;
      }
      break;
    case Field::retry:
      // An empty value is not a number: ignored, as browsers do.
      if (retry_ok_ && value_len_ != 0) {
        reconnect_ms_ = event_retry_ms_ = static_cast<uint32_t>(retry_value_);
        has_reconnect_ = event_has_retry_ = true;
      }
      break;
    case Field::data:
    case Field::event:
    case Field::other:
      break;
  }
}

bool SseParser::dispatch(SseEvent& event) noexcept {
  // WHATWG "dispatch the event", step 1: the last event ID string takes the buffer's
  // value at every blank line, even when no event follows.
  if (id_dirty_) {
    id_.swap(id_pending_);
    id_dirty_ = false;
  }
  // Step 2: an empty data buffer (no data field) dispatches nothing.
  const bool fire = data_lines_ != 0;
  if (fire) {
    event.type = type_in_place_ ? type_view_ : type_.view();
    event.data = data_in_place_ ? data_view_ : data_.view();  // step 3: no final LF stored
    event.id = id_.view();
    event.has_id = event_has_id_;
    event.has_retry = event_has_retry_;
    event.retry_ms = event_retry_ms_;
    ++events_;
  }
  clear_event();
  return fire;
}

SseResult SseParser::feed(std::span<const char> in, SseEvent& event) noexcept {
  SseResult r;
  const char* const begin = in.data();
  const char* const end = begin + in.size();
  const char* p = begin;
  auto fail = [&](ParseError e) noexcept {
    state_ = State::error;
    error_ = e;
    r.status = Status::error;
    r.error = e;
    r.consumed = static_cast<std::size_t>(p - begin);
    return r;
  };

  if (state_ == State::error) return fail(error_);
  while (p != end) {
    switch (state_) {
      case State::error:
        break;  // not reached: checked above, and every failure returns
      case State::bom:
        // WHATWG: UTF-8 decode strips one leading BOM. A partial match is the start of
        // the first line's field name (no BOM byte is ':', CR or LF).
        if (*p == bom[bom_matched_]) {
          ++p;
          if (++bom_matched_ == sizeof bom) state_ = State::line_start;
          break;
        }
        std::memcpy(name_, bom, bom_matched_);
        name_len_ = bom_matched_;
        state_ = bom_matched_ == 0 ? State::line_start : State::field_name;
        break;
      case State::after_cr:
        // "CRLF, LF or CR": an LF right after a CR is part of the same line end.
        if (*p == '\n') ++p;
        state_ = State::line_start;
        break;
      case State::line_start:
        if (is_line_end(*p)) {  // a blank line: dispatch
          state_ = *p == '\r' ? State::after_cr : State::line_start;
          ++p;
          if (dispatch(event)) {
            r.status = Status::done;
            r.consumed = static_cast<std::size_t>(p - begin);
            return r;
          }
          break;
        }
        if (*p == ':') {  // a comment: the rest of the line is skipped
          ++p;
          field_ = Field::comment;
          value_len_ = 0;
          state_ = State::value;
          break;
        }
        name_len_ = 0;
        state_ = State::field_name;
        [[fallthrough]];
      case State::field_name: {
        const char* const start = p;
        while (p != end && *p != ':' && !is_line_end(*p)) ++p;
        // A name wholly in this input is read in place (the common case); the bytes of a
        // name split across inputs are kept in name_.
        const bool in_place = name_len_ == 0 && p != end;
        if (!in_place) {
          for (const char* q = start; q != p && name_len_ <= sizeof name_; ++q) {
            if (name_len_ < sizeof name_) name_[name_len_] = *q;
            ++name_len_;  // past the longest known name: other
          }
        }
        if (p == end) break;
        field_ = in_place ? field_from_name({start, static_cast<std::size_t>(p - start)})
                 : name_len_ > sizeof name_ ? Field::other
                                            : field_from_name({name_, name_len_});
        if (!start_field()) return fail(ParseError::sse_event_too_large);
        // No colon: the whole line is the name and the value is empty (WHATWG).
        if (*p != ':') {
          state_ = State::value;
          break;
        }
        ++p;
        state_ = State::value_start;
        break;
      }
      case State::value_start:
        if (*p == ' ') ++p;  // WHATWG: one leading space is removed, no more
        state_ = State::value;
        break;
      case State::value: {
        // The line's end: the first LF or CR, whichever comes first (memchr scans 16+
        // bytes a step; a value is usually most of a stream's bytes).
        const char* q = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        if (q == nullptr) q = end;
        if (const void* cr = std::memchr(p, '\r', static_cast<std::size_t>(q - p))) q = static_cast<const char*>(cr);
        const std::size_t room = value_room();
        if (static_cast<std::size_t>(q - p) > room) {
          p += room;
          return fail(ParseError::sse_event_too_large);
        }
        const bool line_ends = q != end;
        if (!append_value(std::string_view(p, static_cast<std::size_t>(q - p)),
                          line_ends && value_len_ == 0)) {
          return fail(ParseError::sse_event_too_large);  // out of memory
        }
        p = q;
        if (!line_ends) break;
        end_value();
        state_ = *p == '\r' ? State::after_cr : State::line_start;
        ++p;
        break;
      }
    }
  }
  if (!own_pending()) return fail(ParseError::sse_event_too_large);  // out of memory
  r.consumed = in.size();
  return r;
}

}  // namespace ringload::proto
