#!/usr/bin/env bash
# The embeddable engine as a program outside the tree gets it (issue 11), from a release
# build (tools/test.sh's build/, reused: nothing of the engine is compiled again):
#   1. `cmake --install` into a temporary prefix: headers, libringload.so and .a, the
#      CMake package, ringload.pc and ringload-static.pc, the binaries; the shared
#      library exports the public API (RINGLOAD_API) and no wolfSSL.
#   2. examples/harness built out of tree against it: CMake (ringload::engine and
#      ringload::engine_static) and pkg-config (ringload and ringload-static).
#   3. The CLI's objects relinked against the installed libringload.so: every symbol a
#      front end on the public API uses is exported.
#   4. ringload-target on a free port; each harness runs against it: exit 0, totals > 0.
#   5. add_subdirectory: a project that adds the repository links ringload::engine; it is
#      configured and its own source compiled (RINGLOAD_PACKAGE_FULL=1 builds it all, the
#      engine included: minutes on 2 cores).
# Usage: tools/test_package.sh [BUILD_DIR]   (default: build)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$repo/build}" && pwd)"
tmp="$(mktemp -d)"
target_pid=""
cleanup() {
  if [ -n "$target_pid" ]; then
    kill "$target_pid" 2>/dev/null || true
    wait "$target_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
t0=$(date +%s)
say() { echo "package: [$(($(date +%s) - t0)) s] $*"; }
fail() {
  echo "package: FAIL: $*" >&2
  exit 1
}

# 1. Install. The build target is a no-op after tools/build.sh.
cmake --build "$build" --target ringload ringload-target ringload_engine_shared ringload_engine_static >/dev/null
prefix="$tmp/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
shared="$(find "$prefix" -name libringload.so -print -quit)"
[ -n "$shared" ] || fail "no libringload.so under $prefix"
libdir="$(dirname "$shared")"
for f in "$prefix/include/ringload/engine.hpp" "$prefix/include/ringload/report.hpp" \
         "$prefix/include/ringload/report.schema.json" \
         "$prefix/include/ringload/export.hpp" "$prefix/bin/ringload" "$prefix/bin/ringload-target" \
         "$libdir/libringload.a" "$libdir/pkgconfig/ringload.pc" \
         "$libdir/cmake/ringload/ringloadConfig.cmake" "$libdir/cmake/ringload/ringloadConfigVersion.cmake"; do
  [ -e "$f" ] || fail "not installed: ${f#"$prefix"/}"
done
"$prefix/bin/ringload" --version >/dev/null || fail "the installed ringload does not run"
exported="$(nm -D --defined-only "$shared")"
grep -q 'ringload6Engine5start' <<<"$exported" || fail "libringload.so does not export Engine::start"
if grep -E ' (wolfSSL|wc_|sp_|fe_|Base64_)' <<<"$exported"; then
  fail "libringload.so exports wolfSSL's symbols (above)"
fi
say "installed into a temporary prefix; libringload.so exports $(wc -l <<<"$exported") symbols"
# The Python module, where /usr/bin/python3 looks under a prefix other than /usr (when built).
if [ -d "$build/python/ringload" ]; then
  pydir="$prefix/lib/python3.11/dist-packages"
  [ -e "$pydir/ringload/__init__.py" ] || fail "the Python module is not installed in $pydir"
  PYTHONPATH="$pydir" /usr/bin/python3 -c 'import ringload, sys; sys.exit(ringload.__version__ == "" )' \
    || fail "the installed Python module does not import"
  [ -e "$prefix/lib/ringload/ringload_python_plugin.so" ] || [ -n "$(find "$prefix" -name ringload_python_plugin.so)" ] \
    || fail "ringload_python_plugin.so is not installed"
  say "the Python module imports from $pydir"
fi

# 2. The harness, four ways. The pkg-config builds get an rpath to the prefix.
export PKG_CONFIG_PATH="$libdir/pkgconfig"
harnesses=()
for kind in shared static; do
  static=OFF
  [ $kind = static ] && static=ON
  cmake -S "$repo/examples/harness" -B "$tmp/cmake-$kind" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
        -DHARNESS_STATIC=$static >"$tmp/cmake-$kind.log" 2>&1 &&
    cmake --build "$tmp/cmake-$kind" >>"$tmp/cmake-$kind.log" 2>&1 ||
    { cat "$tmp/cmake-$kind.log" >&2; fail "CMake build of examples/harness ($kind)"; }
  harnesses+=("$tmp/cmake-$kind/harness")
  pc=ringload
  [ $kind = static ] && pc=ringload-static
  mkdir -p "$tmp/pc-$kind"
  make -s -f "$repo/examples/harness/Makefile" -C "$tmp/pc-$kind" RINGLOAD_PC=$pc >"$tmp/pc-$kind.log" 2>&1 ||
    { cat "$tmp/pc-$kind.log" >&2; fail "pkg-config build of examples/harness ($pc)"; }
  harnesses+=("$tmp/pc-$kind/harness")
done
for h in "${harnesses[@]}"; do
  libs="$(ldd "$h")"
  uses_so=0
  grep -q 'libringload\.so' <<<"$libs" && uses_so=1
  case "$h" in
    */*-shared/harness) [ $uses_so = 1 ] || fail "$h does not load libringload.so" ;;
    *) [ $uses_so = 0 ] || fail "$h loads libringload.so, not the static library" ;;
  esac
done
say "examples/harness built with CMake and with pkg-config, shared and static"

# 3. The CLI against the shared library.
cli_main="$build/CMakeFiles/ringload.dir/cli/main.cpp.o"
[ -f "$cli_main" ] && [ -f "$build/libringload_cli.a" ] || fail "no CLI objects in $build"
g++ "$cli_main" "$build/libringload_cli.a" -L"$libdir" -Wl,-rpath,"$libdir" -lringload -o "$tmp/ringload-shared" ||
  fail "the CLI does not link against libringload.so: a public declaration lacks RINGLOAD_API"

# 4. Runs against ringload-target.
"$build/ringload-target" --port 0 --port-file "$tmp/port" --threads 1 --quiet &
target_pid=$!
for _ in $(seq 100); do
  [ -s "$tmp/port" ] && break
  sleep 0.05
done
[ -s "$tmp/port" ] || fail "ringload-target wrote no port"
url="http://127.0.0.1:$(cat "$tmp/port")/"
for h in "${harnesses[@]}"; do
  rc=0
  out="$("$h" "$url" 2>&1)" || rc=$?
  [ $rc = 0 ] || { echo "$out" >&2; fail "$h exited $rc"; }
  totals="$(grep '^totals: ' <<<"$out")" || { echo "$out" >&2; fail "$h printed no totals"; }
  [ "$(grep -c '^t=' <<<"$out")" -ge 3 ] || { echo "$out" >&2; fail "$h printed too few snapshots"; }
  [[ "$totals" =~ requests.total=([0-9]+)\ succeeded=([0-9]+) ]] &&
    [ "${BASH_REMATCH[1]}" -gt 0 ] && [ "${BASH_REMATCH[2]}" -gt 0 ] ||
    { echo "$out" >&2; fail "$h: nothing succeeded"; }
  say "${h#"$tmp"/}: $totals"
done
rc=0
"${harnesses[0]}" >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "harness without a URL exited $rc, not 2"
"$tmp/ringload-shared" -n 1000 -c 4 -t 1 --json "$url" >"$tmp/cli.json" || fail "the relinked CLI failed"
grep -q '"total": 1000' "$tmp/cli.json" || fail "the relinked CLI did not send 1000 requests"
say "the CLI relinked against libringload.so ran 1000 requests"
kill "$target_pid"
wait "$target_pid" 2>/dev/null || true
target_pid=""

# 5. add_subdirectory.
mkdir -p "$tmp/embedder"
cp "$repo/examples/harness/main.cpp" "$tmp/embedder/"
cat >"$tmp/embedder/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.25)
project(embedder LANGUAGES CXX)
add_subdirectory("$repo" ringload)
add_executable(embedder main.cpp)
target_link_libraries(embedder PRIVATE ringload::engine)
EOF
cmake -S "$tmp/embedder" -B "$tmp/embedder/build" -G Ninja >"$tmp/embedder.log" 2>&1 ||
  { cat "$tmp/embedder.log" >&2; fail "a project that add_subdirectory()s ringload does not configure"; }
if [ "${RINGLOAD_PACKAGE_FULL:-0}" = 1 ]; then
  cmake --build "$tmp/embedder/build" --target embedder >>"$tmp/embedder.log" 2>&1 ||
    { tail -n 30 "$tmp/embedder.log" >&2; fail "add_subdirectory: embedder does not build"; }
  say "add_subdirectory: embedder built, the engine with it"
else
  # Its own compile command alone: ninja would build the engine first (the prelinked object
  # is an order-only dependency of everything that links the libraries).
  compile="$(ninja -C "$tmp/embedder/build" -t commands CMakeFiles/embedder.dir/main.cpp.o | tail -n 1)"
  (cd "$tmp/embedder/build" && eval "$compile") >>"$tmp/embedder.log" 2>&1 ||
    { tail -n 30 "$tmp/embedder.log" >&2; fail "add_subdirectory: embedder's source does not compile"; }
  ninja -C "$tmp/embedder/build" -t commands embedder | tail -n 1 | grep -q 'ringload/libringload\.so' ||
    fail "add_subdirectory: embedder is not linked with ringload/libringload.so"
  say "add_subdirectory: configured, embedder compiled, linked with libringload.so (RINGLOAD_PACKAGE_FULL=1 builds it all)"
fi
say "passed in $(($(date +%s) - t0)) s"
