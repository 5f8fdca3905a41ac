#!/usr/bin/env bash
# The HTTP load generator's ceiling: regbench --target against wrk on one nginx worker that answers every
# registration with a fixed 200 in microseconds, so that the generator, not the server, is the limit. Then the open
# loop at 80% of regbench's closed-loop figure, to check that it keeps its schedule. Needs Debian's nginx-light and
# wrk. Prints one line per measurement.
#
# Usage: scripts/ceiling.sh [--profile FILE] [--base BIN] [connections] [requests]
#   --profile FILE  each round also runs --target with --profile FILE, right before or after (alternately) the
#                   built-in profile's run, and prints its pace as a ratio of the built-in's: what a request profile
#                   costs the generator. The nginx answers /api/v2/… with a fixed 201 {"device": {"id", "address",
#                   "config"}}, as scripts/ceiling-profile.yaml (npm run bench's) and examples/device-api/profile.yaml
#                   read it.
#   --base BIN      each round also runs another build's bin/regbench.js (built) against the same nginx, and prints
#                   this build's pace as a ratio of its: with the build of the commit before request profiles, the
#                   built-in profile against the code path it replaced.
set -euo pipefail
usage="usage: scripts/ceiling.sh [--profile FILE] [--base BIN] [connections] [requests]"
profile=""
base=""
while [ $# -gt 0 ]; do
  case "$1" in
    --profile | --base)
      [ $# -ge 2 ] || { echo "$1 needs a value; $usage" >&2; exit 2; }
      file=$(realpath -e -- "$2" 2>/dev/null) || { echo "$1: no file $2; $usage" >&2; exit 2; }
      if [ "$1" = --profile ]; then profile=$file; else base=$file; fi
      shift 2
      ;;
    --help | -h) echo "$usage"; exit 0 ;;
    -*) echo "unknown option $1; $usage" >&2; exit 2 ;;
    *) break ;;
  esac
done
cd "$(dirname "$0")/.."
c=${1:-100}
n=${2:-300000}
[[ $c =~ ^[1-9][0-9]*$ && $n =~ ^[1-9][0-9]*$ ]] || { echo "connections and requests must be whole numbers above 0; $usage" >&2; exit 2; }
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
    location /api/v2/ { default_type application/json; return 201 '{"device":{"id":"dev_1","address":"10.0.0.2","config":"interface: {address: 10.0.0.2/24}"}}'; }
    location / { return 404; } } }
CONF
nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log"
sleep 0.3
url="http://127.0.0.1:$port"
# Secrets through the environment, never on the command line.
export REGBENCH_PROJECTS=p:k
# rb BIN ARGS…: one run of that build against the nginx, its JSON on stdout.
rb() {
  local bin=$1
  shift
  node "$bin" run --target "$url" -c "$c" --json --no-save "$@" 2>/dev/null
}
field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s).results[0];console.log(eval(process.argv[1]))})' "$1"; }
tps() { rb "$@" -n "$n" | field 'Math.floor(r.tps)'; }
ratio() { node -e "console.log(($1/$2).toFixed(2))"; }
# Two rounds, alternating, to see the machine's noise; each figure as measured.
for round in 1 2; do
  w=$(RB_PROJECT=p RB_KEY=k RB_PREFIX=w$round wrk -t1 -c"$c" -d8s -s scripts/wrk-register.lua "$url/v1/register" 2>&1 | grep -o '= [0-9]* req/s' | grep -o '[0-9]*')
  # With --profile, the profile's run goes first in every other round: neither side always has the warmer machine.
  if [ -n "$profile" ] && [ $((round % 2)) -eq 0 ]; then p=$(tps bin/regbench.js --profile "$profile"); fi
  r=$(tps bin/regbench.js)
  if [ -n "$profile" ] && [ $((round % 2)) -eq 1 ]; then p=$(tps bin/regbench.js --profile "$profile"); fi
  echo "ceiling round $round -c $c: wrk $w req/s; regbench --target $r req/s; ratio $(ratio "$r" "$w")"
  if [ -n "$profile" ]; then
    echo "profile round $round -c $c: built-in $r req/s; --profile $(basename "$profile") $p req/s; ratio $(ratio "$p" "$r")"
  fi
  if [ -n "$base" ]; then
    b=$(tps "$base")
    echo "base round $round -c $c: --base $b req/s; this build $r req/s; ratio $(ratio "$r" "$b")"
  fi
done
rate=$(node -e "console.log(Math.floor($r * 0.8))")
achieved=$(rb bin/regbench.js -n "$n" --rate "$rate" | field 'Math.round(r.pacing.achievedRate)')
echo "open loop at 80% of regbench's ceiling: target $rate/s; achieved $achieved/s; off by $(node -e "console.log((Math.abs($achieved-$rate)/$rate*100).toFixed(2))")%"
