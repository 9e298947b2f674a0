// The run's own outputs: the -o report file and standard output. A run's results are
// never lost silently: every write is checked and its failure named with the errno text.
#pragma once
#include <expected>
#include <string>
#include <string_view>

namespace ringload::cli {

// Before any traffic: `path` can be opened for writing (a missing directory, a
// permission or a read-only filesystem fail here). Nothing is truncated; a file this
// check had to create is removed again.
std::expected<void, std::string> check_writable(const std::string& path);

// Writes `text` as the whole content of `path` (created or truncated), closed and checked.
std::expected<void, std::string> write_file(const std::string& path, std::string_view text);

// Writes all of `text` to standard output (SIGPIPE must be ignored: a closed pipe is an
// EPIPE error here, not the end of the process).
std::expected<void, std::string> write_stdout(std::string_view text);

}  // namespace ringload::cli
