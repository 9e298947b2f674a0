#include "ringload/stats.hpp"

namespace ringload {

const char* to_string(ErrorKind k) noexcept {
  switch (k) {
    case ErrorKind::connect: return "connect";
    case ErrorKind::read: return "read";
    case ErrorKind::write: return "write";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::protocol: return "protocol";
    case ErrorKind::tls: return "tls";
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
  closes_by_client += o.closes_by_client;
  tls_handshakes += o.tls_handshakes;
  tls_resumed += o.tls_resumed;
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
  closes_by_client = minus(closes_by_client, older.closes_by_client);
  tls_handshakes = minus(tls_handshakes, older.tls_handshakes);
  tls_resumed = minus(tls_resumed, older.tls_resumed);
}

void Stats::merge(const Stats& o) noexcept {
  counters.merge(o.counters);
  latency.merge(o.latency);
  service.merge(o.service);
  ttfb.merge(o.ttfb);
  send_lag.merge(o.send_lag);
  tls_handshake.merge(o.tls_handshake);
}

void Stats::subtract(const Stats& older) noexcept {
  counters.subtract(older.counters);
  latency.subtract(older.latency);
  service.subtract(older.service);
  ttfb.subtract(older.ttfb);
  send_lag.subtract(older.send_lag);
  tls_handshake.subtract(older.tls_handshake);
}

}  // namespace ringload
