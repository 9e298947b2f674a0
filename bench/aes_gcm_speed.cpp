// AES-128-GCM throughput of the wolfSSL this program is linked against: tells the AES-NI
// build (tools/build_wolfssl.sh) from Debian's portable-C one (~130 MB/s on this CPU).
// Build: g++ -O2 -std=c++23 bench/aes_gcm_speed.cpp $(pkg-config --cflags --libs wolfssl)
// Prints one line: "aes-128-gcm <MB/s> MB/s (<bytes> bytes in <s> s, 16 KiB blocks)".
#include <wolfssl/options.h>  // first: it carries the library's feature macros
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  // A TLS record carries at most 16 KiB of plaintext (RFC 8446 section 5.1): the unit the
  // TLS layer encrypts.
  constexpr size_t block = 16 * 1024;
  const double min_seconds = argc > 1 ? std::atof(argv[1]) : 1.0;

  Aes aes;
  if (wc_AesInit(&aes, nullptr, INVALID_DEVID) != 0) {
    std::fprintf(stderr, "wc_AesInit failed\n");
    return 1;
  }
  const unsigned char key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  if (int rc = wc_AesGcmSetKey(&aes, key, sizeof key); rc != 0) {
    std::fprintf(stderr, "wc_AesGcmSetKey: %s\n", wc_GetErrorString(rc));
    return 1;
  }
  std::vector<unsigned char> in(block, 0x5a), out(block);
  unsigned char iv[12] = {};
  unsigned char tag[16];
  unsigned char aad[13] = {};

  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  size_t bytes = 0;
  double elapsed = 0;
  // Bounded: stops after min_seconds of work or 1 TiB, whichever comes first.
  for (uint64_t i = 0; i < (uint64_t{1} << 26); ++i) {
    iv[0] = static_cast<unsigned char>(i);
    if (int rc = wc_AesGcmEncrypt(&aes, out.data(), in.data(), block, iv, sizeof iv, tag,
                                  sizeof tag, aad, sizeof aad);
        rc != 0) {
      std::fprintf(stderr, "wc_AesGcmEncrypt: %s\n", wc_GetErrorString(rc));
      return 1;
    }
    bytes += block;
    if ((i & 63) == 63) {
      elapsed = std::chrono::duration<double>(clock::now() - start).count();
      if (elapsed >= min_seconds) break;
    }
  }
  wc_AesFree(&aes);
  std::printf("aes-128-gcm %.0f MB/s (%zu bytes in %.2f s, 16 KiB blocks)\n",
              bytes / elapsed / 1e6, bytes, elapsed);
  return 0;
}
