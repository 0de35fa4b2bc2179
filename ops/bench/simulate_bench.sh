#!/usr/bin/env bash
# The simulate benchmark of issue 2: N generated reports and actions across the sample
# county, `gridcase simulate --state-dir` (RocksDB), its throughput and peak RSS, and the
# ratio to a bare RocksDB read-modify-write loop over as many keys and the same value size,
# measured in the same run. Also the step function alone (Google Benchmark).
#   ops/bench/simulate_bench.sh [N]      (default 1000000; needs a build in build/)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-1000000}
build=${GRIDCASE_BUILD:-build}
g=$build/app/gridcase
tmp=$(mktemp -d /tmp/gridcase-bench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "== generate $n events =="
"$g" generate --org config/org.yaml --events "$n" --seed 7 --action-share 0.7 --out "$tmp/events.jsonl"

echo "== simulate --state-dir (RocksDB) =="
/usr/bin/time -f '%e %M' -o "$tmp/time" "$g" simulate --org config/org.yaml --workflows workflows \
  --events "$tmp/events.jsonl" --state-dir "$tmp/state" --summary --no-progress >/dev/null 2>"$tmp/summary"
read -r secs rss_kb <"$tmp/time"
cat "$tmp/summary"
cases=$(grep -o 'cases: [0-9]*' "$tmp/summary" | head -1 | grep -o '[0-9]*')
size=$(du -sb "$tmp/state" | cut -f1)
value=$(( cases > 0 ? size / cases : 300 ))

echo "== bare RocksDB read-modify-write: $n keys of ~$value bytes (the store's bytes per case) =="
mkdir -p "$tmp/rmw"
rmw=$("$build/bench/rocks_rmw" --keys "$n" --value-size "$value" --dir "$tmp/rmw")
echo "$rmw"
rmw_rate=$(echo "$rmw" | grep -o '= [0-9.]* ops/s' | grep -o '[0-9.]*')
sim_rate=$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
ratio=$(awk -v a="$sim_rate" -v b="$rmw_rate" 'BEGIN { printf "%.2f", a / b }')
echo "== result =="
echo "simulate: $n input events in ${secs}s = $sim_rate events/s, peak RSS $((rss_kb / 1024)) MB"
echo "bare RocksDB RMW: $rmw_rate ops/s; simulate / RMW = $ratio"

if [ -x "$build/bench/step_bench" ]; then
  echo "== step function (Google Benchmark) =="
  "$build/bench/step_bench" --benchmark_min_time=1 2>/dev/null | tail -n 3
fi
