#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz/fuzz_*.cpp) for RUNS executions, one target
# after the other, and prints per target: executions, wall time, exec/s, coverage (cov:
# and ft: from libFuzzer's last stats line) and whether it crashed.
#
#   bench/fuzz_all.sh [BUILD_DIR] [TARGET ...]      (BUILD_DIR: build)
#
# Builds the fuzzers first (the ExternalProject `fuzzers` of BUILD_DIR). Each target
# starts from its committed seed corpus, read only; what it finds goes to a scratch corpus
# under BUILD_DIR/fuzz/bench/<target>/corpus, emptied first unless KEEP=1. Crash inputs go
# to BUILD_DIR/fuzz/bench/<target>/ (crash-*, leak-*, timeout-*), libFuzzer's output to
# .../log. A target's dictionary, tests/fuzz/dict/<target>.dict, is used when present.
#
# Settings from the environment:
#   RUNS=10000000  executions per target
#   MAX_TIME=1500  seconds per target at most (a slow target stops there: the table
#                  then shows the executions done and how long RUNS would take)
#   TIMEOUT=25     seconds one input may take before it counts as a hang
#   KEEP=0         1: go on from the scratch corpus of the previous run
# Exit status: 0 when no target crashed, 1 otherwise.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
shift $(($# > 0 ? 1 : 0))
runs=${RUNS:-10000000}
max_time=${MAX_TIME:-1500}
timeout=${TIMEOUT:-25}

cmake --build "$build" --target fuzzers >/dev/null

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$root"/tests/fuzz/fuzz_*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi

rows=()
crashed=0
for t in "${targets[@]}"; do
  bin=$build/fuzz/$t
  seeds=$root/tests/fuzz/corpus/$t
  work=$build/fuzz/bench/$t
  [ -x "$bin" ] || { echo "fuzz_all: no $bin" >&2; exit 2; }
  [ "${KEEP:-0}" = 1 ] || rm -rf "$work/corpus"
  mkdir -p "$work/corpus" "$seeds"
  args=(-runs="$runs" -max_total_time="$max_time" -timeout="$timeout" -print_final_stats=1
        -artifact_prefix="$work/")
  dict=$root/tests/fuzz/dict/$t.dict
  [ -f "$dict" ] && args+=(-dict="$dict")

  echo "fuzz_all: $t ($runs runs, at most ${max_time}s)" >&2
  start=$(date +%s%N)
  status=0
  "$bin" "${args[@]}" "$work/corpus" "$seeds" >"$work/log" 2>&1 || status=$?
  wall=$(awk -v ns=$(($(date +%s%N) - start)) 'BEGIN { printf "%.1f", ns / 1e9 }')

  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  if [ -z "$execs" ]; then  # no final stats after a crash: the last status line's count
    execs=$(grep -o '^#[0-9]*' "$work/log" | tail -1 | tr -d '#')
  fi
  stats=$(grep -E '^#[0-9]+.*cov: ' "$work/log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$stats")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$stats")
  corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$stats")
  rate=$(awk -v n="${execs:-0}" -v s="$wall" 'BEGIN { printf "%d", n / (s > 0 ? s : 1) }')

  result=ok
  if [ "$status" -ne 0 ]; then
    crashed=1
    what=$(grep -m1 -oE 'assertion failed: .*|runtime error: .*|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): [^ ]*( [^ ]*)?' "$work/log" || true)
    unit=$(sed -n 's/.*Test unit written to //p' "$work/log" | tail -1)
    result="CRASH (${what:-exit $status}) ${unit:-}"
  elif [ "${execs:-0}" -lt "$runs" ]; then
    need=$(awk -v n="$runs" -v r="$rate" 'BEGIN { printf "%d", n / (r > 0 ? r : 1) / 60 }')
    result="stopped at ${max_time}s; $runs runs would take ~${need} min"
  fi
  rows+=("$(printf '%-20s %10s %8.0f %8s %6s %7s %10s  %s' "$t" "${execs:-?}" "$wall" "$rate" \
    "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result")")
done

printf '%-20s %10s %8s %8s %6s %7s %10s  %s\n' target executions wall_s exec/s cov ft corpus result
printf '%s\n' "${rows[@]}"
exit $crashed
