#!/usr/bin/env bash
# HTTP intake throughput, three servers under the same wrk load in one run:
#   1. the HTTP face on the embedded log (bench/http_intake_server: TokenStore, validation,
#      GroupCommitIntake over a synced LocalLog append, exactly as serve wires it) without
#      the engine: what the intake accepts per second;
#   2. `gridcase serve --http` on the embedded log: the same, with the engine consuming the
#      log in the same process (a 202 still means durable; the engine shares the CPU);
#   3. a trivial Beast server answering 202 without doing anything (bench/http_baseline);
#   and, to show where the time goes, (1) with an intake that writes nothing (`null`).
# Targets: (1) / (3) >= 0.5, and >= 20,000 accepted reports/s.
# (1) and (3) run in turns, ROUNDS times (all servers up, one loaded at a time): the speed of
# a shared machine drifts over a minute, so each round's ratio compares neighbours, and the
# median of the rounds is the figure.
#
#   ops/bench/http_bench.sh [-d SECONDS] [-r ROUNDS] [-c CONNECTIONS] [-t WRK_THREADS]
#                           [--server-threads N]
set -euo pipefail
cd "$(dirname "$0")/../.."

duration=10
rounds=3
connections=128
wrk_threads=2
server_threads=2
while [ $# -gt 0 ]; do
  case "$1" in
    -d) duration=$2; shift ;;
    -r) rounds=$2; shift ;;
    -c) connections=$2; shift ;;
    -t) wrk_threads=$2; shift ;;
    --server-threads) server_threads=$2; shift ;;
    -h|--help) sed -n "2,18p" "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk (ops/setup.sh)" >&2; exit 2; }

build=${BUILD_DIR:-build}
[ -f "$build/build.ninja" ] || cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target gridcase http_baseline http_intake_server -j 2 >/dev/null
g=$build/app/gridcase

work=$(mktemp -d "${TMPDIR:-/tmp}/gridcase-http-bench.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
  for _ in $(seq 1 100); do
    if python3 - "$1" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=1)
PY
    sleep 0.1
  done
  echo "server at $1 did not come up" >&2; exit 1
}
# wrk NAME PORT TOKEN: the load, its output kept in $work/NAME.wrk
load() {
  echo "== $1 (${duration}s, $connections connections, $wrk_threads wrk threads) =="
  GRIDCASE_TOKEN=$3 GRIDCASE_RUN=$RANDOM wrk -t"$wrk_threads" -c"$connections" -d"${duration}s" \
    -s ops/bench/http_report.lua "http://127.0.0.1:$2/v1/reports" | tee "$work/$1.wrk"
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }

cat >"$work/gridcase.yaml" <<YAML
org: config/org.yaml
workflows: workflows
http:
  threads: $server_threads
  rate_limit: {per_second: 0}   # the bench is one token: no limit
log: {level: warn}
YAML

# The servers, all up at once; only the one under load uses the CPU.
# 1. the intake alone
state=$work/intake
token=$("$g" token add --person w-0001 --state-dir "$state" --name bench 2>/dev/null)
intake_port=$(free_port)
"$build/bench/http_intake_server" config/org.yaml "$state" "$intake_port" "$server_threads" \
  2>"$work/intake.log" &
pids+=($!); intake_pid=$!
# 1b. the same HTTP path, the append a no-op: the cost of HTTP, auth and validation alone
nodisk_state=$work/nodisk
nodisk_token=$("$g" token add --person w-0001 --state-dir "$nodisk_state" --name bench 2>/dev/null)
nodisk_port=$(free_port)
"$build/bench/http_intake_server" config/org.yaml "$nodisk_state" "$nodisk_port" "$server_threads" null \
  2>/dev/null &
pids+=($!); nodisk_pid=$!
# 3. the yardstick
base_port=$(free_port)
"$build/bench/http_baseline" "$base_port" "$server_threads" &
pids+=($!); base_pid=$!
wait_http "http://127.0.0.1:$intake_port/healthz"
wait_http "http://127.0.0.1:$nodisk_port/healthz"
wait_http "http://127.0.0.1:$base_port/"

for r in $(seq 1 "$rounds"); do
  load "intake.$r" "$intake_port" "$token"
  load "baseline.$r" "$base_port" x
done
load nodisk "$nodisk_port" "$nodisk_token"
stop "$intake_pid"
stop "$nodisk_pid"
stop "$base_pid"

# 2. serve: intake + engine in one process
state=$work/serve
token=$("$g" token add --person w-0001 --state-dir "$state" --name bench 2>/dev/null)
port=$(free_port)
"$g" serve --config "$work/gridcase.yaml" --state-dir "$state" --http "127.0.0.1:$port" \
  2>"$work/serve.log" &
pids+=($!); pid=$!
wait_http "http://127.0.0.1:$port/healthz"
load serve "$port" "$token"
metrics=$(python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$port/metrics').read().decode())")
stop "$pid"

python3 - "$work" "$rounds" "$(sed -n 's/^intake: \([0-9]*\) records in \([0-9]*\).*/\1 \2/p' "$work/intake.log")" \
  "$(sed -n 's/^gridcase_engine_events_in_total \([0-9]*\)/\1/p' <<<"$metrics")" <<'PY'
import re, statistics, sys
work, rounds, intake_groups, engine_in = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4]
def figures(name):
    text = open(f"{work}/{name}.wrk").read()
    rps = float(re.search(r"Requests/sec:\s*([0-9.]+)", text).group(1))
    total = int(re.search(r"(\d+) requests in", text).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    bad = int(bad.group(1)) if bad else 0
    return rps * (total - bad) / total if total else 0.0, bad
intakes = [figures(f"intake.{r}") for r in range(1, rounds + 1)]
bases = [figures(f"baseline.{r}")[0] for r in range(1, rounds + 1)]
ratios = [i[0] / b for i, b in zip(intakes, bases)]
intake_bad = sum(i[1] for i in intakes)
intake = statistics.median(i[0] for i in intakes)
base = statistics.median(bases)
ratio = statistics.median(ratios)
nodisk, _ = figures("nodisk")
serve, serve_bad = figures("serve")
print()
for r, ((i, _), b, q) in enumerate(zip(intakes, bases, ratios), 1):
    print(f"round {r}: intake {i:10,.0f}/s  baseline {b:10,.0f}/s  ratio {q:.2f}")
print(f"受理 accepted/s, HTTP face on the embedded log (synced): {intake:10,.0f}  (median; {intake_bad} non-2xx)")
print(f"受理 accepted/s, gridcase serve (engine in process):     {serve:10,.0f}  ({serve_bad} non-2xx; engine processed {engine_in})")
print(f"基线 baseline 202/s, trivial Beast handler:              {base:10,.0f}  (median)")
print(f"(the HTTP face with an append that writes nothing:        {nodisk:10,.0f})")
print(f"比值 ratio intake/baseline: {ratio:.2f} (median of {rounds} rounds; target >= 0.5); "
      f"serve/baseline: {serve/base:.2f}")
print(f"absolute target >= 20,000/s: intake {'met' if intake >= 20000 else 'NOT met'}, "
      f"serve {'met' if serve >= 20000 else 'NOT met'}")
if len(intake_groups) == 2:
    rec, groups = map(int, intake_groups)
    print(f"group commit (intake runs): {rec:,} records in {groups:,} synced appends "
          f"({rec/max(1,groups):.1f} per fsync)")
PY
