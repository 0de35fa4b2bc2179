#!/usr/bin/env bash
# Run a command against a throwaway Kafka broker: start one (ops/kafka/start.sh) on a free
# port with a temp data dir, export GRIDCASE_KAFKA_BROKERS, run the command, then stop the
# broker and delete its data whatever happened, and exit with the command's status.
#   ops/kafka/with-broker.sh ops/test.sh -L kafka
#   ops/kafka/with-broker.sh ctest --test-dir build -L kafka
set -uo pipefail

readonly PROG=${0##*/}
HERE=$(cd "$(dirname "$0")" && pwd)
readonly HERE
readonly START_FAILED=125  # exit status when no broker could be had (the command never ran)

usage() {
  cat <<EOF
Usage: $PROG [--timeout SECONDS] [--] CMD [ARGS...]

Starts a Kafka broker on 127.0.0.1:<free port> with a temp data dir, runs CMD with
GRIDCASE_KAFKA_BROKERS=127.0.0.1:<port> (also GRIDCASE_KAFKA_PORT, GRIDCASE_KAFKA_DATA)
in the environment, stops and purges the broker afterwards (also on failure or
SIGINT/SIGTERM), and exits with CMD's status; $START_FAILED if the broker did not start.

  --timeout SECONDS  how long start.sh waits for the broker (default: 90)
EOF
}

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit "$START_FAILED"; }

timeout_s=90
while [[ $# -gt 0 ]]; do
  case $1 in
    --timeout) [[ $# -ge 2 ]] || die "--timeout needs a value"; timeout_s=$2; shift 2 ;;
    --timeout=*) timeout_s=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option: $1 (see --help)" ;;
    *) break ;;
  esac
done
[[ $# -gt 0 ]] || { usage >&2; exit 2; }

port_open() {
  # shellcheck disable=SC2016  # $1 expands in the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" >/dev/null 2>&1
}

# A port in 20000-44999 nothing listens on, whose +1000 neighbour (start.sh's first choice
# for the controller) is free as well.
pick_port() {
  local p n
  for ((n = 0; n < 100; n++)); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 25000))
    if ! port_open "$p" && ! port_open $((p + 1000)); then
      printf '%s\n' "$p"
      return 0
    fi
  done
  return 1
}

port=""
data=""
child=""
# shellcheck disable=SC2317  # called from the traps below
cleanup() {
  [[ -n $data ]] || return 0
  "$HERE/stop.sh" --port "$port" --data "$data" --purge >&2 || true
  # start.sh may have failed before writing anything stop.sh recognises.
  [[ -d $data ]] && rm -rf -- "$data"
  data=""
}
# shellcheck disable=SC2317  # called from the traps below
on_signal() {
  if [[ -n $child ]]; then
    kill -s "$1" "$child" 2>/dev/null || true
  else
    cleanup
    exit $((128 + $2))
  fi
}
trap cleanup EXIT
trap 'on_signal INT 2' INT
trap 'on_signal TERM 15' TERM
trap 'on_signal HUP 1' HUP

addr=""
for attempt in 1 2 3; do
  port=$(pick_port) || die "no free port found"
  data=$(mktemp -d "${TMPDIR:-/tmp}/gridcase-kafka-XXXXXX") || die "mktemp failed"
  if out=$("$HERE/start.sh" --port "$port" --data "$data" --timeout "$timeout_s"); then
    addr=$(printf '%s\n' "$out" | tail -n 1)
    break
  fi
  printf '%s: broker start on port %s failed (attempt %s)\n' "$PROG" "$port" "$attempt" >&2
  cleanup
done
[[ -n $addr ]] || die "could not start a Kafka broker (see the messages above)"

export GRIDCASE_KAFKA_BROKERS=$addr GRIDCASE_KAFKA_PORT=$port GRIDCASE_KAFKA_DATA=$data
printf '%s: broker %s (data %s); running: %s\n' "$PROG" "$addr" "$data" "$*" >&2

# In the background so that a signal reaches the traps at once; stdin stays the caller's.
"$@" <&0 &
child=$!
while :; do
  wait "$child"
  rc=$?
  kill -0 "$child" 2>/dev/null || break  # else a trapped signal interrupted the wait
done
wait "$child" 2>/dev/null && rc=0 || rc=$?  # the child's own status, even after a signal
child=""
exit "$rc"
