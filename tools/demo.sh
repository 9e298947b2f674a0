#!/usr/bin/env bash
# The main job end to end: build, start the bundled target server on a free loopback
# port, load it for a few seconds with ringload, print the report, stop the server.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-5s}
connections=${CONNECTIONS:-64}

# Only the two binaries this runs: not the tests, fuzzers and benchmarks.
[ -x build/ringload ] && [ -x build/ringload-target ] || BUILD_TARGETS="ringload ringload-target" tools/build.sh
tmp=$(mktemp -d)
build/ringload-target --port 0 --port-file "$tmp/port" --quiet &
target_pid=$!
trap 'kill "$target_pid" 2>/dev/null; wait "$target_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(cat "$tmp/port")
echo "ringload-target listening on 127.0.0.1:$port (pid $target_pid)"
build/ringload -c "$connections" -d "$duration" -o "$tmp/report.json" "http://127.0.0.1:$port/"
echo
echo "JSON report (also written by -o FILE):"
cat "$tmp/report.json"
