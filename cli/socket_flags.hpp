// How connections hold their sockets and where they come from: --descriptors and
// --source-addr, into RunConfig::descriptors and RunConfig::source_addresses.
#pragma once
#include <CLI/CLI.hpp>

#include "ringload/config.hpp"

namespace ringload::cli {

void add_socket_flags(CLI::App& app, RunConfig& config);

}  // namespace ringload::cli
