#!/usr/bin/env bash
# Start a single-node Apache Kafka 4.x broker (KRaft, combined broker+controller)
# on 127.0.0.1, assembled from Maven Central artifacts. See ops/kafka/README.md.
set -euo pipefail

readonly PROG=${0##*/}
readonly DEFAULT_KAFKA_VERSION=4.2.2
# log4j2 version matching the one Kafka $DEFAULT_KAFKA_VERSION depends on; the
# SLF4J 1.x -> log4j2 binding must be the same version as log4j-core.
readonly DEFAULT_LOG4J_VERSION=2.25.5
readonly DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

usage() {
  cat <<EOF
Usage: $PROG [--port PORT] [--data DIR] [options]

Start a local single-node Kafka broker (KRaft mode, broker+controller in one
JVM) on 127.0.0.1:PORT and print the bootstrap address as the last stdout line.
The Kafka jars are fetched once from Maven Central with Maven into the cache.
If this script's broker already runs for PORT/DIR, only the address is printed.

Options:
  --port PORT             client (PLAINTEXT) port (default: 9092)
  --data DIR              data dir: server.properties, logs, pid, partitions
                          (default: \${TMPDIR:-/tmp}/gridcase-kafka-PORT)
  --controller-port PORT  KRaft controller port (default: PORT+1000 if free,
                          else a free port; reused on restart of DIR)
  --kafka-version VER     Kafka version (default: \$GRIDCASE_KAFKA_VERSION or
                          $DEFAULT_KAFKA_VERSION)
  --timeout SECONDS       how long to wait for the broker (default: 90)
  --set KEY=VALUE         extra server.properties line (repeatable)
  -h, --help              show this help

Environment:
  GRIDCASE_CACHE          cache root (default: \$HOME/.cache/gridcase); jars go
                          to \$GRIDCASE_CACHE/kafka-VERSION/libs
  GRIDCASE_KAFKA_VERSION  Kafka version (default: $DEFAULT_KAFKA_VERSION)
  GRIDCASE_LOG4J_VERSION  log4j2 version for the logging backend
                          (default: $DEFAULT_LOG4J_VERSION)
  GRIDCASE_KAFKA_HEAP     broker heap flags (default: -Xms256m -Xmx1g; Kafka's own script uses 1g)
  JAVA_HOME               Java 17+ to use (default: java on PATH)

Stop it with ops/kafka/stop.sh --port PORT [--data DIR] [--purge].
EOF
}

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
info() { printf '%s: %s\n' "$PROG" "$*" >&2; }

is_uint() { [[ $1 =~ ^(0|[1-9][0-9]*)$ ]]; }
valid_port() { is_uint "$1" && (($1 >= 1 && $1 <= 65535)); }

# --- arguments ---------------------------------------------------------------
port=9092
data=""
cport=""
kafka_version=${GRIDCASE_KAFKA_VERSION:-$DEFAULT_KAFKA_VERSION}
log4j_version=${GRIDCASE_LOG4J_VERSION:-$DEFAULT_LOG4J_VERSION}
timeout_s=90
extra_props=()

need_arg() { [[ $# -ge 2 && -n $2 ]] || die "option $1 needs a value (see --help)"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --port) need_arg "$@"; port=$2; shift 2 ;;
    --port=*) port=${1#*=}; shift ;;
    --data) need_arg "$@"; data=$2; shift 2 ;;
    --data=*) data=${1#*=}; shift ;;
    --controller-port) need_arg "$@"; cport=$2; shift 2 ;;
    --controller-port=*) cport=${1#*=}; shift ;;
    --kafka-version) need_arg "$@"; kafka_version=$2; shift 2 ;;
    --kafka-version=*) kafka_version=${1#*=}; shift ;;
    --timeout) need_arg "$@"; timeout_s=$2; shift 2 ;;
    --timeout=*) timeout_s=${1#*=}; shift ;;
    --set) need_arg "$@"; extra_props+=("$2"); shift 2 ;;
    --set=*) extra_props+=("${1#*=}"); shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

