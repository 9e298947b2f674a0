// Server-sent events parser: WHATWG HTML § 9.2.6 "Interpreting an event stream" (the
// line rules and "dispatch the event"; grammar in § 9.2.5). It runs over decoded body
// bytes (after BodyDecoder), fed in pieces of any size, split at any byte. Bytes are not
// UTF-8-decoded: invalid sequences pass through as they came (a browser would replace
// them with U+FFFD).
//
// Zero-copy except where it cannot be: a line that lies whole inside one input is read
// in place, and an event whose single `data` line (and `event` line) arrived in the same
// input as its blank line is handed out as views of that input. The parser copies only
// what must outlive the input: data joined from several lines, a line split across
// inputs (streamed straight into the buffer of its field, never copied twice), anything
// pending when an input ends, and the last event ID (it persists across events).
// Comments and unknown fields are skipped without being stored, whatever their length.
//
// Memory: buffers grow on demand (doubling, capped at the limit) and are kept for reuse
// across events and streams. No I/O, no clock, no exceptions; out of memory is reported
// like an over-long event.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "proto/status.hpp"

namespace ringload::proto {

namespace limits {
// Default cap of each buffer an SseParser keeps: one event's data buffer (each `data`
// value plus one LF, as WHATWG builds it), its event type, an event ID.
inline constexpr std::size_t max_sse_event_bytes = 16 * 1024 * 1024;
}  // namespace limits

// One dispatched event. The views point into the input of the feed() call that returned
// it or into the parser's buffers; either way they are valid until the next call of
// feed(), finish() or reset() on that parser (or its destruction), and the input must
// stay untouched until then.
struct SseEvent {
  std::string_view type;   // the last `event` field's value; empty: none given ("message")
  std::string_view data;   // the `data` values joined with LF (final LF removed); may be ""
  std::string_view id;     // last event ID in force: persists across events; "" when none
  uint32_t retry_ms = 0;   // this event's `retry` value (ms), valid when has_retry
  bool has_id = false;     // this event's own lines set `id` (else `id` is inherited)
  bool has_retry = false;  // this event's own lines held a valid `retry` field
};

struct SseResult {
  Status status = Status::need_more;
  std::size_t consumed = 0;  // bytes of the input used by this call
  ParseError error = ParseError::none;
};

class SseParser {
 public:
  // `max_event_bytes` caps each buffer (see limits::max_sse_event_bytes); nothing is
  // allocated until an event needs it.
  explicit SseParser(std::size_t max_event_bytes = limits::max_sse_event_bytes) noexcept
      : max_(max_event_bytes) {}

  // A new stream from a new source: everything cleared, including the last event ID, the
  // reconnection time and the counters. Buffers are kept for reuse.
  void reset() noexcept;

  // Feeds the next body bytes. The caller loops:
  //   while (!in.empty()) { r = p.feed(in, ev); in = in.subspan(r.consumed);
  //                         if (r.status == Status::done) use(ev); else break; }
  // done: an event was dispatched by the line end at `consumed - 1` (the blank line);
  //   `event` is filled; the rest of `in` is still to be fed. consumed > 0.
  // need_more: every byte was consumed (consumed == in.size()); feed the next bytes.
  // error: sse_event_too_large: the byte at `consumed` would take a buffer over the limit
  //   (a value byte, or for `data` its colon or line end, where the LF WHATWG appends
  //   is counted), or memory ran out. The same byte whatever the split. Later calls
  //   repeat the error, consuming nothing, until finish() or reset().
  // `event` is written only on done. Blank lines with no data before them dispatch
  // nothing (WHATWG) and are consumed like any other line.
  SseResult feed(std::span<const char> in, SseEvent& event) noexcept;

  // The stream ended (the body ended or the peer closed). WHATWG: pending data is
  // discarded, an incomplete event is never dispatched; an `id` read since the last
  // blank line does not take effect. Returns true when an event was cut off: at least
  // one `data` field name was read after the last blank line (false after an error,
  // which was reported already). The parser is then ready
  // for the reconnected stream of the same source: BOM expected again, error cleared,
  // last_event_id() and retry_ms() kept (they belong to the source, not the stream).
  bool finish() noexcept;

