// Which stream setting applies to which protocol: the one rule that the request file's
// keys and the CLI's stream flags both follow. A setting given for a protocol it does not
// apply to is refused, since it would be silently ignored.
#pragma once
#include <cstdint>
#include <string_view>

#include "ringload/requests.hpp"

namespace ringload {

// The streams a setting applies to.
enum class StreamScope : uint8_t { sse, ws, either };

struct StreamKey {
  std::string_view key;  // the request file's key (a front end maps it to its own name)
  StreamScope scope;
};

// Every StreamSpec setting a request line or the CLI can give, in the order the request
// file reports them (the first offending key of a line is the one named).
inline constexpr StreamKey stream_keys[] = {
    {"max_events", StreamScope::sse},        // StreamSpec::max_events
    {"stream_timeout", StreamScope::either}, // stream_timeout_ns
    {"repeat", StreamScope::ws},             // repeat
    {"until", StreamScope::either},          // has_until, until
    {"messages", StreamScope::ws},           // messages
    {"expect", StreamScope::ws},             // has_expect, expect
    {"idle_timeout", StreamScope::ws},       // idle_timeout_ns
    {"subprotocols", StreamScope::ws},       // subprotocols
    {"interval", StreamScope::ws},           // interval_ns
};

constexpr bool applies_to(StreamScope scope, StreamProto proto) noexcept {
  return scope == StreamScope::either || (scope == StreamScope::sse) == (proto == StreamProto::sse);
}

// The entry of `key` in stream_keys; null for any other name.
constexpr const StreamKey* find_stream_key(std::string_view key) noexcept {
  for (const StreamKey& k : stream_keys)
    if (k.key == key) return &k;
  return nullptr;
}

}  // namespace ringload
