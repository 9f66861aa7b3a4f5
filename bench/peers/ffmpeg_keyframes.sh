#!/usr/bin/env bash
# Peer: FFmpeg CLI, every keyframe as JPEG, decoding keyframes only.
#
# Usage: bench/peers/ffmpeg_keyframes.sh IN OUTDIR
#   runs:  ffmpeg -skip_frame nokey -i IN -map 0:v:0 -fps_mode passthrough -q:v 2 OUTDIR/%06d.jpg
# Frames are full size, JPEG (mjpeg -q:v 2).
set -euo pipefail
if [[ $# -lt 2 ]]; then sed -n '2,6p' "$0" >&2; exit 2; fi
in="$1" outdir="$2"
mkdir -p "$outdir"
exec ffmpeg -hide_banner -loglevel error -nostdin -y -skip_frame nokey -i "$in" \
    -map 0:v:0 -fps_mode passthrough -q:v 2 "$outdir/%06d.jpg"
