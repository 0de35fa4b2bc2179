#!/usr/bin/env bash
# Builds gridcase and runs the whole test suite with ctest.
#   ops/test.sh              normal build in build/, every test
#   ops/test.sh --sanitize   AddressSanitizer + UBSan build in build-asan/, every test
#   ops/test.sh -L unit      only the fast unit tests (any ctest arguments pass through)
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
ctest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize)
      build=build-asan
      cmake_args=(-DCMAKE_BUILD_TYPE=Debug -DGRIDCASE_SANITIZE=ON -DGRIDCASE_BENCH=OFF)
      ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) ctest_args+=("$1") ;;
  esac
  shift
done

jobs=$(nproc 2>/dev/null || echo 2)
echo "== 构建 build ($build) =="
cmake -S . -B "$build" -G Ninja "${cmake_args[@]}" >/dev/null
cmake --build "$build" -j "$jobs"
if command -v npm >/dev/null 2>&1; then
  echo "== 网页应用 web app (connectors/web: npm ci, npm run build) =="
  (
    cd connectors/web
    [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund
    npm run build
  )
fi
echo "== 测试 test ($build) =="
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure -j "$jobs" "${ctest_args[@]}"