  // The source's last event ID, set at each blank line from the `id` fields before it:
  // the value for a Last-Event-ID header on reconnection. Valid like SseEvent's views.
  std::string_view last_event_id() const noexcept { return id_.view(); }
  // The reconnection time the server last set with `retry`, if it did.
  std::optional<uint32_t> retry_ms() const noexcept {
    return has_reconnect_ ? std::optional<uint32_t>(reconnect_ms_) : std::nullopt;
  }
  uint64_t events() const noexcept { return events_; }      // events dispatched
  uint64_t comments() const noexcept { return comments_; }  // complete ':' lines
  std::size_t max_event_bytes() const noexcept { return max_; }

 private:
  // A growable byte buffer without exceptions. clear() keeps the bytes: a view handed
  // out stays readable until the next append() or swap().
  class Buffer {
   public:
    std::string_view view() const noexcept { return {bytes_.get(), size_}; }
    std::size_t size() const noexcept { return size_; }
    void clear() noexcept { size_ = 0; }
    // false: the result would exceed `cap`, or no memory.
    bool append(std::string_view s, std::size_t cap) noexcept;
    void swap(Buffer& other) noexcept;

   private:
    std::unique_ptr<char[]> bytes_;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
  };

  // bom: before the first line, matching EF BB BF. after_cr: a CR ended the previous line
  // (an LF right after it belongs to it). value_start: after the colon (one space is
  // dropped). value: the rest of the line.
  enum class State : uint8_t { bom, line_start, after_cr, field_name, value_start, value, error };
  enum class Field : uint8_t { other, comment, data, event, id, retry };

  void start_stream() noexcept;  // reset() and finish(): the per-stream state
  static Field field_from_name(std::string_view name) noexcept;  // a name longer than 5: other
  bool start_field() noexcept;
  std::size_t value_room() const noexcept;
  bool append_value(std::string_view v, bool whole_line) noexcept;
  void end_value() noexcept;
  bool dispatch(SseEvent& event) noexcept;
  void clear_event() noexcept;
  bool own_pending() noexcept;

  std::size_t max_;
  State state_ = State::bom;
  Field field_ = Field::other;
  ParseError error_ = ParseError::none;
  uint8_t bom_matched_ = 0;    // BOM bytes seen so far at the start of the stream
  uint8_t name_len_ = 0;       // field name bytes seen, saturating past the longest known
  char name_[5] = {};          // the first bytes of the field name
  bool value_nul_ = false;     // the current `id` value holds a NUL (WHATWG: ignored)
  bool retry_ok_ = false;      // the current `retry` value is digits only, so far
  std::size_t value_len_ = 0;  // bytes of the current value so far
  uint64_t retry_value_ = 0;   // the current `retry` value, saturated at UINT32_MAX

  // The event being built. The data buffer is either one line in place in the current
  // input (data_view_) or data_ (joined, without the final LF); the same for the type.
  Buffer data_;
  Buffer type_;
  std::string_view data_view_;
  std::string_view type_view_;
  bool data_in_place_ = false;
  bool type_in_place_ = false;
  std::size_t data_lines_ = 0; // `data` fields in this event (each counts in data_bytes_)
  std::size_t data_bytes_ = 0; // WHATWG's data buffer size: values plus one LF each
  bool event_has_id_ = false;
  bool event_has_retry_ = false;
  uint32_t event_retry_ms_ = 0;

  // Event IDs: line_ collects an `id` value split across inputs, id_pending_ holds the
  // last valid `id` since the blank line (when id_dirty_), id_ the one in force.
  Buffer line_;
  Buffer id_pending_;
  Buffer id_;
  bool id_dirty_ = false;

  bool has_reconnect_ = false;
  uint32_t reconnect_ms_ = 0;
  uint64_t events_ = 0;
  uint64_t comments_ = 0;
};

}  // namespace ringload::proto
