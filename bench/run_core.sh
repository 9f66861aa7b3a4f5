#!/usr/bin/env bash
# Core benchmark: one long video, few frames (the long1080 workload).
#
# Usage: bench/run_core.sh            (from anywhere; paths are relative to the repo)
#
#   uniform:   30 uniform frames (full size JPEG) from bench/data/long1080.mp4
#     vidx          build/tools/vidx/vidx frames IN -o OUT --count 30 [VIDX_FRAMES_ARGS]
#     ffmpeg-fps    bench/peers/ffmpeg_uniform.sh IN OUT 30 120
#                   = ffmpeg -i IN -map 0:v:0 -vf fps=30/120 -frames:v 30 -q:v 2 OUT/%06d.jpg
#     pyav-seek     /usr/bin/python3 bench/peers/pyav_uniform.py IN OUT 30
#     ffmpeg-ss     bench/peers/ffmpeg_seek_uniform.sh IN OUT 30 120
#                   (30 x `ffmpeg -ss T -i IN -frames:v 1`, one process per frame)
#     ffmpeg-null   ffmpeg -i IN -map 0:v:0 -f null -   (full-decode floor; NOT the same
#                   work: no output; shown for scale, FLOOR=0 leaves it out)
#   keyframes: every keyframe (48 in long1080) as full size JPEG
#     vidx-keyframes   vidx frames IN -o OUT $VIDX_KEYFRAMES_ARGS (default: detected
#                      from `vidx frames --help`: --keyframes or --mode keyframes)
#     ffmpeg-nokey     bench/peers/ffmpeg_keyframes.sh IN OUT
#                      = ffmpeg -skip_frame nokey -i IN -map 0:v:0 -fps_mode passthrough -q:v 2 OUT/%06d.jpg
#
# Each command writes into a fresh directory (hyperfine --prepare 'rm -rf DIR') under
# $BENCH_TMP (default /tmp/vidx-bench).  Timing: ROUNDS (default 5) interleaved rounds
# of hyperfine, the first with --warmup 1 (see bench/common.sh); then peak memory
# (/usr/bin/time -v, MEMRUNS runs, default 3).  After timing, the output of every
# command is checked: number of JPEGs and their size.
# Results: $RESDIR (default bench/results/core-YYYYmmdd-HHMMSS/): uniform.{json,md},
# keyframes.{json,md}, per-round hyperfine exports, *.mem.tsv, meta.txt.
# Without a working vidx binary, the peers are benchmarked on their own.
# Environment: VIDX, N (30), ROUNDS, WARMUP, MEMRUNS, RESDIR, BENCH_TMP, FLOOR (1),
#              SEEK_PEER (1), VIDX_FRAMES_ARGS, VIDX_KEYFRAMES_ARGS.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$REPO"

VIDX="${VIDX:-build/tools/vidx/vidx}"
N="${N:-30}"
FLOOR="${FLOOR:-1}"
SEEK_PEER="${SEEK_PEER:-1}"
IN=bench/data/long1080.mp4
RESDIR="${RESDIR:-bench/results/core-$(date +%Y%m%d-%H%M%S)}"
T="${BENCH_TMP:-${TMPDIR:-/tmp}/vidx-bench}/core"
mkdir -p "$RESDIR" "$T"

bench/make_long1080.sh >/dev/null
D=$(ffprobe -v error -select_streams v:0 -show_entries stream=duration -of csv=p=0 "$IN")
D=$(awk -v d="$D" 'BEGIN { printf "%g", d }')
SIZE=$(jpeg_size "$IN")
NKEY=$(ffprobe -v error -select_streams v:0 -show_entries packet=flags -of csv=p=0 "$IN" | grep -c K)

have_vidx=$(vidx_usable frames)

{
    bench_machine
    echo "python: $($PY --version 2>&1); PyAV $($PY -c 'import av; print(av.__version__)'); OpenCV $($PY -c 'import cv2; print(cv2.__version__)')"
    bench_revision "$have_vidx"
    echo "input: $IN ${SIZE} ${D}s, $NKEY keyframes, $(stat -c %s "$IN") bytes"
    echo "rounds: $ROUNDS (warmup $WARMUP), memory runs: $MEMRUNS"
} > "$RESDIR/meta.txt"
cat "$RESDIR/meta.txt"

