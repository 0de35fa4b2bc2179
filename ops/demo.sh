#!/usr/bin/env bash
# Builds gridcase and runs the main job on the embedded default (no Kafka needed):
# validates the shipped rules, generates a week of sample reports for the sample county,
# submits them, runs `gridcase serve` until the input is processed, shows the result, then
# serves the dashboard (the web app) on http://127.0.0.1:8080/ until Ctrl-C
# (GRIDCASE_DEMO_SERVE=0: print how instead; GRIDCASE_DEMO_HTTP=HOST:PORT elsewhere).
#   ops/demo.sh [EVENTS]     (default 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-20000}
state=${GRIDCASE_DEMO_STATE:-state/demo}
listen=${GRIDCASE_DEMO_HTTP:-127.0.0.1:8080}

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
# --http (any free port): the store keeps the read models the dashboard shows later
# (timelines, figures); nobody calls it during this run.
"$g" serve --config config/gridcase.yaml --state-dir "$state" --until-idle --http 127.0.0.1:0

echo "== 前 5 条案件事件 first case events (gridcase tail) =="
"$g" tail --state-dir "$state" --from-beginning | head -n 5 || true
echo "== 案件快照 case snapshot: $("$g" cases --org config/org.yaml --workflows workflows --state-dir "$state" | grep -c '"case_id"') cases =="

echo "== 同一输入按虚拟时间回放 the same input on virtual time (simulate --summary) =="
"$g" simulate --org config/org.yaml --workflows workflows --events "$state/events.jsonl" \
  --summary --no-progress >/dev/null

# The dashboard on the demo's data: the web app served by `gridcase serve` itself.
echo "== 网页应用 the web app (connectors/web) =="
if command -v npm >/dev/null 2>&1; then
  (
    cd connectors/web
    [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund >/dev/null
    npm run build >/dev/null
  )
else
  echo "npm 未安装，网页不可用（bash ops/setup.sh 安装）/ npm missing: no web app (bash ops/setup.sh installs it)"
fi
county=$("$g" token add --person c-0001 --name demo --state-dir "$state" 2>/dev/null | tail -n 1)
officer=$("$g" token add --person s-0101 --name demo --state-dir "$state" 2>/dev/null | tail -n 1)
worker=$("$g" token add --person w-0001 --name demo --state-dir "$state" 2>/dev/null | tail -n 1)
admin=$("$g" token add --person admin-0001 --name demo --state-dir "$state" 2>/dev/null | tail -n 1)
# The shipped rules as deployed version 1, so the administrators' page lists versions and
# an edit of workflows/*.yaml while serving becomes version 2 (docs/lifecycle.md).
"$g" deploy workflows --org config/org.yaml --state-dir "$state" --actor demo >/dev/null
serve_cmd=("$g" serve --config config/gridcase.yaml --state-dir "$state" --http "$listen")
cat <<MSG
== 督办平台 dashboard: http://$listen/ ==
   登录令牌 sign in with a token:
     县级干部 扎西央金 (c-0001, whole county)   $county
     社区干部 扎西 (s-0101, 第一社区)            $officer
     网格员 才仁 (w-0001, 上报 /report)          $worker
     管理员 久美拉姆 (admin-0001, 流程版本 /admin)  $admin
MSG
if [ "${GRIDCASE_DEMO_SERVE:-1}" = 1 ]; then
  echo "   服务运行中，按 Ctrl-C 停止 / serving; Ctrl-C stops it (GRIDCASE_DEMO_SERVE=0: do not serve)"
  exec "${serve_cmd[@]}"
else
  echo "   启动服务 / to serve it: ${serve_cmd[*]}"
fi