valid_port "$port" || die "invalid --port '$port' (1-65535)"
[[ -z $cport ]] || valid_port "$cport" || die "invalid --controller-port '$cport' (1-65535)"
[[ -z $cport || $cport != "$port" ]] || die "--controller-port must differ from --port"
if ! is_uint "$timeout_s" || ((timeout_s == 0)); then die "invalid --timeout '$timeout_s'"; fi
[[ $kafka_version =~ ^[0-9]+(\.[0-9]+)+([.-][A-Za-z0-9.-]+)?$ ]] \
  || die "invalid Kafka version '$kafka_version'"
for kv in "${extra_props[@]}"; do
  [[ $kv == ?*=* ]] || die "--set expects KEY=VALUE, got '$kv'"
done

data=${data:-${TMPDIR:-/tmp}/gridcase-kafka-$port}
data=$(realpath -m -- "$data")
[[ $data != / ]] || die "refusing to use / as data dir"

cache_root=${GRIDCASE_CACHE:-${HOME:?HOME is not set}/.cache/gridcase}
kafka_home=$cache_root/kafka-$kafka_version
libs=$kafka_home/libs

readonly conf=$data/server.properties
readonly pid_file=$data/kafka.pid
readonly log_dir=$data/logs
readonly kraft_dir=$data/kraft-logs

# --- prerequisites -----------------------------------------------------------
java_bin=${JAVA_HOME:+$JAVA_HOME/bin/}java
command -v "$java_bin" >/dev/null 2>&1 \
  || die "java not found (install Java 17+: sudo ops/setup.sh, or set JAVA_HOME)"
java_spec=$("$java_bin" -XshowSettings:properties -version 2>&1 \
  | sed -n 's/^ *java\.specification\.version = //p')
[[ -n $java_spec ]] || die "could not determine the Java version of $java_bin"
((${java_spec%%.*} >= 17)) \
  || die "Kafka $kafka_version needs Java 17+, $java_bin is $java_spec (set JAVA_HOME)"
for tool in flock setsid timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (Debian package util-linux/coreutils)"
done

# --- helpers -----------------------------------------------------------------
# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  # shellcheck disable=SC2016  # $1 expands in the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" >/dev/null 2>&1
}

# True when pid $1 is a live broker started by this script for $conf.
is_our_broker() {
  local pid=$1 cmdline
  is_uint "$pid" && kill -0 "$pid" 2>/dev/null || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *" kafka.Kafka $conf"* ]]
}

running_pid() {
  local pid
  [[ -s $pid_file ]] || return 1
  pid=$(<"$pid_file")
  is_our_broker "$pid" || return 1
  printf '%s\n' "$pid"
}

show_log_tail() {
  local f
  for f in "$log_dir/server.log" "$log_dir/kafka.out"; do
    [[ -s $f ]] || continue
    printf '%s: ---- last lines of %s ----\n' "$PROG" "$f" >&2
    tail -n 40 "$f" >&2
  done
}

# run_main OUT_FILE CLASS1[,CLASS2...] ARGS...: run the first main class that
# exists in the classpath (classes move between packages across Kafka versions).
run_main() {
  local out=$1 classes=$2 cls rc
  shift 2
  local -a candidates
  IFS=, read -r -a candidates <<<"$classes"
  for cls in "${candidates[@]}"; do
    rc=0
    timeout 120 "$java_bin" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
      -Dlog4j2.configurationFile="$data/tools-log4j2.properties" \
      -cp "$libs/*" "$cls" "$@" >"$out" 2>&1 || rc=$?
    if ((rc != 0)) && grep -q "Could not find or load main class $cls" "$out"; then
      continue
    fi
    return "$rc"
  done
  printf 'none of the main classes %s found in %s\n' "$classes" "$libs" >"$out"
  return 1
}

