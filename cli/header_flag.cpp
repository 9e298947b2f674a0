#include "cli/header_flag.hpp"

namespace ringload::cli {

std::expected<std::pair<std::string, std::string>, std::string> split_header(const std::string& h) {
  auto colon = h.find(':');
  if (colon == std::string::npos || colon == 0)
    return std::unexpected("-H '" + h + "': expected 'Name: value'");
  std::string value = h.substr(colon + 1);
  std::size_t start = value.find_first_not_of(" \t");
  value = start == std::string::npos ? "" : value.substr(start);
  return std::pair{h.substr(0, colon), value};
}

}  // namespace ringload::cli
