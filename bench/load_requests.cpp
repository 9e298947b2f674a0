// Loads a request file and prints how long it took and the peak memory it needed, next to
// the file's size: the loader's budget is 2 s and twice the file's size for 1,000,000 lines.
//
//   bench_load_requests FILE [--https]
#include <sys/resource.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "engine/requests/request_table.hpp"
#include "ringload/request_file.hpp"

namespace {

// Peak resident set of this process so far, in bytes (Linux reports KiB).
long long peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<long long>(usage.ru_maxrss) * 1024;
}

double mib(long long bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0) {
    std::fprintf(stderr, "usage: %s FILE [--https]\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  ringload::RequestFileOptions options;
  options.allow_https = argc > 2 && std::strcmp(argv[2], "--https") == 0;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), std::strerror(errno));
    return 1;
  }
  const long long file_bytes = st.st_size;
  const long long rss_before = peak_rss_bytes();

  const auto start = std::chrono::steady_clock::now();
  auto file = ringload::load_request_file(path, options, [](const std::string& w) {
    std::fprintf(stderr, "%s\n", w.c_str());
  });
  const auto stop = std::chrono::steady_clock::now();
  if (!file) {
    std::fprintf(stderr, "%s\n", file.error().to_string().c_str());
    return 1;
  }
  const ringload::RequestTable* table = file->table().get();
  const long long rss = peak_rss_bytes();
  const double seconds = std::chrono::duration<double>(stop - start).count();
  const auto lines = table->lines.size();
  const auto table_bytes = table->arena.capacity() + table->lines.capacity() * sizeof(ringload::RequestLine);

  std::printf("file:        %s\n", path.c_str());
  std::printf("file size:   %lld bytes (%.1f MiB)\n", file_bytes, mib(file_bytes));
  std::printf("requests:    %zu (%zu origins, %zu names)\n", lines, table->origins.size(), table->names.size());
  std::printf("load time:   %.3f s (%.0f ns/line, %.0f MB/s)\n", seconds, seconds * 1e9 / static_cast<double>(lines),
              static_cast<double>(file_bytes) / seconds / 1e6);
  std::printf("table:       %.1f MiB (arena %.1f MiB + lines %.1f MiB)\n", mib(static_cast<long long>(table_bytes)),
              mib(static_cast<long long>(table->arena.size())),
              mib(static_cast<long long>(lines * sizeof(ringload::RequestLine))));
  std::printf("peak RSS:    %.1f MiB (%.1f MiB before loading); %.2fx the file\n", mib(rss), mib(rss_before),
              static_cast<double>(rss) / static_cast<double>(file_bytes));
  return 0;
}