# --- fetch Kafka from Maven Central (once per version) -------------------------
fetch_kafka() {
  [[ -f $libs/.complete ]] && return 0
  command -v mvn >/dev/null 2>&1 || die "mvn not found (sudo ops/setup.sh installs maven)"
  mkdir -p "$kafka_home"
  exec 8>"$kafka_home/.fetch.lock"
  flock 8
  if [[ -f $libs/.complete ]]; then exec 8>&-; return 0; fi

  local t0=$SECONDS pom=$kafka_home/pom.xml fetch_log=$kafka_home/fetch.log tmp_libs
  info "fetching Kafka $kafka_version from Maven Central into $libs (once) ..."
  cat >"$pom" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by gridcase ops/kafka/start.sh: the jars of a Kafka broker -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.gridcase</groupId>
  <artifactId>kafka-dist</artifactId>
  <version>$kafka_version</version>
  <packaging>pom</packaging>
  <properties>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <!-- kafka.Kafka main class, KRaft server, kafka.tools.StorageTool -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$kafka_version</version>
    </dependency>
    <!-- admin/console CLIs (TopicCommand, ConsoleProducer, ConsoleConsumer, ...);
         Kafka Connect is not needed for a broker -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>$kafka_version</version>
      <exclusions>
        <exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion>
        <exclusion><groupId>com.fasterxml.jackson.jakarta.rs</groupId><artifactId>*</artifactId></exclusion>
      </exclusions>
    </dependency>
    <!-- logging backend: SLF4J 1.x -> log4j2, so the broker logs to a file -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$log4j_version</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>$log4j_version</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-api</artifactId>
      <version>$log4j_version</version>
    </dependency>
  </dependencies>
</project>
EOF
  tmp_libs=$(mktemp -d "$kafka_home/libs.tmp.XXXXXX")
  if ! mvn -B -ntp -f "$pom" "$DEPENDENCY_PLUGIN:copy-dependencies" \
      -DincludeScope=runtime -DoutputDirectory="$tmp_libs" >"$fetch_log" 2>&1; then
    rm -rf "$tmp_libs"
    grep -E 'ERROR|FAIL' "$fetch_log" | head -n 20 >&2 || tail -n 30 "$fetch_log" >&2
    die "Maven could not fetch Kafka $kafka_version (full log: $fetch_log)"
  fi
  compgen -G "$tmp_libs/kafka_2.13-*.jar" >/dev/null \
    || { rm -rf "$tmp_libs"; die "Maven succeeded but no kafka_2.13 jar in $tmp_libs"; }
  rm -rf "$libs"
  mv "$tmp_libs" "$libs"
  find "$libs" -maxdepth 1 -name "*.jar" -printf "%f\n" | sort >"$libs/.complete"
  exec 8>&-
  info "fetched $(wc -l <"$libs/.complete") jars in $((SECONDS - t0))s"
}

# --- configuration -------------------------------------------------------------
pick_controller_port() {
  local p
  if [[ -n $cport ]]; then
    port_open "$cport" && die "controller port $cport is already in use"
    return 0
  fi
  if [[ -s $data/controller.port ]]; then  # keep the port of a previous run
    p=$(<"$data/controller.port")
    if valid_port "$p" && [[ $p != "$port" ]] && ! port_open "$p"; then cport=$p; return 0; fi
  fi
  for p in $((port + 1000)) $((port + 1)) $((port + 2000)) $((port + 3000)); do
    if valid_port "$p" && ! port_open "$p"; then cport=$p; return 0; fi
  done
  for ((p = 20000 + RANDOM % 20000, n = 0; n < 50; n++, p = 20000 + RANDOM % 20000)); do
    if [[ $p != "$port" ]] && ! port_open "$p"; then cport=$p; return 0; fi
  done
  die "no free controller port found (use --controller-port)"
}