NAMES=() CMDS=() PREPS=() DIRS=()
add() { NAMES+=("$1"); DIRS+=("$2"); PREPS+=("rm -rf '$2'"); CMDS+=("$3"); }

verify() {   # verify WANT: JPEG count and size of each command's last output
    local want="$1" i d n f bad=0 log="$RESDIR/$TAG.check.txt"
    echo "== output check (want $want JPEGs of $SIZE each)" | tee "$log"
    for i in "${!NAMES[@]}"; do
        d="${DIRS[$i]}"
        [[ "${NAMES[$i]}" == ffmpeg-null ]] && continue
        n=$(( $(count_files "$d" '*.jpg') + $(count_files "$d" '*.jpeg') ))
        check_count "${NAMES[$i]} JPEGs" "$n" "$want" || bad=1
        f=$(find "$d" -type f \( -name '*.jpg' -o -name '*.jpeg' \) | sort | head -1)
        if [[ -n "$f" ]]; then
            check_count "${NAMES[$i]} size" "$(jpeg_size "$f")" "$SIZE" || bad=1
            echo "  ${NAMES[$i]} bytes: $(find "$d" -type f \( -name '*.jpg' -o -name '*.jpeg' \) -printf '%s\n' | awk '{ s += $1 } END { print s }')"
        fi
    done > "$log.tmp"
    cat "$log.tmp" | tee -a "$log"; rm -f "$log.tmp"
    return $bad
}

# ---------------------------------------------------------------- uniform N
TAG=uniform
NAMES=() CMDS=() PREPS=() DIRS=()
[[ $have_vidx == 1 ]] && add vidx "$T/vidx" "$VIDX frames $IN -o $T/vidx --count $N ${VIDX_FRAMES_ARGS:-}"
add ffmpeg-fps "$T/ffmpeg-fps" "bench/peers/ffmpeg_uniform.sh $IN $T/ffmpeg-fps $N $D"
add pyav-seek "$T/pyav-seek" "$PY bench/peers/pyav_uniform.py $IN $T/pyav-seek $N"
[[ $SEEK_PEER == 1 ]] && add ffmpeg-ss "$T/ffmpeg-ss" "bench/peers/ffmpeg_seek_uniform.sh $IN $T/ffmpeg-ss $N $D"
[[ $FLOOR == 1 ]] && add ffmpeg-null "$T/ffmpeg-null" "ffmpeg -hide_banner -loglevel error -nostdin -i $IN -map 0:v:0 -f null -"
printf '%s\n' "${CMDS[@]}" > "$RESDIR/$TAG.commands.txt"
hf_alternate "$TAG"
verify "$N" || echo "WARNING: output check failed (see above)" >&2
peak_mem "$TAG"
"$PY" bench/summarize.py "$RESDIR" "$TAG" "${NAMES[0]}" > /dev/null

# ---------------------------------------------------------------- keyframes
TAG=keyframes
NAMES=() CMDS=() PREPS=() DIRS=()
if [[ $have_vidx == 1 ]]; then
    kf="${VIDX_KEYFRAMES_ARGS:-}"
    if [[ -z "$kf" ]]; then
        help=$("$VIDX" frames --help 2>&1 || true)
        if grep -q -- '--keyframes' <<<"$help"; then kf=--keyframes
        elif grep -q -- '--mode' <<<"$help" && grep -qi keyframe <<<"$help"; then kf="--mode keyframes"
        else echo "note: no keyframes option found in 'vidx frames --help'; set VIDX_KEYFRAMES_ARGS" >&2
        fi
    fi
    [[ -n "$kf" ]] && add vidx-keyframes "$T/vidx-kf" "$VIDX frames $IN -o $T/vidx-kf $kf ${VIDX_FRAMES_ARGS:-}"
fi
add ffmpeg-nokey "$T/ffmpeg-nokey" "bench/peers/ffmpeg_keyframes.sh $IN $T/ffmpeg-nokey"
printf '%s\n' "${CMDS[@]}" > "$RESDIR/$TAG.commands.txt"
hf_alternate "$TAG"
verify "$NKEY" || echo "WARNING: output check failed (see above)" >&2
peak_mem "$TAG"
"$PY" bench/summarize.py "$RESDIR" "$TAG" "${NAMES[0]}" > /dev/null

echo
echo "== results in $RESDIR"
for TAG in uniform keyframes; do echo "## $TAG"; cat "$RESDIR/$TAG.md"; done
