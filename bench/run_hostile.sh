#!/usr/bin/env bash
# Hostile batch benchmark: `vidx run` over a generated library of which 10 % is hostile.
#
# Usage: bench/run_hostile.sh
#
#   library: bench/make_hostile.py bench/data/hostile$COUNT --count $COUNT (1,000 entries:
#            900 good clips in 12 codec/container combinations, 100 hostile entries of
#            every kind in the KINDS table, plus FIFOs and an @list named on the command
#            line); regenerated when missing or older than the generator
#   run:     vidx run <manifest inputs> -o OUT --jobs $JOBS --audio wav --progress json
#            --timeout-max $TIMEOUT_MAX --stall $STALL $VIDX_RUN_ARGS, with the stalling FIFO
#            writers and the stalling HTTP server (check_hostile.py serve) running alongside,
#            under bench/peakmem.py (one run: peak RSS of the largest process and of the
#            whole process tree)
#   check:   bench/check_hostile.py report: counts by status, outcome by kind against the
#            KINDS table, the slowest videos, videos past the cap, catalog rows that are
#            no input, secret bytes (/etc/passwd, the canary) in any output, inputs changed
#
# Results in $RESDIR (default bench/results/hostile-<time>/): meta.txt, run.stderr,
# run.events.jsonl, mem.tsv, report.json, summary.md (the figures for docs/BENCHMARKS.md).
# Environment: VIDX, COUNT (1000), JOBS (2), TIMEOUT_MAX (cap of the default per-video
#   timeout, s; 60), STALL (s without progress that end a video; 10), OMIT
#   (comma-separated kinds to leave out of the library; default 'pending': the kinds the
#   KINDS table marks pending, as the CLI test does; '' for none), RESDIR, BENCH_TMP,
#   VIDX_RUN_ARGS, LIMIT (wall-clock limit of the run in s; 3600).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$REPO"

