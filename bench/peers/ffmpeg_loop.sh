#!/usr/bin/env bash
# Peer: FFmpeg CLI over a video library, one ffmpeg process per video, JOBS at a time.
#
# Usage: bench/peers/ffmpeg_loop.sh LIBDIR OUTDIR JOBS [COUNT]
#   ls LIBDIR/*.mp4 | xargs -P JOBS: per video, ONE ffmpeg command writing
#     OUTDIR/<stem>/%06d.jpg   COUNT (default 30) uniform frames: -vf fps=COUNT/D
#                              -frames:v COUNT -q:v 2 (full size JPEG)
#     OUTDIR/<stem>/audio.wav  16 kHz mono s16 WAV (-ac 1 -ar 16000)
# D is the clip's duration: probed per video with ffprobe unless DURATION (env) is set
# (the benchmark sets DURATION=10 for lib100, whose clips are all 10 s, so the peer pays
# no probe).  Exit status non-zero if any ffmpeg failed.
set -euo pipefail
if [[ $# -lt 3 ]]; then sed -n '2,12p' "$0" >&2; exit 2; fi
libdir="$1" outdir="$2" jobs="$3"
export COUNT="${4:-30}" OUTROOT="$outdir" DURATION="${DURATION:-}"
mkdir -p "$outdir"
one() {
    local in="$1" stem out dur
    stem="$(basename "${in%.*}")"
    out="$OUTROOT/$stem"
    mkdir -p "$out"
    dur="$DURATION"
    [[ -z "$dur" ]] && dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$in")
    ffmpeg -hide_banner -loglevel error -nostdin -y -i "$in" \
        -map 0:v:0 -vf "fps=$COUNT/$dur" -frames:v "$COUNT" -q:v 2 "$out/%06d.jpg" \
        -map 0:a:0 -vn -ac 1 -ar 16000 -c:a pcm_s16le "$out/audio.wav"
}
export -f one
find "$libdir" -maxdepth 1 -type f \( -name '*.mp4' -o -name '*.mkv' -o -name '*.mov' \) -print0 \
    | sort -z | xargs -0 -P "$jobs" -I{} bash -c 'one "$1"' _ {}
