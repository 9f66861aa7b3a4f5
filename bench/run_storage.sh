#!/usr/bin/env bash
# Storage and scale benchmark: files vs shards layouts, and per-video time as the
# library (and so the catalog) grows.
#
# Usage: bench/run_storage.sh            (LIBNAME=lib100 by default; lib10k for scale)
#
#   layouts: the whole library with each layout, ROUNDS runs each, alternating
#     vidx run LIB -o OUT --count COUNT --audio wav --jobs JOBS --layout files|shards
#   For each run: wall time, the supervisor's store + catalog time (the run's
#   end event, `commit_seconds`) and its share of the wall time; after the last run of
#   each layout: bytes on disk (allocated, `du -sB1`), apparent bytes, inodes
#   (`find OUT | wc -l`), catalog size.
#   scale (SCALE=1, lib10k): the first SCALE_SMALL (100) clips of the library as an
#   @list, ROUNDS runs, against the whole-library runs above: per-video time
#   small vs whole (the whole runs also grow the catalog to 10,000 videos and
#   300,000 frame rows).
#
# Results: $RESDIR (default bench/results/storage-LIBNAME-<time>/): runs.tsv (one line per
# run), summary.md (medians), meta.txt.
# Environment: VIDX, LIBNAME, COUNT (30), JOBS (2), ROUNDS (3), RESDIR, BENCH_TMP,
#              LAYOUTS ("files shards"), SCALE (1 for lib10k, else 0), SCALE_SMALL (100).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$REPO"

VIDX="${VIDX:-build/tools/vidx/vidx}"
LIBNAME="${LIBNAME:-lib100}"
COUNT="${COUNT:-30}"
JOBS="${JOBS:-2}"
ROUNDS="${ROUNDS:-3}"
LAYOUTS="${LAYOUTS:-files shards}"
SCALE_SMALL="${SCALE_SMALL:-100}"
case "$LIBNAME" in
    lib100) GEN=(100 10 640x360); SCALE="${SCALE:-0}" ;;
    lib10k) GEN=(10000 2 320x240); SCALE="${SCALE:-1}" ;;
    *) echo "unknown LIBNAME $LIBNAME (lib100, lib10k)" >&2; exit 2 ;;
esac
LIB="bench/data/$LIBNAME"
RESDIR="${RESDIR:-bench/results/storage-$LIBNAME-$(date +%Y%m%d-%H%M%S)}"
T="${BENCH_TMP:-${TMPDIR:-/tmp}/vidx-bench}/storage-$LIBNAME"
mkdir -p "$RESDIR" "$T"
bench/make_lib.sh "$LIBNAME" "${GEN[@]}" >/dev/null
NVID=$(find "$LIB" -maxdepth 1 -name '*.mp4' | wc -l)

{
    bench_machine
    echo "filesystem of $T: $(df -T "$T" | awk 'NR == 2 { print $2 }')"
    bench_revision 1
    echo "input: $LIB: $NVID clips of ${GEN[1]}s ${GEN[2]}"
    echo "job: $COUNT uniform frames (JPEG) + 16 kHz mono WAV per clip, --jobs $JOBS"
    echo "rounds: $ROUNDS; layouts: $LAYOUTS; scale: $SCALE (first $SCALE_SMALL clips)"
} > "$RESDIR/meta.txt"
cat "$RESDIR/meta.txt"

find "$REPO/$LIB" -maxdepth 1 -name "*.mp4" | sort | sed -n "1,${SCALE_SMALL}p" > "$T/small.txt"  # sed reads all: no SIGPIPE under pipefail
printf 'case\tround\tvideos\twall_s\tcommit_s\tcommit_pct\tper_video_ms\tdisk_bytes\tapparent_bytes\tinodes\tcatalog_bytes\n' \
    > "$RESDIR/runs.tsv"

one_run() {  # one_run CASE ROUND LAYOUT INPUT
    local case=$1 round=$2 layout=$3 input=$4 out="$T/$1" end wall commit
    rm -rf "$out"
    sync
    end=$("$VIDX" run "$input" -o "$out" --count "$COUNT" --audio wav --jobs "$JOBS" \
              --layout "$layout" --progress json 2>/dev/null | grep '"event":"end"' | tail -1)
    "$PY" - "$case" "$round" "$out" "$end" >> "$RESDIR/runs.tsv" <<'EOF'
import json, os, subprocess, sys
case, rnd, out, end = sys.argv[1:5]
e = json.loads(end)
disk = int(subprocess.run(['du', '-sB1', out], capture_output=True, text=True).stdout.split()[0])
app = int(subprocess.run(['du', '-sb', out], capture_output=True, text=True).stdout.split()[0])
inodes = 1 + sum(len(d) + len(f) for _, d, f in os.walk(out))  # as find OUT | wc -l
cat = sum(os.path.getsize(os.path.join(out, n)) for n in os.listdir(out) if n.startswith('catalog.db'))
print('\t'.join(str(x) for x in (case, rnd, e['done'], '%.3f' % e['seconds'], '%.3f' % e['commit_seconds'],
      '%.2f' % (100 * e['commit_seconds'] / e['seconds']), '%.2f' % (1000 * e['seconds'] / e['done']),
      disk, app, inodes, cat)))
EOF
    tail -1 "$RESDIR/runs.tsv"
}

for (( r = 0; r < ROUNDS; r++ )); do
    wait_quiet
    for layout in $LAYOUTS; do
        one_run "$layout" "$r" "$layout" "$LIB"
        [[ $SCALE == 1 ]] && one_run "$layout-first$SCALE_SMALL" "$r" "$layout" "@$T/small.txt"
    done
done

"$PY" - "$RESDIR" <<'EOF' | tee "$RESDIR/summary.md"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1] + '/runs.tsv'), delimiter='\t'))
cases = []
for r in rows:
    if r['case'] not in cases:
        cases.append(r['case'])
print('| case | videos | runs | wall s (median) | per video ms | store + catalog s | share of wall | disk MB | apparent MB | inodes | catalog MB |')
print('|---|---|---|---|---|---|---|---|---|---|---|')
med = {}
for c in cases:
    rs = [r for r in rows if r['case'] == c]
    m = lambda k: statistics.median(float(r[k]) for r in rs)
    last = rs[-1]
    med[c] = m('per_video_ms')
    print('| %s | %s | %d | %.2f | %.2f | %.2f | %.1f %% | %.1f | %.1f | %s | %.1f |' % (
        c, last['videos'], len(rs), m('wall_s'), m('per_video_ms'), m('commit_s'), m('commit_pct'),
        int(last['disk_bytes']) / 1e6, int(last['apparent_bytes']) / 1e6, last['inodes'],
        int(last['catalog_bytes']) / 1e6))
for c in cases:
    small = [s for s in cases if s.startswith(c + '-first')]
    for s in small:
        print('\n%s per-video time / %s per-video time: %.3f' % (c, s, med[c] / med[s]))
EOF
echo "== results in $RESDIR"
