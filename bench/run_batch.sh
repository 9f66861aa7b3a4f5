#!/usr/bin/env bash
# Batch benchmark: a library of short videos, 30 uniform frames + 16 kHz mono WAV each.
#
# Usage: bench/run_batch.sh                 (lib100; LIBNAME=lib10k for the 10k library)
#
#   batch:  the whole library, 2 workers, same run, interleaved
#     vidx             build/tools/vidx/vidx run LIB -o OUT --count 30 --audio wav --jobs 2
#     python-pipeline  /usr/bin/python3 bench/peers/python_pipeline.py LIB OUT --jobs 2 --count 30
#                      (ProcessPoolExecutor; OpenCV seek+read+imwrite; ffmpeg subprocess for WAV)
#     ffmpeg-loop      DURATION=10 bench/peers/ffmpeg_loop.sh LIB OUT 2 30
#                      (xargs -P 2, one ffmpeg per video: fps filter + WAV in one command)
#   jobs:   vidx --jobs 1 vs --jobs 2 (scaling on this machine's 2 cores)
#   memory: peak memory of every command above (bench/peakmem.py: /usr/bin/time -v
#           max RSS of the largest process, and the sampled sum over the process tree)
#
# Each command writes into a fresh directory (--prepare 'rm -rf DIR') under $BENCH_TMP
# (default /tmp/vidx-bench).  After timing, each output is checked: COUNT JPEGs and one
# 16 kHz mono WAV per video.  Results in $RESDIR (default bench/results/batch-<time>/).
# Without a working `vidx run`, the peers are benchmarked on their own.
# Environment: VIDX, LIBNAME (lib100|lib10k), COUNT (30), JOBS (2), ROUNDS, WARMUP,
#              MEMRUNS, RESDIR, BENCH_TMP, VIDX_RUN_ARGS (extra flags for vidx run),
#              PEER_SCALING (0; 1 adds ffmpeg-loop with 1 job to the jobs comparison).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$REPO"

VIDX="${VIDX:-build/tools/vidx/vidx}"
LIBNAME="${LIBNAME:-lib100}"
COUNT="${COUNT:-30}"
JOBS="${JOBS:-2}"
PEER_SCALING="${PEER_SCALING:-0}"
case "$LIBNAME" in
    lib100) GEN=(100 10 640x360); DUR=10 ;;
    lib10k) GEN=(10000 2 320x240); DUR=2 ;;
    *) echo "unknown LIBNAME $LIBNAME (lib100, lib10k)" >&2; exit 2 ;;
esac
LIB="bench/data/$LIBNAME"
RESDIR="${RESDIR:-bench/results/batch-$LIBNAME-$(date +%Y%m%d-%H%M%S)}"
T="${BENCH_TMP:-${TMPDIR:-/tmp}/vidx-bench}/batch-$LIBNAME"
mkdir -p "$RESDIR" "$T"

bench/make_lib.sh "$LIBNAME" "${GEN[@]}" >/dev/null
NVID=$(find "$LIB" -maxdepth 1 -name '*.mp4' | wc -l)

have_vidx=$(vidx_usable run)

{
    bench_machine
    echo "python: $($PY --version 2>&1); OpenCV $($PY -c 'import cv2; print(cv2.__version__)')"
    bench_revision "$have_vidx"
    echo "input: $LIB: $NVID clips of ${DUR}s ${GEN[2]}, $(du -sb "$LIB" | cut -f1) bytes"
    echo "job: $COUNT uniform frames (JPEG, full size) + 16 kHz mono WAV per clip, $JOBS workers"
    echo "rounds: $ROUNDS (warmup $WARMUP), memory runs: $MEMRUNS"
} > "$RESDIR/meta.txt"
cat "$RESDIR/meta.txt"

NAMES=() CMDS=() PREPS=() DIRS=()
add() { NAMES+=("$1"); DIRS+=("$2"); PREPS+=("rm -rf '$2'"); CMDS+=("$3"); }

