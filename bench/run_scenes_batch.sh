#!/usr/bin/env bash
# lib100 with shot detection (docs/BENCHMARKS.md, "Shot boundaries in a batch run"):
#   vidx run LIB -o OUT --count 30 --audio wav --jobs 2            (the batch job)
#   vidx run LIB -o OUT --count 30 --audio wav --scenes --jobs 2   (+ every picture decoded,
#                                                                   shots per video)
#   floor: every picture of every file decoded by FFmpeg, 2 at a time:
#          xargs -P2 ffmpeg -threads 1 -i F -an -f null -
# ROUNDS (default 3) interleaved rounds; wall seconds each.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$REPO"
VIDX="${VIDX:-build/tools/vidx/vidx}"
LIB=bench/data/lib100
ROUNDS="${ROUNDS:-3}"
T="${BENCH_TMP:-${TMPDIR:-/tmp}/vidx-bench}/scenes-batch"
mkdir -p "$T"
[ -d "$LIB" ] || bench/make_lib.sh "$LIB" 100 10 640x360
wall() { local t0; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; echo "$(date +%s.%N) - $t0" | bc; }
for round in $(seq "$ROUNDS"); do
    rm -rf "$T/a" "$T/b"
    a=$(wall "$VIDX" run "$LIB" -o "$T/a" --count 30 --audio wav --jobs 2 --progress none)
    b=$(wall "$VIDX" run "$LIB" -o "$T/b" --count 30 --audio wav --scenes --jobs 2 --progress none)
    f=$(wall sh -c "ls $LIB/*.mp4 | xargs -P2 -I{} ffmpeg -nostdin -v error -threads 1 -i {} -an -f null -")
    echo "round $round: run $a s, run --scenes $b s, ffmpeg decode floor $f s"
done
