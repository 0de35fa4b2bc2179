#!/usr/bin/env bash
# The libFuzzer targets (tests/fuzz/: the expression, workflow, input event, report, CSV and
# SMS parsers), built with clang and run for a while each on their corpus.
#   ops/fuzz.sh [RUNS]     (default 5000 runs per target; CI runs it so they keep building)
# New interesting inputs go to a scratch directory, never into tests/fuzz/corpus/.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5000}
build=build-fuzz
targets=(expr_fuzz workflow_fuzz event_fuzz report_fuzz csv_fuzz sms_fuzz)
jobs=$(nproc 2>/dev/null || echo 2)
echo "== 模糊测试 fuzz targets (clang, libFuzzer + ASan/UBSan): ${targets[*]} =="
CXX=clang++ CC=clang cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGRIDCASE_FUZZ=ON -DGRIDCASE_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target "${targets[@]}"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
  corpus=tests/fuzz/corpus/${t%_fuzz}
  mkdir -p "$scratch/$t"
  args=("$scratch/$t")
  [ -d "$corpus" ] && args+=("$corpus")
  echo "-- $t: $runs runs"
  "$build/tests/fuzz/$t" -runs="$runs" -max_total_time=120 "${args[@]}" 2>"$scratch/$t.log" || {
    tail -n 40 "$scratch/$t.log" >&2
    echo "fuzz target $t failed" >&2
    exit 1
  }
  grep -E "^Done" "$scratch/$t.log" || true
done