write_config() {
  local kv
  mkdir -p "$log_dir" "$kraft_dir"
  printf '%s\n' "$cport" >"$data/controller.port"
  {
    cat <<EOF
# generated by gridcase ops/kafka/start.sh (Kafka $kafka_version) - rewritten on each start
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$kraft_dir
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
EOF
    for kv in "${extra_props[@]}"; do printf '%s\n' "$kv"; done
  } >"$conf"

  cat >"$data/log4j2.properties" <<'EOF'
# broker logging (generated by gridcase ops/kafka/start.sh)
status = warn
name = gridcase-kafka
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.kafka-request.name = kafka.request.logger
logger.kafka-request.level = warn
EOF
  cat >"$data/tools-log4j2.properties" <<'EOF'
# CLI tools logging (generated by gridcase ops/kafka/start.sh)
status = warn
name = gridcase-kafka-tools
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = err
EOF
  cat >"$data/admin.properties" <<'EOF'
# client settings for the readiness check (generated by gridcase ops/kafka/start.sh)
request.timeout.ms=5000
default.api.timeout.ms=10000
EOF
}

random_cluster_id() {
  # Kafka cluster ids are 16 random bytes, URL-safe base64 without padding.
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id == -* ]] || break   # Kafka avoids ids starting with '-' (CLI parsing)
  done
  printf '%s\n' "$id"
}

format_storage() {
  [[ -f $kraft_dir/meta.properties ]] && return 0
  local id out=$data/format.out
  id=$(random_cluster_id)
  info "formatting KRaft storage in $kraft_dir (cluster id $id)"
  if ! run_main "$out" kafka.tools.StorageTool,org.apache.kafka.tools.StorageTool \
      format --config "$conf" --cluster-id "$id" --ignore-formatted; then
    head -n 12 "$out" >&2
    die "formatting the KRaft storage failed (full output: $out)"
  fi
}

# True when the broker answers a real Kafka request (list topics).
broker_answers() {
  port_open "$port" || return 1
  run_main "$data/check.out" org.apache.kafka.tools.TopicCommand,kafka.admin.TopicCommand \
    --bootstrap-server "127.0.0.1:$port" --command-config "$data/admin.properties" --list
}

# wait_ready PID: bounded wait with progress dots on stderr.
wait_ready() {
  local pid=$1 deadline=$((SECONDS + timeout_s))
  printf '%s: waiting for the broker on 127.0.0.1:%s ' "$PROG" "$port" >&2
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      printf ' exited\n' >&2
      return 1
    fi
    if port_open "$port" && broker_answers; then
      printf ' ready\n' >&2
      return 0
    fi
    printf '.' >&2
    sleep 1
  done
  printf ' timed out after %ss\n' "$timeout_s" >&2
  [[ -s $data/check.out ]] && tail -n 5 "$data/check.out" >&2
  return 1
}

# --- main --------------------------------------------------------------------
mkdir -p "$data"
exec 9>"$data/.start.lock"
flock -w "$((timeout_s + 30))" 9 || die "another start.sh holds $data/.start.lock"

if pid=$(running_pid); then
  info "broker already running (pid $pid, data $data)"
  if ! wait_ready "$pid"; then
    show_log_tail
    die "broker pid $pid is running but does not answer on 127.0.0.1:$port"
  fi
  printf '127.0.0.1:%s\n' "$port"
  exit 0
fi
rm -f "$pid_file"
port_open "$port" && die "port $port is already in use by another process (not a broker of $data)"

fetch_kafka
pick_controller_port
write_config
format_storage

t0=$SECONDS
: >"$log_dir/kafka.out"
# shellcheck disable=SC2086  # heap flags are a word list on purpose
setsid "$java_bin" ${GRIDCASE_KAFKA_HEAP:--Xms256m -Xmx1g} -XX:+UseG1GC \
  -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
  -Dkafka.logs.dir="$log_dir" -Dlog4j2.configurationFile="$data/log4j2.properties" \
  -cp "$libs/*" kafka.Kafka "$conf" >>"$log_dir/kafka.out" 2>&1 </dev/null 9>&- &
pid=$!
printf '%s\n' "$pid" >"$pid_file"
info "started Kafka $kafka_version (pid $pid, controller port $cport, data $data)"

if ! wait_ready "$pid"; then
  show_log_tail
  if kill -0 "$pid" 2>/dev/null; then
    info "stopping the unhealthy broker (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file"
  die "Kafka did not become ready (logs: $log_dir)"
fi
info "broker ready in $((SECONDS - t0))s"
printf '127.0.0.1:%s\n' "$port"
