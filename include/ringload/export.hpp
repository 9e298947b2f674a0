// RINGLOAD_API marks what the engine library exports: the classes and functions declared
// in these headers. The library is compiled with -fvisibility=hidden, so everything else
// (the shards, sessions, transports, the parsers, the bundled wolfSSL) stays inside
// libringload.so and, localized, inside libringload.a. A declaration in include/ringload/
// that is defined out of line in the library needs it; inline and constexpr ones do not.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define RINGLOAD_API __attribute__((visibility("default")))
#else
#define RINGLOAD_API
#endif
