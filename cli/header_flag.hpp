// -H 'Name: value'.
#pragma once
#include <expected>
#include <string>
#include <utility>

namespace ringload::cli {

// "Name: value" → {name, value}; the value's leading spaces dropped.
std::expected<std::pair<std::string, std::string>, std::string> split_header(const std::string& h);

}  // namespace ringload::cli
