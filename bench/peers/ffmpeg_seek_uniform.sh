#!/usr/bin/env bash
# Peer: FFmpeg CLI with input seeking, one ffmpeg process per frame (the usual way to
# grab "a few frames" without decoding the whole file).
#
# Usage: bench/peers/ffmpeg_seek_uniform.sh IN OUTDIR N [DURATION]
#   for i in 0..N-1:  ffmpeg -ss T_i -i IN -frames:v 1 -q:v 2 OUTDIR/%06d.jpg
#   with T_i = (i + 0.5) * D / N (segment centers, as vidx's uniform N).
# `-ss` before `-i` seeks to the keyframe before T_i and decodes forward to T_i
# (accurate seeking, ffmpeg's default).  D is probed unless DURATION is given.
# Sequential: one process at a time (each decodes with FFmpeg's auto threads).
set -euo pipefail
if [[ $# -lt 3 ]]; then sed -n '2,11p' "$0" >&2; exit 2; fi
in="$1" outdir="$2" n="$3" dur="${4:-}"
if [[ -z "$dur" ]]; then
    dur=$(ffprobe -v error -select_streams v:0 -show_entries stream=duration -of csv=p=0 "$in")
fi
mkdir -p "$outdir"
for (( i = 0; i < n; i++ )); do
    t=$(awk -v i="$i" -v n="$n" -v d="$dur" 'BEGIN { printf "%.6f", (i + 0.5) * d / n }')
    ffmpeg -hide_banner -loglevel error -nostdin -y -ss "$t" -i "$in" -map 0:v:0 \
        -frames:v 1 -q:v 2 "$outdir/$(printf '%06d' $(( i + 1 ))).jpg"
done
