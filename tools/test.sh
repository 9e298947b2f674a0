#!/usr/bin/env bash
# Runs every test: the release build's unit, integration and fuzz-regression tests, the
# installed package (tools/test_package.sh), then the unit tests again under
# AddressSanitizer + UndefinedBehaviorSanitizer, and the integration tests labelled
# `sanitized` (tests/CMakeLists.txt: the engine's state machines against real peers,
# HTTP/2 included) against the sanitized binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

echo "== release build"
# Warnings are errors here (CI), not in a user's build with another compiler.
tools/build.sh -DRINGLOAD_WERROR=ON
echo "== tests (release)"
ctest --test-dir build --output-on-failure -j1
echo "== package (install, the example harness with CMake and pkg-config, add_subdirectory)"
tools/test_package.sh build

echo "== sanitizer build (ASan + UBSan)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRINGLOAD_SANITIZE=ON -DRINGLOAD_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs"
echo "== tests (ASan + UBSan)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j1 -L 'unit|sanitized'
