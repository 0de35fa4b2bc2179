#!/usr/bin/env bash
# The web app's tests, for ctest (label `web`):
#   ops/web_test.sh unit    Vitest unit tests of the view logic
#   ops/web_test.sh e2e     browser tests: headless Debian Chromium against a real `gridcase serve`
# Exit 77 (ctest: skipped) only when node/npm (or, for e2e, Chromium) are not installed;
# ops/setup.sh installs them. Installs the npm packages and builds the app when missing.
# GRIDCASE_BIN: the gridcase executable; screenshots go to GRIDCASE_WEB_ARTIFACTS.
set -euo pipefail
mode=${1:?usage: ops/web_test.sh unit|e2e}
cd "$(dirname "$0")/../connectors/web"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "SKIP: node/npm not installed (bash ops/setup.sh installs them)"
  exit 77
fi
if [ "$mode" = e2e ] && [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "SKIP: no Chromium at ${CHROMIUM:-/usr/bin/chromium} (bash ops/setup.sh installs it)"
  exit 77
fi
# One install/build at a time when ctest runs both tests in parallel.
exec 9>"${TMPDIR:-/tmp}/gridcase-web-build.lock"
flock 9
[ -d node_modules ] || npm ci --no-audit --no-fund
if [ "$mode" = e2e ] && [ ! -f dist/index.html ]; then npm run build; fi
flock -u 9

case "$mode" in
  unit) exec npx vitest run ;;
  e2e) exec node e2e/run.mjs ;;
  *) echo "usage: ops/web_test.sh unit|e2e" >&2; exit 2 ;;
esac
