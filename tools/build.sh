#!/usr/bin/env bash
# Configures and builds ringload into build/ (release with debug info). Extra arguments
# go to cmake's configure step; BUILD_TARGETS="ringload ringload-target" builds only those.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
targets=()
for t in ${BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build build -j"$(nproc)" "${targets[@]}"