VIDX="${VIDX:-build/tools/vidx/vidx}"
COUNT="${COUNT:-1000}"
JOBS="${JOBS:-2}"
TIMEOUT_MAX="${TIMEOUT_MAX:-60}"
STALL="${STALL:-10}"
OMIT="${OMIT-pending}"
LIMIT="${LIMIT:-3600}"
if [[ "$OMIT" == pending ]]; then
    OMIT=$("$PY" -c 'import sys; sys.path.insert(0, "bench"); import make_hostile as m
print(",".join(k for k, r in m.KINDS.items() if r.get("pending") and (k in m.MAKERS or k in m.SPECIAL)))')
fi
LIB="bench/data/hostile$COUNT"
RESDIR="${RESDIR:-bench/results/hostile-$(date +%Y%m%d-%H%M%S)}"
T="${BENCH_TMP:-${TMPDIR:-/tmp}/vidx-bench}/hostile$COUNT"
OUT="$T/out"
mkdir -p "$RESDIR" "$T"
[[ "$(vidx_usable run)" == 1 ]] || { echo "vidx run is not usable: build it first" >&2; exit 2; }

if [[ ! -f "$LIB/manifest.json" || bench/make_hostile.py -nt "$LIB/manifest.json" ]] ||
   [[ "$("$PY" -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["omitted"]))' \
         "$LIB/manifest.json")" != "$(tr ',' '\n' <<< "$OMIT" | sed '/^$/d' | sort | paste -sd,)" ]]; then
    nice -n 10 "$PY" bench/make_hostile.py "$LIB" --count "$COUNT" --omit "$OMIT"
fi
"$PY" bench/check_hostile.py snapshot "$LIB" > "$T/before.json"
if "$VIDX" run --help | grep -q -- --timeout-max; then
    CAPS="--timeout-max $TIMEOUT_MAX --stall $STALL"
else
    CAPS="--timeout $TIMEOUT_MAX"   # a vidx before the stall watchdog: a fixed cap
fi

{
    bench_machine
    bench_revision 1
    echo "input: $LIB: $("$PY" -c 'import json,sys; m=json.load(open(sys.argv[1])); print("%d entries (%d good, %d hostile), left out: %s" % (m["good"]+m["hostile"], m["good"], m["hostile"], ",".join(m["omitted"]) or "nothing"))' "$LIB/manifest.json"); $(du -sb "$LIB/lib" | cut -f1) bytes"
    echo "job: vidx run, 8 frames (default) + 16 kHz mono WAV per video, $JOBS workers, $CAPS"
} > "$RESDIR/meta.txt"
cat "$RESDIR/meta.txt"

# the stalling FIFO writers (each sends a header, then keeps the pipe open and silent) and
# the stalling HTTP server (the start of a file declaring 1e15 ms, then nothing)
WRITERS=()
stop_writers() { (( ${#WRITERS[@]} )) && kill "${WRITERS[@]}" 2>/dev/null; wait 2>/dev/null; true; }
trap stop_writers EXIT
while IFS=$'\t' read -r fifo header; do
    "$PY" bench/make_hostile.py --feed-fifo "$fifo" "$header" & WRITERS+=($!)
done < <("$PY" bench/check_hostile.py writers "$LIB")
rm -f "$T/server.url"
"$PY" bench/check_hostile.py serve "$LIB" 0 > "$T/server.url" & WRITERS+=($!)
for _ in $(seq 100); do [[ -s "$T/server.url" ]] && break; sleep 0.1; done
BASE=$(cat "$T/server.url")
mapfile -t INPUTS < <("$PY" bench/check_hostile.py inputs "$LIB" --base-url "$BASE")

CMD="timeout -s KILL $LIMIT $VIDX run $(printf '%q ' "${INPUTS[@]}")-o $OUT --jobs $JOBS"
CMD+=" $CAPS"
CMD+=" --audio wav --progress json ${VIDX_RUN_ARGS:-} > $RESDIR/run.events.jsonl 2> $RESDIR/run.stderr"
echo "$CMD" > "$RESDIR/command.txt"
CMD+="; echo \$? > $RESDIR/vidx.rc"   # exit 1 (some videos not ok) is the expected outcome
rm -rf "$OUT"
echo "== vidx run over $LIB (${#INPUTS[@]} inputs)"
start=$(date +%s.%N)
printf 'name\tmaxrss_kb\ttree_rss_kb\ttree_pss_kb\truns\n' > "$RESDIR/mem.tsv"
"$PY" bench/peakmem.py --runs 1 --name vidx-run -- "$CMD" >> "$RESDIR/mem.tsv"
wall=$(echo "$(date +%s.%N) - $start" | bc)
rc=$(cat "$RESDIR/vidx.rc")
stop_writers
echo "exit: $rc, wall ${wall}s" | tee "$RESDIR/exit.txt"
tail -5 "$RESDIR/run.stderr"

check=0
"$PY" bench/check_hostile.py report "$LIB" "$OUT" --base-url "$BASE" --stdout "$RESDIR/run.events.jsonl" \
    --stderr "$RESDIR/run.stderr" --cap "$(( TIMEOUT_MAX + 10 ))" --before "$T/before.json" \
    > "$RESDIR/report.json" || check=$?

"$PY" - "$RESDIR" "$rc" "$wall" "$check" <<'EOF'
import json, sys
from pathlib import Path
res, rc, wall, check = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
r = json.loads((res / 'report.json').read_text())
mem = (res / 'mem.tsv').read_text().splitlines()
mem = dict(zip(mem[0].split('\t'), mem[1].split('\t'))) if len(mem) > 1 else {}
out = ['| figure | value |', '|---|---|',
       '| exit code | %d |' % rc, '| wall | %.1f s |' % wall,
       '| videos in the catalog | %d |' % r['catalog_rows'],
       '| by status | %s |' % ', '.join('%s %d' % kv for kv in r['counts'].items()),
       '| slowest video | %s |' % ('%.1f s, %s (%s)' % tuple(r['slowest'][0]) if r['slowest'] else '-'),
       '| peak RSS, largest process | %s MB |' % (int(mem['maxrss_kb']) // 1024 if mem else '?'),
       '| peak RSS / PSS, whole tree | %s / %s MB |' % (
           (int(mem['tree_rss_kb']) // 1024, int(mem['tree_pss_kb']) // 1024) if mem else ('?', '?')),
       '| summary adds up | %s |' % r.get('summary_adds_up'),
       '| past the cap / rows that are no input / secret bytes in outputs / inputs changed | %d / %d / %d / %d |' % (
           len(r['past_cap']), len(r['unexpected_rows']), len(r['leaks']), len(r.get('inputs_changed', []))),
       '', '| kind | entries | as expected | outcomes |', '|---|---|---|---|']
for k, v in sorted(r['by_kind'].items()):
    out.append('| %s | %d | %d | %s |' % (k, v['entries'], v['as_expected'],
                                          ', '.join('%s %d' % kv for kv in sorted(v['outcomes'].items()))))
if r['mismatches']:
    out += ['', 'Not as expected (%d):' % len(r['mismatches']), '']
    out += ['- ' + m for m in r['mismatches'][:40]]
(res / 'summary.md').write_text('\n'.join(out) + '\n')
print('\n'.join(out))
print('\nall as expected: %s' % (check == 0))
EOF
# the separate invocations (the self-including @list): exit code and first line of stderr
"$PY" -c 'import json, sys; [print(" ".join(r["args"])) for r in json.load(open(sys.argv[1]))["list_runs"]]' \
    "$LIB/manifest.json" | while read -r arg; do
    arg="@$LIB/${arg#@}"
    lrc=0; "$VIDX" run "$arg" -o "$T/list-out" --progress none > /dev/null 2> "$T/list.stderr" || lrc=$?
    rm -rf "$T/list-out"
    printf '\n`vidx run %s -o OUT`: exit %d, "%s"\n' "${arg#"$LIB"/}" "$lrc" "$(head -1 "$T/list.stderr")" |
        tee -a "$RESDIR/summary.md"
done
echo "== results in $RESDIR"
exit 0