verify() {   # JPEG and WAV counts of each command's last output, one WAV's format
    local i d nj nw w bad=0 log="$RESDIR/$TAG.check.txt"
    echo "== output check (want $(( NVID * COUNT )) JPEGs and $NVID WAVs, 16000 Hz mono)" | tee "$log"
    for i in "${!NAMES[@]}"; do
        d="${DIRS[$i]}"
        nj=$(( $(count_files "$d" '*.jpg') + $(count_files "$d" '*.jpeg') ))
        nw=$(count_files "$d" '*.wav')
        check_count "${NAMES[$i]} JPEGs" "$nj" $(( NVID * COUNT )) || bad=1
        check_count "${NAMES[$i]} WAVs" "$nw" "$NVID" || bad=1
        w=$(find "$d" -type f -name '*.wav' | sort | head -1)
        if [[ -n "$w" ]]; then
            check_count "${NAMES[$i]} WAV format" \
                "$(ffprobe -v error -show_entries stream=sample_rate,channels -of csv=p=0 "$w")" "16000,1" || bad=1
        fi
        echo "  ${NAMES[$i]} output bytes: $(du -sb "$d" | cut -f1)"
    done > "$log.tmp"
    cat "$log.tmp" | tee -a "$log"; rm -f "$log.tmp"
    return $bad
}

vidx_run() {  # vidx_run JOBS OUTDIR
    echo "$VIDX run $LIB -o $2 --count $COUNT --audio wav --jobs $1 ${VIDX_RUN_ARGS:-}"
}

# ---------------------------------------------------------------- vidx vs peers
TAG=batch
NAMES=() CMDS=() PREPS=() DIRS=()
[[ $have_vidx == 1 ]] && add vidx "$T/vidx" "$(vidx_run "$JOBS" "$T/vidx")"
add python-pipeline "$T/python" "$PY bench/peers/python_pipeline.py $LIB $T/python --jobs $JOBS --count $COUNT"
add ffmpeg-loop "$T/ffmpeg-loop" "DURATION=$DUR bench/peers/ffmpeg_loop.sh $LIB $T/ffmpeg-loop $JOBS $COUNT"
printf '%s\n' "${CMDS[@]}" > "$RESDIR/$TAG.commands.txt"
hf_alternate "$TAG"
verify || echo "WARNING: output check failed (see above)" >&2
peak_mem "$TAG"
"$PY" bench/summarize.py "$RESDIR" "$TAG" "${NAMES[0]}" > /dev/null

# ---------------------------------------------------------------- --jobs scaling
TAG=jobs
NAMES=() CMDS=() PREPS=() DIRS=()
if [[ $have_vidx == 1 ]]; then
    add "vidx-j$JOBS" "$T/vidx-j$JOBS" "$(vidx_run "$JOBS" "$T/vidx-j$JOBS")"
    add vidx-j1 "$T/vidx-j1" "$(vidx_run 1 "$T/vidx-j1")"
fi
if [[ $PEER_SCALING == 1 ]]; then
    add "ffmpeg-loop-j$JOBS" "$T/ffl-j$JOBS" "DURATION=$DUR bench/peers/ffmpeg_loop.sh $LIB $T/ffl-j$JOBS $JOBS $COUNT"
    add ffmpeg-loop-j1 "$T/ffl-j1" "DURATION=$DUR bench/peers/ffmpeg_loop.sh $LIB $T/ffl-j1 1 $COUNT"
fi
if (( ${#NAMES[@]} > 0 )); then
    printf '%s\n' "${CMDS[@]}" > "$RESDIR/$TAG.commands.txt"
    hf_alternate "$TAG"
    echo "(jobs: 'vidx-j$JOBS/this' for vidx-j1 is the time ratio j$JOBS/j1; its inverse is the speedup)"
fi

echo
echo "== results in $RESDIR"
for TAG in batch jobs; do [[ -f "$RESDIR/$TAG.md" ]] && { echo "## $TAG"; cat "$RESDIR/$TAG.md"; }; done
exit 0
