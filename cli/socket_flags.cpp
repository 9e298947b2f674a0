#include "cli/socket_flags.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>

namespace ringload::cli {
namespace {

// A numeric IPv4 or IPv6 address (no name: a source address is this machine's).
std::string numeric_address(const std::string& text) {
  in6_addr any{};
  if (inet_pton(AF_INET, text.c_str(), &any) == 1 || inet_pton(AF_INET6, text.c_str(), &any) == 1) return {};
  return "'" + text + "' is not a numeric IPv4 or IPv6 address";
}

}  // namespace

void add_socket_flags(CLI::App& app, RunConfig& config) {
  const char* group = "Connections";
  // Converted as it is parsed (each): the app's one final_callback is --shard's.
  static std::string mode;  // CLI11 writes the text here too; `config` gets the mode
  app.add_option("--descriptors", mode,
                 "Sockets as io_uring direct descriptors, past the fd limit (direct), ordinary ones "
                 "(regular), or direct where the kernel can (auto)")
      ->check(CLI::IsMember({"auto", "direct", "regular"}))
      ->each([&config](const std::string& text) {
        config.descriptors = text == "direct"    ? Descriptors::direct
                             : text == "regular" ? Descriptors::regular
                                                 : Descriptors::automatic;
      })
      ->default_str("auto")
      ->group(group);
  app.add_option("--source-addr", config.source_addresses,
                 "Local address(es) to connect from, in turn (comma-separated; more addresses, more "
                 "ports per destination)")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->check(CLI::Validator(numeric_address, "ADDRESS"))
      ->group(group);
}

}  // namespace ringload::cli
