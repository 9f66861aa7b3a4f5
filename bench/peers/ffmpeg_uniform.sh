#!/usr/bin/env bash
# Peer: FFmpeg CLI, N uniform frames through the fps filter (full sequential decode).
#
# Usage: bench/peers/ffmpeg_uniform.sh IN OUTDIR N [DURATION]
#   runs:  ffmpeg -i IN -vf fps=N/D -frames:v N -q:v 2 OUTDIR/%06d.jpg
# D is the video stream duration in seconds (probed with ffprobe unless DURATION is
# given; the benchmarks pass it so the probe is not timed: for long1080 this is the
# issue's `ffmpeg -i IN -vf fps=30/120 ...`).  -frames:v N caps the output at N frames
# (the fps filter can emit one extra frame at EOF) and lets ffmpeg stop after the
# last one.  Frames are full size, JPEG (mjpeg -q:v 2).  FFMPEG_THREADS (env) sets
# -threads for the decoder; default: FFmpeg's auto.
# The fps filter picks frames at t = k*D/N (k = 0..N-1, rounding to the nearest input
# frame), not at segment centers as vidx does; the decode work is the same (everything
# up to the last target).
set -euo pipefail
if [[ $# -lt 3 ]]; then sed -n '2,15p' "$0" >&2; exit 2; fi
in="$1" outdir="$2" n="$3" dur="${4:-}"
if [[ -z "$dur" ]]; then
    dur=$(ffprobe -v error -select_streams v:0 -show_entries stream=duration -of csv=p=0 "$in")
    [[ -z "$dur" || "$dur" == N/A ]] && dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$in")
fi
mkdir -p "$outdir"
threads=()
[[ -n "${FFMPEG_THREADS:-}" ]] && threads=(-threads "$FFMPEG_THREADS")
exec ffmpeg -hide_banner -loglevel error -nostdin -y "${threads[@]}" -i "$in" \
    -map 0:v:0 -vf "fps=$n/$dur" -frames:v "$n" -q:v 2 "$outdir/%06d.jpg"
