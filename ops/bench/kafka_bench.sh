#!/usr/bin/env bash
# The serve benchmark of issue 3, on a real broker on this machine (loopback):
#   1. throughput: N generated input events already in the input topic; `gridcase serve
#      --until-idle` drains them (default mode, then exactly_once); the baseline is a bare
#      librdkafka consume -> produce pipe (bench/kafka_pipe_bench) over the same topic and
#      messages, in the same run. Both are timed as whole processes (start-up and group
#      join included in both).
#   2. latency: the same mix of input events produced at half the measured rate for SECONDS,
#      each stamped with the time it is produced; produce -> case event p50/p99 of the reports
#      among them (bench/kafka_latency_bench), default mode, exactly_once and without the
#      fsync per batch, and the bare pipe at the same rate as the floor; the default mode
#      also at a quarter and an eighth of the rate.
#   3. peak RSS of each serve run.
#   ops/bench/kafka_bench.sh [N] [SECONDS]   (defaults 200000, 20; needs a build in build/)
# Uses GRIDCASE_KAFKA_BROKERS, or starts a broker of its own with ops/kafka/start.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-200000}
secs=${2:-20}
build=${GRIDCASE_BUILD:-build}
g=$build/app/gridcase
tmp=$(mktemp -d /tmp/gridcase-kbench-XXXXXX)
port=""
cleanup() {
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
parts=${GRIDCASE_BENCH_PARTITIONS:-3}

echo "== generate $n events (action share 0.7) and submit them to Kafka ($parts partitions) =="
"$g" generate --org config/org.yaml --events "$n" --seed 7 --action-share 0.7 \
  --start 2099-06-01T00:00:00Z --out "$tmp/events.jsonl"
"$g" submit --kafka "$brokers" --topic "bench.input.$run" --partitions "$parts" "$tmp/events.jsonl" 2>/dev/null

# The registry topic exists in a running system: made once here, shared by every run.
"$g" history workflows --kafka "$brokers" --workflows-topic "bench.workflows.$run" >/dev/null 2>&1 || true
config() {  # config FILE INPUT EVENTS_TOPIC EXACTLY_ONCE GROUP [SYNC_COMMIT] [WRITE_BEHIND]
  cat >"$1" <<EOF
kafka:
  brokers: "$brokers"
  input_topic: $2
  case_events_topic: $3
  dead_letter_topic: $3.dead
  workflows_topic: bench.workflows.$run
  partitions: $parts
  exactly_once: $4
  group_id: $5
  instance_id: $5-1
engine:
  max_batch: 2000
  sync_commit: ${6:-true}
  write_behind: ${7:-true}
log:
  level: info
EOF
}

echo "== baseline: bare librdkafka consume -> produce pipe =="
"$g" submit --kafka "$brokers" --topic "bench.pipe.$run" --partitions "$parts" /dev/null 2>/dev/null
/usr/bin/time -f '%e %M' -o "$tmp/pipe.time" "$build/bench/kafka_pipe_bench" "$brokers" \
  "bench.input.$run" "bench.pipe.$run" "$n" | tee "$tmp/pipe.out"
read -r pipe_s pipe_kb <"$tmp/pipe.time"

serve_run() {  # serve_run NAME EXACTLY_ONCE [SYNC_COMMIT] [WRITE_BEHIND]
  config "$tmp/$1.yaml" "bench.input.$run" "bench.$1.$run" "$2" "bench-$1-$run" "${3:-true}" \
    "${4:-true}"
  /usr/bin/time -f '%e %M' -o "$tmp/$1.time" "$g" serve --config "$tmp/$1.yaml" --org config/org.yaml \
    --workflows workflows --state-dir "$tmp/state-$1" --until-idle 2>"$tmp/$1.log"
  read -r s kb <"$tmp/$1.time"
  echo "$s $kb"
}
echo "== gridcase serve, default mode =="
read -r serve_s serve_kb < <(serve_run plain false)
echo "== gridcase serve, exactly_once =="
read -r eos_s eos_kb < <(serve_run eos true)
echo "== gridcase serve, default mode, engine.sync_commit: false =="
read -r nosync_s nosync_kb < <(serve_run nosync false false)
echo "== gridcase serve, default mode, engine.write_behind: false (each write in place) =="
read -r inplace_s inplace_kb < <(serve_run inplace false true false)

rate() { awk -v n="$n" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
pipe_rate=$(rate "$pipe_s")
serve_rate=$(rate "$serve_s")
eos_rate=$(rate "$eos_s")
nosync_rate=$(rate "$nosync_s")
inplace_rate=$(rate "$inplace_s")
# Sustained: past the start (group join, first fetch), from the log's progress lines: the
# records after the first 10,000 over the time they took. The pipe's own figure runs from
# its first record to its last.
sustained() {  # sustained LOG
  python3 - "$1" "$n" <<'PY'
import datetime, re, sys
t = lambda l: datetime.datetime.strptime(l[:23], "%Y-%m-%d %H:%M:%S.%f")
seen = {}
for line in open(sys.argv[1], encoding="utf-8"):
    m = re.search(r"processed (\d+) records", line)
    if m:
        seen.setdefault(int(m.group(1)), t(line))
n = int(sys.argv[2])
if 10000 in seen and n in seen and seen[n] > seen[10000]:
    print("%.0f" % ((n - 10000) / (seen[n] - seen[10000]).total_seconds()))
else:
    print(0)
PY
}
serve_sustained=$(sustained "$tmp/plain.log")
inplace_sustained=$(sustained "$tmp/inplace.log")
pipe_sustained=$(grep -o 'pipe: [0-9]* records in [0-9.]* s = [0-9]*' "$tmp/pipe.out" | awk '{ print $NF }')

# The latency input: the throughput run's mix (action share 0.7), produced at a fixed rate;
# kafka_latency_bench stamps each event's `at` with the moment it is produced and times the
# reports among them.
lat_events() {  # lat_events RATE
  [ -s "$tmp/lat.jsonl" ] || "$g" generate --org config/org.yaml --events $(( $1 * secs * 2 + 1000 )) \
    --seed 9 --action-share 0.7 --start 2099-06-01T00:00:00Z --no-flood-week --out "$tmp/lat.jsonl"
}
wait_for() {  # wait_for FILE TEXT: bounded, until the process writing FILE says TEXT
  local deadline=$((SECONDS + 60))
  until grep -q "$2" "$1" 2>/dev/null || [ $SECONDS -gt $deadline ]; do sleep 0.05; done
}
latency() {  # latency NAME EXACTLY_ONCE RATE [SYNC_COMMIT]
  lat_events "$3"
  local in="bench.lat-in-$1.$run" out="bench.lat-out-$1.$run"
  config "$tmp/lat-$1.yaml" "$in" "$out" "$2" "bench-lat-$1-$run" "${4:-true}"
  "$g" submit --kafka "$brokers" --topic "$in" --partitions "$parts" /dev/null 2>/dev/null || true
  "$g" serve --config "$tmp/lat-$1.yaml" --org config/org.yaml --workflows workflows \
    --state-dir "$tmp/state-lat-$1" 2>"$tmp/lat-$1.log" &
  local pid=$!
  # Measure the running engine, not its start: wait until it holds its partitions.
  wait_for "$tmp/lat-$1.log" assigned
  "$build/bench/kafka_latency_bench" "$brokers" "$in" "$out" "$tmp/lat.jsonl" "$3" "$secs" || true
  kill -TERM "$pid"
  wait "$pid" || true
}
# The same input at the same rate through the bare pipe: what the broker, the clients and
# this machine cost before any engine work (one record out per record in).
latency_pipe() {  # latency_pipe RATE
  lat_events "$1"
  local in="bench.lat-in-pipe.$run" out="bench.lat-out-pipe.$run"
  "$g" submit --kafka "$brokers" --topic "$in" --partitions "$parts" /dev/null 2>/dev/null || true
  "$g" submit --kafka "$brokers" --topic "$out" --partitions "$parts" /dev/null 2>/dev/null || true
  "$build/bench/kafka_pipe_bench" "$brokers" "$in" "$out" $(( $1 * secs )) >/dev/null 2>"$tmp/lat-pipe.log" &
  local pid=$!
  wait_for "$tmp/lat-pipe.log" 'pipe: assigned'
  "$build/bench/kafka_latency_bench" "$brokers" "$in" "$out" "$tmp/lat.jsonl" "$1" "$secs" || true
  wait "$pid" || true
}
half=$(( serve_rate / 2 ))
echo "== latency at $half input events/s (half the default mode's rate), bare pipe =="
latency_pipe "$half"
echo "== latency at $half input events/s, serve, default mode =="
latency plain false "$half"
# Lower rates too: where the tail is this machine's two shared cores and where it is the
# engine's.
for div in 4 8; do
  echo "== latency at $(( serve_rate / div )) input events/s (1/$div of the default mode's rate), serve, default mode =="
  latency "plain-$div" false $(( serve_rate / div ))
done
echo "== latency at $half input events/s, serve, exactly_once =="
latency eos true "$half"
echo "== latency at $half input events/s, serve, default mode, engine.sync_commit: false =="
latency nosync false "$half" false

echo "== result =="
echo "bare pipe:            $n records in ${pipe_s}s = $pipe_rate records/s (RSS $((pipe_kb / 1024)) MB)"
echo "serve (default):      $n input events in ${serve_s}s = $serve_rate events/s, peak RSS $((serve_kb / 1024)) MB"
echo "serve (exactly_once): $n input events in ${eos_s}s = $eos_rate events/s, peak RSS $((eos_kb / 1024)) MB"
echo "serve (no fsync):     $n input events in ${nosync_s}s = $nosync_rate events/s, peak RSS $((nosync_kb / 1024)) MB"
echo "serve (write in place): $n input events in ${inplace_s}s = $inplace_rate events/s, peak RSS $((inplace_kb / 1024)) MB"
awk -v a="$serve_sustained" -v b="$pipe_sustained" -v c="$inplace_sustained" 'BEGIN {
  if (a > 0 && b > 0) printf "sustained (past the first 10,000): serve %d events/s (write in place %d), pipe %d records/s, ratio %.2f\n", a, c, b, a / b }'
awk -v a="$serve_rate" -v b="$pipe_rate" -v c="$eos_rate" \
  'BEGIN { printf "ratio serve / pipe = %.2f; exactly_once / pipe = %.2f (input events)\n", a / b, c / b }'
# The engine writes several case events per input event; the pipe one record per record.
out=$(grep -o 'processed [0-9]* records, [0-9]* dead letters, [0-9]* messages' "$tmp/plain.log" | tail -n 1 |
  awk '{ print $7 }')
if [ -n "$out" ]; then
  awk -v m="$out" -v s="$serve_s" -v p="$pipe_rate" 'BEGIN {
    printf "serve published %d messages: %.0f messages/s; messages / pipe records = %.2f\n", m, m / s, m / s / p }'
fi
