#!/usr/bin/env bash
# gridcase: install every Debian package the project needs (Debian 12, run as root).
# gridcase：安装项目所需的全部 Debian 软件包（Debian 12，以 root 运行）。
#
# Idempotent: when every package is already installed it neither runs
# apt-get update nor apt-get install, so a re-run takes well under a second.
set -euo pipefail

PACKAGES=(
  # toolchain / 工具链
  build-essential g++ cmake ninja-build pkg-config git python3
  # libraries / 依赖库
  libboost-dev            # Asio / Beast
  libssl-dev              # libcrypto: SHA-256 of API tokens, CSPRNG
  librdkafka-dev
  libssl-dev              # SHA-256 / HMAC / base64 (libcrypto)
  librocksdb-dev
  liblz4-dev              # the stored outbox is compressed (storage/rocksdb_store.cpp)
  libyaml-cpp-dev
  nlohmann-json3-dev
  libsimdjson-dev         # report bodies on the HTTP intake's hot path
  libspdlog-dev
  libfmt-dev
  libcli11-dev            # the command line of the gridcase executable
  libjemalloc-dev         # the executables' allocator (faster than glibc malloc here)
  # tests & benchmarks / 测试与基准
  libgtest-dev libgmock-dev libbenchmark-dev
  wrk                     # HTTP load generator (ops/bench/http_bench.sh)
  # clang, formatting, libFuzzer + sanitizer runtime / clang、格式化、模糊测试与 sanitizer 运行时
  clang clang-format libclang-rt-14-dev
  # Java for the local Kafka broker (ops/kafka) / 本地 Kafka broker 所需的 Java
  default-jdk-headless maven
  # the web app's browser tests (headless, no browser download) and CJK glyphs for their
  # screenshots / 网页端浏览器测试（无头 Chromium）及截图所需中文字体
  chromium fonts-wqy-microhei
)
# Node.js and npm build and test the web app (connectors/web); a Node already installed
# (e.g. from NodeSource, which bundles npm) is kept. / 构建网页应用所需的 Node.js 与 npm
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

usage() {
  cat <<'EOF'
Usage: ops/setup.sh [--help]

Installs the Debian 12 packages gridcase needs (compilers, CMake/Ninja,
Boost, librdkafka, RocksDB, yaml-cpp, nlohmann-json, spdlog, fmt, GoogleTest,
Google Benchmark, clang + libFuzzer runtime, JDK + Maven for the local Kafka,
Node.js + npm and Chromium for the web app and its browser tests).
Must run as root. Skips apt-get entirely when everything is already installed.

安装 gridcase 所需的 Debian 12 软件包。需以 root 运行；若全部已安装则直接跳过。
EOF
}

step() { printf '==> %s / %s\n' "$1" "$2"; }
die() { printf 'setup.sh: error / 错误: %s\n' "$*" >&2; exit 1; }

for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $arg" ;;
  esac
done

[[ ${EUID:-$(id -u)} -eq 0 ]] || die "must run as root (try: sudo $0) / 需要 root 权限"
command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script targets Debian 12 / 未找到 apt-get"

if [[ -r /etc/os-release ]]; then
  # shellcheck disable=SC1091
  . /etc/os-release
  if [[ "${ID:-}" != debian || "${VERSION_ID:-}" != 12 ]]; then
    printf 'setup.sh: warning: tested on Debian 12, this is %s %s / 警告：仅在 Debian 12 上测试过\n' \
      "${ID:-unknown}" "${VERSION_ID:-?}" >&2
  fi
fi

step "检查已安装的软件包" "checking installed packages"
missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  [[ "$status" == ii* ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  step "全部 ${#PACKAGES[@]} 个软件包已安装，跳过 apt-get" \
    "all ${#PACKAGES[@]} packages already installed, skipping apt-get"
else
  export DEBIAN_FRONTEND=noninteractive
  log=$(mktemp "${TMPDIR:-/tmp}/gridcase-setup.XXXXXX.log")
  trap 'rm -f "$log"' EXIT
  run_logged() {
    if ! "$@" >"$log" 2>&1; then
      tail -n 30 "$log" >&2
      die "command failed / 命令失败: $*"
    fi
  }
  step "更新软件包索引" "apt-get update"
  run_logged apt-get update -q
  step "安装 ${#missing[@]} 个缺失的软件包: ${missing[*]}" \
    "installing ${#missing[@]} missing package(s): ${missing[*]}"
  run_logged apt-get install -y -q \
    -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}"
fi

step "验证工具链" "verifying toolchain"
for tool in g++ cmake ninja pkg-config git python3 clang clang-format java mvn node npm chromium; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' still missing after install / 安装后仍缺少 '$tool'"
done
java_major=$(java -XshowSettings:properties -version 2>&1 \
  | sed -n 's/^ *java\.specification\.version = //p')
if [[ -n "$java_major" ]] && ((${java_major%%.*} < 17)); then
  die "Java $java_major found, Kafka 4.x needs Java 17+ / Kafka 4.x 需要 Java 17+"
fi

step "完成" "done"
