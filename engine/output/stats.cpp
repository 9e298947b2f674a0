#include "ringload/stats.hpp"

#include <algorithm>

namespace ringload {

const char* to_string(ErrorKind k) noexcept {
  switch (k) {
    case ErrorKind::connect: return "connect";
    case ErrorKind::read: return "read";
    case ErrorKind::write: return "write";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::protocol: return "protocol";
    case ErrorKind::tls: return "tls";
    case ErrorKind::plugin: return "plugin";
    case ErrorKind::count_: break;
  }
  return "unknown";
}

void Counters::merge(const Counters& o) noexcept {
  requests += o.requests;
  succeeded += o.succeeded;
  failed += o.failed;
  for (std::size_t i = 0; i < status.size(); ++i) status[i] += o.status[i];
  for (std::size_t i = 0; i < errors.size(); ++i) errors[i] += o.errors[i];
  bytes_in += o.bytes_in;
  bytes_out += o.bytes_out;
  connects += o.connects;
  closes_by_server += o.closes_by_server;
  stale_completions += o.stale_completions;
  waited_for_connection += o.waited_for_connection;
  spun_sends += o.spun_sends;
  closes_by_client += o.closes_by_client;
  tls_handshakes += o.tls_handshakes;
  tls_resumed += o.tls_resumed;
  skipped += o.skipped;
  pipeline_unanswered += o.pipeline_unanswered;
}

namespace {

// `older` is an earlier snapshot of the same counters, so each field only grew; a
// snapshot read while its owner was writing may still be a little ahead: saturate.
uint64_t minus(uint64_t now, uint64_t before) noexcept { return now > before ? now - before : 0; }

}  // namespace

void Counters::subtract(const Counters& older) noexcept {
  requests = minus(requests, older.requests);
  succeeded = minus(succeeded, older.succeeded);
  failed = minus(failed, older.failed);
  for (std::size_t i = 0; i < status.size(); ++i) status[i] = minus(status[i], older.status[i]);
  for (std::size_t i = 0; i < errors.size(); ++i) errors[i] = minus(errors[i], older.errors[i]);
  bytes_in = minus(bytes_in, older.bytes_in);
  bytes_out = minus(bytes_out, older.bytes_out);
  connects = minus(connects, older.connects);
  closes_by_server = minus(closes_by_server, older.closes_by_server);
  stale_completions = minus(stale_completions, older.stale_completions);
  waited_for_connection = minus(waited_for_connection, older.waited_for_connection);
  spun_sends = minus(spun_sends, older.spun_sends);
  closes_by_client = minus(closes_by_client, older.closes_by_client);
  tls_handshakes = minus(tls_handshakes, older.tls_handshakes);
  tls_resumed = minus(tls_resumed, older.tls_resumed);
  skipped = minus(skipped, older.skipped);
  pipeline_unanswered = minus(pipeline_unanswered, older.pipeline_unanswered);
}

const char* to_string(StreamEnd e) noexcept {
  switch (e) {
    case StreamEnd::server: return "server";
    case StreamEnd::max_events: return "max_events";
    case StreamEnd::until: return "until";
    case StreamEnd::stream_timeout: return "stream_timeout";
    case StreamEnd::expect: return "expect";
    case StreamEnd::idle_timeout: return "idle_timeout";
    case StreamEnd::error: return "error";
    case StreamEnd::run_end: return "run_end";
    case StreamEnd::count_: break;
  }
  return "unknown";
}

void CloseCodes::add(uint16_t code, uint64_t n) noexcept {
  if (n == 0) return;
  if (code >= 1000 && code < 1016) {
    standard[code - 1000] += n;
    return;
  }
  for (auto& [c, count] : other) {
    if (c == code || c == 0) {
      c = code;
      count += n;
      return;
    }
  }
  overflow += n;
}

void CloseCodes::merge(const CloseCodes& o) noexcept {
  for (std::size_t i = 0; i < standard.size(); ++i) standard[i] += o.standard[i];
  for (const auto& [c, count] : o.other)
    if (c != 0) add(c, count);
  overflow += o.overflow;
}

void StreamCounters::merge(const StreamCounters& o) noexcept {
  sse_streams += o.sse_streams;
  sse_events += o.sse_events;
  sse_bytes += o.sse_bytes;
  sse_comments += o.sse_comments;
  for (std::size_t i = 0; i < sse_end.size(); ++i) sse_end[i] += o.sse_end[i];
  ws_sessions += o.ws_sessions;
  ws_sent += o.ws_sent;
  ws_received += o.ws_received;
  ws_bytes_sent += o.ws_bytes_sent;
  ws_bytes_received += o.ws_bytes_received;
  ws_pings += o.ws_pings;
  ws_pongs_sent += o.ws_pongs_sent;
  ws_pongs_received += o.ws_pongs_received;
  for (std::size_t i = 0; i < ws_closed_by.size(); ++i) ws_closed_by[i] += o.ws_closed_by[i];
  for (std::size_t i = 0; i < ws_end.size(); ++i) ws_end[i] += o.ws_end[i];
  close_codes.merge(o.close_codes);
}

void Http2Counters::merge(const Http2Counters& o) noexcept {
  connections += o.connections;
  alpn_fallbacks += o.alpn_fallbacks;
  streams += o.streams;
  max_concurrent = std::max(max_concurrent, o.max_concurrent);
  settings_frames += o.settings_frames;
  max_concurrent_streams = std::max(max_concurrent_streams, o.max_concurrent_streams);
  initial_window_size = std::max(initial_window_size, o.initial_window_size);
  max_frame_size = std::max(max_frame_size, o.max_frame_size);
  header_table_size = std::max(header_table_size, o.header_table_size);
  max_header_list_size = std::max(max_header_list_size, o.max_header_list_size);
  goaways += o.goaways;
  goaway_unprocessed += o.goaway_unprocessed;
  goaway_retried += o.goaway_retried;
  refused_retried += o.refused_retried;
  for (std::size_t i = 0; i < rst_received.size(); ++i) rst_received[i] += o.rst_received[i];
  rst_other += o.rst_other;
  rst_sent += o.rst_sent;
  flow_control_stalls += o.flow_control_stalls;
  header_block_bytes += o.header_block_bytes;
  header_decoded_bytes += o.header_decoded_bytes;
}

// Windows: the counts' differences; maxima and SETTINGS values stay as seen so far.
void Http2Counters::subtract(const Http2Counters& older) noexcept {
  connections = minus(connections, older.connections);
  alpn_fallbacks = minus(alpn_fallbacks, older.alpn_fallbacks);
  streams = minus(streams, older.streams);
  settings_frames = minus(settings_frames, older.settings_frames);
  goaways = minus(goaways, older.goaways);
  goaway_unprocessed = minus(goaway_unprocessed, older.goaway_unprocessed);
  goaway_retried = minus(goaway_retried, older.goaway_retried);
  refused_retried = minus(refused_retried, older.refused_retried);
  for (std::size_t i = 0; i < rst_received.size(); ++i) rst_received[i] = minus(rst_received[i], older.rst_received[i]);
  rst_other = minus(rst_other, older.rst_other);
  rst_sent = minus(rst_sent, older.rst_sent);
  flow_control_stalls = minus(flow_control_stalls, older.flow_control_stalls);
  header_block_bytes = minus(header_block_bytes, older.header_block_bytes);
  header_decoded_bytes = minus(header_decoded_bytes, older.header_decoded_bytes);
}

void Stats::merge(const Stats& o) noexcept {
  counters.merge(o.counters);
  http2.merge(o.http2);
  streams.merge(o.streams);
  sse_ttfe.merge(o.sse_ttfe);
  sse_gap.merge(o.sse_gap);
  sse_duration.merge(o.sse_duration);
  ws_handshake.merge(o.ws_handshake);
  ws_rtt.merge(o.ws_rtt);
  latency.merge(o.latency);
  service.merge(o.service);
  ttfb.merge(o.ttfb);
  send_lag.merge(o.send_lag);
  tls_handshake.merge(o.tls_handshake);
  error_latency.merge(o.error_latency);
}

void CloseCodes::subtract(const CloseCodes& older) noexcept {
  for (std::size_t i = 0; i < standard.size(); ++i) standard[i] = minus(standard[i], older.standard[i]);
  for (auto& [c, count] : other) {
    for (const auto& [oc, ocount] : older.other)
      if (oc == c && c != 0) count = minus(count, ocount);
  }
  overflow = minus(overflow, older.overflow);
}

void StreamCounters::subtract(const StreamCounters& older) noexcept {
  sse_streams = minus(sse_streams, older.sse_streams);
  sse_events = minus(sse_events, older.sse_events);
  sse_bytes = minus(sse_bytes, older.sse_bytes);
  sse_comments = minus(sse_comments, older.sse_comments);
  for (std::size_t i = 0; i < sse_end.size(); ++i) sse_end[i] = minus(sse_end[i], older.sse_end[i]);
  ws_sessions = minus(ws_sessions, older.ws_sessions);
  ws_sent = minus(ws_sent, older.ws_sent);
  ws_received = minus(ws_received, older.ws_received);
  ws_bytes_sent = minus(ws_bytes_sent, older.ws_bytes_sent);
  ws_bytes_received = minus(ws_bytes_received, older.ws_bytes_received);
  ws_pings = minus(ws_pings, older.ws_pings);
  ws_pongs_sent = minus(ws_pongs_sent, older.ws_pongs_sent);
  ws_pongs_received = minus(ws_pongs_received, older.ws_pongs_received);
  for (std::size_t i = 0; i < ws_closed_by.size(); ++i) ws_closed_by[i] = minus(ws_closed_by[i], older.ws_closed_by[i]);
  for (std::size_t i = 0; i < ws_end.size(); ++i) ws_end[i] = minus(ws_end[i], older.ws_end[i]);
  close_codes.subtract(older.close_codes);
}

void Stats::subtract(const Stats& older) noexcept {
  counters.subtract(older.counters);
  http2.subtract(older.http2);
  streams.subtract(older.streams);
  sse_ttfe.subtract(older.sse_ttfe);
  sse_gap.subtract(older.sse_gap);
  sse_duration.subtract(older.sse_duration);
  ws_handshake.subtract(older.ws_handshake);
  ws_rtt.subtract(older.ws_rtt);
  latency.subtract(older.latency);
  service.subtract(older.service);
  ttfb.subtract(older.ttfb);
  send_lag.subtract(older.send_lag);
  tls_handshake.subtract(older.tls_handshake);
  error_latency.subtract(older.error_latency);
}

}  // namespace ringload
