#!/usr/bin/env bash
# The HTTP load generator's ceiling: regbench --target against wrk on one nginx worker that answers every
# registration with a fixed 200 in microseconds, so that the generator, not the server, is the limit. Then the open
# loop at 80% of regbench's closed-loop figure, to check that it keeps its schedule. Needs Debian's nginx-light and
# wrk. Usage: scripts/ceiling.sh [connections] [requests]. Prints one line per measurement.
set -euo pipefail
cd "$(dirname "$0")/.."
c=${1:-100}
n=${2:-300000}
command -v nginx >/dev/null && command -v wrk >/dev/null || { echo "needs nginx and wrk: apt-get install -y nginx-light wrk" >&2; exit 3; }
dir=$(mktemp -d)
cleanup() {
  [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
cat >"$dir/nginx.conf" <<CONF
worker_processes 1; daemon on; pid $dir/nginx.pid; error_log $dir/error.log;
events { worker_connections 4096; }
http { access_log off; client_body_buffer_size 16k; client_body_temp_path $dir;
  server { listen 127.0.0.1:$port; keepalive_requests 1000000;
    location = /v1/register { default_type application/json; return 200 '{"machineId":"m","ipv4":"10.0.0.2","config":"x"}'; }
    location / { return 404; } } }
CONF
nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log"
sleep 0.3
url="http://127.0.0.1:$port"
# Secrets through the environment, never on the command line.
export REGBENCH_PROJECTS=p:k
rb() { node bin/regbench.js run --target "$url" -c "$c" --json --no-save "$@" 2>/dev/null; }
field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s).results[0];console.log(eval(process.argv[1]))})' "$1"; }
# Two rounds, alternating, to see the machine's noise; each figure as measured.
for round in 1 2; do
  w=$(RB_PROJECT=p RB_KEY=k RB_PREFIX=w$round wrk -t1 -c"$c" -d8s -s scripts/wrk-register.lua "$url/v1/register" 2>&1 | grep -o '= [0-9]* req/s' | grep -o '[0-9]*')
  r=$(rb -n "$n" | field 'Math.floor(r.tps)')
  echo "ceiling round $round -c $c: wrk $w req/s; regbench --target $r req/s; ratio $(node -e "console.log(($r/$w).toFixed(2))")"
done
rate=$(node -e "console.log(Math.floor($r * 0.8))")
achieved=$(rb -n "$n" --rate "$rate" | field 'Math.round(r.pacing.achievedRate)')
echo "open loop at 80% of regbench's ceiling: target $rate/s; achieved $achieved/s; off by $(node -e "console.log((Math.abs($achieved-$rate)/$rate*100).toFixed(2))")%"
