#!/usr/bin/env bash
# Restart time of `gridcase serve` on Kafka after kill -9, with a big store: how long from
# the new process's start to its first batch processed ("first batch processed, N ms after
# start" in its log: store open with WAL recovery, seek, group join, first poll and commit).
#   ops/bench/restart_bench.sh STATE_DIR [ROUNDS]
# STATE_DIR holds a store in STATE_DIR/engine, e.g. made by
#   gridcase generate --org config/org.yaml --events 1000000 --action-share 0 --out ev.jsonl
#   gridcase simulate --org config/org.yaml --workflows workflows --events ev.jsonl \
#     --state-dir STATE_DIR/engine > /dev/null          (1,000,000 open cases)
# New input is dated in the past, so the engine clock (max of wall clock, stored clock,
# event time) does not move and no timer catch-up is measured by mistake.
# It is copied first; the original is not touched. Uses GRIDCASE_KAFKA_BROKERS, or starts a
# broker of its own.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${1:?usage: restart_bench.sh STATE_DIR [ROUNDS]}
rounds=${2:-3}
build=${GRIDCASE_BUILD:-build}
g=$build/app/gridcase
tmp=$(mktemp -d /tmp/gridcase-restart-XXXXXX)
port=""
pid=""
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  [ -n "$port" ] && ops/kafka/stop.sh --port "$port" --data "$tmp/kafka" --purge >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
brokers=${GRIDCASE_KAFKA_BROKERS:-}
if [ -z "$brokers" ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  brokers=$(ops/kafka/start.sh --port "$port" --data "$tmp/kafka" | tail -n 1)
fi
run=$(date +%s)-$$
echo "== copying $src ($(du -sh "$src" | cut -f1)) =="
cp -r "$src" "$tmp/state"
cat >"$tmp/c.yaml" <<EOF
kafka:
  brokers: "$brokers"
  input_topic: restart.in.$run
  case_events_topic: restart.out.$run
  dead_letter_topic: restart.dead.$run
  workflows_topic: restart.workflows.$run
  partitions: 3
  group_id: restart-$run
  instance_id: restart-$run-1
EOF
"$g" generate --org config/org.yaml --events $((2000 * (rounds + 1))) --seed 13 --action-share 0 \
  --start 2020-01-01T00:00:00Z --out "$tmp/new.jsonl"
split -n "l/$((rounds + 1))" -d "$tmp/new.jsonl" "$tmp/part."

first_batch() {  # waits (bounded) for the log line; prints its milliseconds
  local log=$1 deadline=$((SECONDS + 300))
  until grep -q 'first batch processed' "$log" 2>/dev/null; do
    [ $SECONDS -gt $deadline ] && { echo "no first batch within 300 s" >&2; tail -n 5 "$log" >&2; exit 1; }
    kill -0 "$pid" 2>/dev/null || { echo "serve exited" >&2; tail -n 5 "$log" >&2; exit 1; }
    sleep 0.05
  done
  grep -o 'first batch processed, [0-9]* ms' "$log" | grep -o '[0-9]*'
}

i=0
for part in "$tmp"/part.*; do
  "$g" submit --kafka "$brokers" --topic "restart.in.$run" --partitions 3 "$part" 2>/dev/null
  log="$tmp/serve.$i.log"
  "$g" serve --config "$tmp/c.yaml" --org config/org.yaml \
    --workflows workflows --state-dir "$tmp/state" 2>"$log" &
  pid=$!
  ms=$(first_batch "$log")
  if [ "$i" -eq 0 ]; then
    echo "cold start (first open of the copied store): first batch after $ms ms"
  else
    echo "restart $i after kill -9: first batch after $ms ms"
  fi
  kill -9 "$pid" 2>/dev/null || true  # mid-stream: the rest of this part is still to do
  wait "$pid" 2>/dev/null || true
  pid=""
  i=$((i + 1))
done
echo "store: $(du -sh "$tmp/state/engine" | cut -f1)"
