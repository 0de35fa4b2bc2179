#!/usr/bin/env bash
# Stop the single-node Kafka broker started by ops/kafka/start.sh.
set -euo pipefail

readonly PROG=${0##*/}

usage() {
  cat <<EOF
Usage: $PROG [--port PORT] [--data DIR] [--purge] [--timeout SECONDS]

Stop the Kafka broker that ops/kafka/start.sh started for PORT/DIR: SIGTERM
(controlled shutdown), wait up to --timeout seconds (default 30), then SIGKILL.
Exits 0 when no such broker is running.

Options:
  --port PORT        client port given to start.sh (default: 9092)
  --data DIR         data dir given to start.sh
                     (default: \${TMPDIR:-/tmp}/gridcase-kafka-PORT)
  --purge            also delete DIR (topics, offsets, logs) afterwards
  --timeout SECONDS  grace period before SIGKILL (default: 30)
  -h, --help         show this help
EOF
}

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
info() { printf '%s: %s\n' "$PROG" "$*" >&2; }
is_uint() { [[ $1 =~ ^(0|[1-9][0-9]*)$ ]]; }

port=9092
data=""
purge=false
grace=30

need_arg() { [[ $# -ge 2 && -n $2 ]] || die "option $1 needs a value (see --help)"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --port) need_arg "$@"; port=$2; shift 2 ;;
    --port=*) port=${1#*=}; shift ;;
    --data) need_arg "$@"; data=$2; shift 2 ;;
    --data=*) data=${1#*=}; shift ;;
    --purge) purge=true; shift ;;
    --timeout) need_arg "$@"; grace=$2; shift 2 ;;
    --timeout=*) grace=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

if ! is_uint "$port" || ((port < 1 || port > 65535)); then die "invalid --port '$port' (1-65535)"; fi
is_uint "$grace" || die "invalid --timeout '$grace'"

data=${data:-${TMPDIR:-/tmp}/gridcase-kafka-$port}
data=$(realpath -m -- "$data")
readonly conf=$data/server.properties
readonly pid_file=$data/kafka.pid

# True when pid $1 is a live broker started by start.sh for $conf.
is_our_broker() {
  local pid=$1 cmdline
  is_uint "$pid" && kill -0 "$pid" 2>/dev/null || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *" kafka.Kafka $conf"* ]]
}

# Brokers of this data dir: the pid file, plus (should it be lost) any process
# whose command line runs kafka.Kafka with exactly this server.properties.
find_pids() {
  local pid p
  {
    if [[ -s $pid_file ]]; then
      pid=$(<"$pid_file")
      is_our_broker "$pid" && printf '%s\n' "$pid"
    fi
    for p in /proc/[0-9]*; do
      pid=${p#/proc/}
      is_our_broker "$pid" && printf '%s\n' "$pid"
    done
  } | sort -u
  return 0
}

mapfile -t pids < <(find_pids)

if ((${#pids[@]} == 0)); then
  info "no broker running for $data"
else
  info "stopping Kafka (pid ${pids[*]}, data $data)"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  deadline=$((SECONDS + grace))
  printf '%s: waiting for shutdown ' "$PROG" >&2
  while ((SECONDS < deadline)); do
    alive=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    ((${#alive[@]} == 0)) && break
    printf '.' >&2
    sleep 0.5
  done
  alive=()
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
  if ((${#alive[@]} > 0)); then
    printf ' still running after %ss, sending SIGKILL\n' "$grace" >&2
    kill -KILL "${alive[@]}" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      still=false
      for pid in "${alive[@]}"; do kill -0 "$pid" 2>/dev/null && still=true; done
      $still || break
      sleep 0.2
    done
    $still && die "could not kill pid ${alive[*]}"
  else
    printf ' stopped\n' >&2
  fi
fi
rm -f "$pid_file"

if $purge && [[ -d $data ]]; then
  case $data in
    /|/tmp|/var/tmp|"${HOME:-/}"|/root|/home) die "refusing to purge $data" ;;
  esac
  # Only delete what looks like a start.sh data dir (never an arbitrary directory).
  if [[ -f $conf || -f $data/controller.port || -d $data/kraft-logs ]]; then
    rm -rf -- "$data"
    info "purged $data"
  elif [[ -z $(ls -A -- "$data") ]]; then
    rmdir -- "$data"
    info "purged empty $data"
  else
    die "$data does not look like a start.sh data dir, not purging"
  fi
fi
exit 0
