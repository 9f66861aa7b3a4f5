#!/usr/bin/env bash
# Two vidx builds side by side on the standard workloads, interleaved (A B, B A, ...),
# to show that a change kept speed: e.g. a refactor against the revision before it.
#
# Usage: A=/path/to/old/vidx B=/path/to/new/vidx bench/run_compare.sh
#
#   long1080:  vidx frames bench/data/long1080.mp4 -o OUT --count 30      (hyperfine)
#   lib100:    vidx run bench/data/lib100 -o OUT --count 30 --audio wav --jobs 2
#              (hyperfine)
#   lib10k:    the same job on bench/data/lib10k, LAYOUT (files), ROUNDS10K runs of each
#              build, alternating: wall time and the supervisor's store + catalog share
#              (the end event's commit_seconds)
#
# Results in $RESDIR (default bench/results/compare-<time>/): long1080.md, lib100.md
# (medians, ratio B/A), lib10k.tsv and lib10k.md, meta.txt (both revisions).
# Environment: A, B, NAME_A (A), NAME_B (B), ROUNDS (5), ROUNDS10K (1), LAYOUT (files),
#              SKIP ("" or a list of long1080 lib100 lib10k), BENCH_TMP.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$REPO"

: "${A:?set A to the first vidx binary}" "${B:?set B to the second vidx binary}"
NAME_A="${NAME_A:-A}"
NAME_B="${NAME_B:-B}"
ROUNDS10K="${ROUNDS10K:-1}"
LAYOUT="${LAYOUT:-files}"
SKIP="${SKIP:-}"
RESDIR="${RESDIR:-bench/results/compare-$(date +%Y%m%d-%H%M%S)}"
T="${BENCH_TMP:-${TMPDIR:-/tmp}/vidx-bench}/compare"
mkdir -p "$RESDIR" "$T"
bench/make_long1080.sh >/dev/null
bench/make_lib.sh lib100 100 10 640x360 >/dev/null
bench/make_lib.sh lib10k 10000 2 320x240 >/dev/null

{
    bench_machine
    echo "$NAME_A: $A ($("$A" --version 2>&1 | head -1))"
    echo "$NAME_B: $B ($("$B" --version 2>&1 | head -1))"
    echo "rounds: $ROUNDS (hyperfine), lib10k: $ROUNDS10K per build, layout $LAYOUT"
} > "$RESDIR/meta.txt"
cat "$RESDIR/meta.txt"

skipped() { [[ " $SKIP " == *" $1 "* ]]; }

if ! skipped long1080; then
    NAMES=("$NAME_A" "$NAME_B")
    CMDS=("$A frames bench/data/long1080.mp4 -o $T/la --count 30"
          "$B frames bench/data/long1080.mp4 -o $T/lb --count 30")
    PREPS=("rm -rf $T/la" "rm -rf $T/lb")
    hf_alternate long1080
fi

if ! skipped lib100; then
    NAMES=("$NAME_A" "$NAME_B")
    CMDS=("$A run bench/data/lib100 -o $T/ba --count 30 --audio wav --jobs 2 --progress none"
          "$B run bench/data/lib100 -o $T/bb --count 30 --audio wav --jobs 2 --progress none")
    PREPS=("rm -rf $T/ba" "rm -rf $T/bb")
    hf_alternate lib100
fi

one_10k() {  # one_10k NAME BINARY ROUND
    local out="$T/10k-$1" end
    rm -rf "$out"
    sync
    end=$("$2" run bench/data/lib10k -o "$out" --count 30 --audio wav --jobs 2 --layout "$LAYOUT" \
              --progress json 2>/dev/null | grep '"event":"end"' | tail -1)
    "$PY" -c 'import json, sys
e = json.loads(sys.argv[3])
print("\t".join((sys.argv[1], sys.argv[2], str(e["done"]), "%.3f" % e["seconds"],
      "%.3f" % e["commit_seconds"], "%.2f" % (100 * e["commit_seconds"] / e["seconds"]))))' \
        "$1" "$3" "$end" | tee -a "$RESDIR/lib10k.tsv"
    rm -rf "$out"
}

if ! skipped lib10k; then
    printf 'build\tround\tvideos\twall_s\tcommit_s\tcommit_pct\n' > "$RESDIR/lib10k.tsv"
    for (( r = 0; r < ROUNDS10K; r++ )); do
        wait_quiet
        if (( r % 2 == 0 )); then one_10k "$NAME_A" "$A" "$r"; one_10k "$NAME_B" "$B" "$r"
        else one_10k "$NAME_B" "$B" "$r"; one_10k "$NAME_A" "$A" "$r"; fi
    done
    "$PY" - "$RESDIR" <<'EOF' | tee "$RESDIR/lib10k.md"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1] + '/lib10k.tsv'), delimiter='\t'))
print('| build | videos | runs | wall s (median) | store + catalog s | share of wall |')
print('|---|---|---|---|---|---|')
for b in dict.fromkeys(r['build'] for r in rows):
    rs = [r for r in rows if r['build'] == b]
    m = lambda k: statistics.median(float(r[k]) for r in rs)
    print('| %s | %s | %d | %.1f | %.2f | %.1f %% |' % (b, rs[-1]['videos'], len(rs), m('wall_s'),
                                                     m('commit_s'), m('commit_pct')))
EOF
fi
echo "== results in $RESDIR"
