#!/usr/bin/env bash
# Measures one fixed workload against `regbench serve --strategy atomic` twice, each time on a fresh server:
# once with wrk (Debian's package; scripts/wrk-register.lua sends distinct bodies), once with regbench --target.
# Same connections, same body shape, about the same number of requests. Prints both figures.
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS=${CONNECTIONS:-100}
SECONDS_WRK=${SECONDS_WRK:-10}
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 3; }

out=$(mktemp)
trap 'rm -f "$out" "${LOG:-}"; [ -n "${SERVER_PID:-}" ] && kill -TERM "$SERVER_PID" 2>/dev/null || true' EXIT

start_server() {
  LOG=$(mktemp)
  local log=$LOG
  node bin/regbench.js serve --strategy atomic --port 0 >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do grep -q "regbench run --target" "$log" && break; sleep 0.1; done
  LINE=$(grep "regbench run --target" "$log")
  URL=$(sed -E 's/.*--target ([^ ]+).*/\1/' <<<"$LINE")
  # serve prints where its secrets are, never the secrets themselves.
  SECRETS=$(sed -E 's/.*--secrets-file ([^ ]+).*/\1/' <<<"$LINE")
  PROJECT_ID=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).projects[0].id' "$SECRETS")
  PROJECT_KEY=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).projects[0].key' "$SECRETS")
}
stop_server() { kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; rm -f "$LOG"; }

start_server
WRK_OUT=$(RB_PROJECT=$PROJECT_ID RB_KEY=$PROJECT_KEY RB_PREFIX=wrk$$ wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_WRK}s" -s scripts/wrk-register.lua "$URL/v1/register")
stop_server
echo "$WRK_OUT" | grep "^wrk:"
REQUESTS=$(grep "^wrk:" <<<"$WRK_OUT" | sed -E 's/^wrk: ([0-9]+) requests.*/\1/')

start_server
# One generator thread, as wrk -t1: on one machine, more threads would take CPU from the server they measure.
node bin/regbench.js run --target "$URL" --secrets-file "$SECRETS" -c "$CONNECTIONS" -n "$REQUESTS" --workers 1 --json --no-save >"$out"
stop_server
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results[0];
console.log(`regbench: ${r.requests} requests in ${(r.durationMs / 1000).toFixed(2)} s = ${Math.round(r.tps)} req/s, failed ${r.failed}, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, violations ${r.audit ? r.audit.violations : "n/a"}`);
' "$out"
