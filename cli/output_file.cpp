#include "cli/output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ringload::cli {
namespace {

std::expected<void, std::string> write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(std::strerror(errno));
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

std::expected<void, std::string> check_writable(const std::string& path) {
  struct stat st {};
  const bool existed = ::stat(path.c_str(), &st) == 0;
  if (existed && S_ISDIR(st.st_mode)) return std::unexpected(std::string("it is a directory"));
  if (existed && S_ISFIFO(st.st_mode)) return {};  // its reader may come later: opening now would block
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected(std::string(std::strerror(errno)));
  ::close(fd);
  if (!existed) ::unlink(path.c_str());
  return {};
}

std::expected<void, std::string> write_file(const std::string& path, std::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected(std::string(std::strerror(errno)));
  auto written = write_all(fd, text);
  if (::close(fd) != 0 && written) written = std::unexpected(std::string(std::strerror(errno)));
  return written;
}

std::expected<void, std::string> write_stdout(std::string_view text) { return write_all(STDOUT_FILENO, text); }

}  // namespace ringload::cli
