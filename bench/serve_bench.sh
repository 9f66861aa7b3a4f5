#!/usr/bin/env bash
# vidx serve under wrk load on loopback (docs/BENCHMARKS.md, "Dashboard"):
# requests/s for the overview and a page of failures on a catalog of 100,000
# videos, and for a thumbnail (a stored JPEG frame), against Python's
# http.server serving the same bytes as static files (the same overview JSON,
# saved; the same frame file), alternating vidx / peer, RUNS rounds of
# DURATION each with 2 threads and 16 connections. Prints one line per round
# and the medians.
# Usage: bench/serve_bench.sh [RUNS=5] [DURATION=5s]    (needs wrk: VIDX_BENCH_DEPS=1 scripts/deps.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5} dur=${2:-5s}
vidx=${VIDX_BIN:-$PWD/build/tools/vidx/vidx}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
ffmpeg -v error -f lavfi -i testsrc2=duration=4:size=640x360:rate=30 -c:v libx264 -g 60 "$work/clip.mp4"
"$vidx" run "$work/clip.mp4" -o "$work/out" --count 8 --progress none
# 99,999 more videos, every 10th failed, straight into the catalog (as a run records them)
/usr/bin/python3 - "$work/out/catalog.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = [('/lib/d%03d/v%06d.mp4' % (i % 1000, i), 'v%06d' % i, 'failed' if i % 10 == 0 else 'ok',
         ('decode', 'format', 'timeout')[i % 3] if i % 10 == 0 else None,
         'cannot read v%06d' % i if i % 10 == 0 else None, 1.7e9 + i, 0.5, 0 if i % 10 == 0 else 8, 1.7e9 + i)
        for i in range(1, 100000)]
db.executemany('INSERT INTO videos(path,key,status,error_class,error,attempts,started_at,seconds,frames,'
               'updated_at) VALUES(?,?,?,?,?,1,?,?,?,?)', rows)
db.commit()
PY
"$vidx" serve "$work/out" --listen 127.0.0.1:0 >"$work/serve.txt" &
pids+=($!)
for _ in $(seq 50); do grep -q http "$work/serve.txt" && break; sleep 0.1; done
url=$(grep -o 'http://[^ ?]*' "$work/serve.txt")
frame=$(sqlite3 "$work/out/catalog.db" "SELECT location FROM frames WHERE video_id=1 AND seq=0")
mkdir -p "$work/static"
curl -s "${url}api/overview" >"$work/static/overview.json"
curl -s "${url}api/videos?status=failing" >"$work/static/failing.json"
cp "$work/out/$frame" "$work/static/frame.jpg"
(cd "$work/static" && exec /usr/bin/python3 -m http.server 0 --bind 127.0.0.1 >"$work/peer.txt" 2>&1) &
pids+=($!)
for _ in $(seq 50); do grep -q 'port' "$work/peer.txt" && break; sleep 0.1; done
peer="http://127.0.0.1:$(grep -o 'port [0-9]*' "$work/peer.txt" | cut -d' ' -f2)/"
echo "# $(nproc) cores; catalog: 100000 videos; frame: $(stat -c %s "$work/static/frame.jpg") bytes; overview: $(stat -c %s "$work/static/overview.json") bytes"
rps() { wrk -t2 -c16 -d"$dur" "$1" | awk '/Requests\/sec/{print $2}'; }
declare -A all
for r in $(seq "$runs"); do
  for t in "overview ${url}api/overview ${peer}overview.json" \
           "failing ${url}api/videos?status=failing ${peer}failing.json" \
           "thumbnail ${url}api/videos/1/frames/0 ${peer}frame.jpg"; do
    set -- $t
    a=$(rps "$2"); b=$(rps "$3")
    echo "round $r $1: vidx serve $a req/s, http.server $b req/s"
    all[$1-vidx]+="$a " all[$1-peer]+="$b "
  done
done
med() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
for k in overview failing thumbnail; do
  v=$(echo "${all[$k-vidx]}" | med); p=$(echo "${all[$k-peer]}" | med)
  echo "median $k: vidx serve $v req/s, python3 http.server (static) $p req/s, ratio $(awk -v a="$v" -v b="$p" 'BEGIN{printf "%.2f", a/b}')"
done
