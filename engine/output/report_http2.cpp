#include "engine/output/report_http2.hpp"

#include <nlohmann/json.hpp>

#include "engine/requests/request.hpp"

namespace ringload {

using nlohmann::json;

namespace {

// RFC 9113 §7, in code order.
constexpr const char* error_codes[] = {
    "no_error",       "protocol_error",  "internal_error",    "flow_control_error", "settings_timeout",
    "stream_closed",  "frame_size_error", "refused_stream",   "cancel",             "compression_error",
    "connect_error",  "enhance_your_calm", "inadequate_security", "http_1_1_required",
};
static_assert(std::size(error_codes) == std::tuple_size_v<decltype(Http2Counters::rst_received)>);

json value_or_null(uint64_t v) { return v != 0 ? json(v) : json(nullptr); }

}  // namespace

json http2_json(const RunConfig& config, const RunResult& result) {
  if (!run_speaks_http2(config)) return nullptr;
  const Http2Counters& k = result.stats.http2;
  json rst = json::object();
  for (std::size_t i = 0; i < std::size(error_codes); ++i) rst[error_codes[i]] = k.rst_received[i];
  rst["other"] = k.rst_other;
  return {
      {"connections", k.connections},
      {"alpn_fallbacks", k.alpn_fallbacks},
      {"max_streams", config.max_streams},
      {"streams", k.streams},
      {"max_concurrent", k.max_concurrent},
      {"settings_frames", k.settings_frames},
      {"settings", {{"max_concurrent_streams", value_or_null(k.max_concurrent_streams)},
                    {"initial_window_size", value_or_null(k.initial_window_size)},
                    {"max_frame_size", value_or_null(k.max_frame_size)},
                    {"header_table_size", value_or_null(k.header_table_size)},
                    {"max_header_list_size", value_or_null(k.max_header_list_size)}}},
      {"goaways", k.goaways},
      {"goaway_unprocessed", k.goaway_unprocessed},
      {"goaway_retried", k.goaway_retried},
      {"refused_retried", k.refused_retried},
      {"rst_stream_received", std::move(rst)},
      {"rst_stream_sent", k.rst_sent},
      {"flow_control_stalls", k.flow_control_stalls},
      {"header_block_bytes", k.header_block_bytes},
      {"header_decoded_bytes", k.header_decoded_bytes},
  };
}

}  // namespace ringload
