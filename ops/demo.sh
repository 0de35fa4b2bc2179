#!/usr/bin/env bash
# Builds gridcase and runs the main job on the embedded default (no Kafka needed):
# validates the shipped rules, generates a week of sample reports for the sample county,
# submits them, runs `gridcase serve` until the input is processed, and shows the result.
#   ops/demo.sh [EVENTS]     (default 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-20000}
state=${GRIDCASE_DEMO_STATE:-state/demo}

echo "== 构建 build =="
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target gridcase
g=build/app/gridcase

echo "== 校验流程与组织树 validate workflows and the org tree =="
"$g" validate workflows config/org.yaml

# The stream starts today: events dated ahead of the wall clock move the engine clock with
# them, so serve shows in seconds what the coming weeks would bring (SLA escalations too).
start=$(date -u +%Y-%m-%dT00:00:00Z)
echo "== 生成 $events 条模拟上报 generate sample reports from $start (deterministic) =="
mkdir -p "$state"
"$g" generate --org config/org.yaml --events "$events" --seed 7 --action-share 0.7 \
  --start "$start" --out "$state/events.jsonl"

echo "== 提交并运行引擎 submit, then serve on the embedded log =="
rm -rf "$state/engine" "$state/log" "$state/spool"
"$g" submit --state-dir "$state" "$state/events.jsonl"
"$g" serve --config config/gridcase.yaml --state-dir "$state" --until-idle

echo "== 前 5 条案件事件 first case events (gridcase tail) =="
"$g" tail --state-dir "$state" --from-beginning | head -n 5 || true
echo "== 案件快照 case snapshot: $("$g" cases --org config/org.yaml --workflows workflows --state-dir "$state" | grep -c '"case_id"') cases =="

echo "== 同一输入按虚拟时间回放 the same input on virtual time (simulate --summary) =="
"$g" simulate --org config/org.yaml --workflows workflows --events "$state/events.jsonl" \
  --summary --no-progress >/dev/null
