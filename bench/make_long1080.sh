#!/usr/bin/env bash
# Generate the `long1080` benchmark workload (see docs/BENCHMARKS.md):
#   one 120 s 1920x1080 30 fps H.264 clip, x264 preset veryfast, yuv420p,
#   fixed GOP 75 (-g 75 -keyint_min 75 -sc_threshold 0 => keyframe every 2.5 s,
#   48 keyframes), 48 kHz stereo AAC.
# Video source: lavfi testsrc2 (moving pattern + counter) with temporal noise so
# every frame carries some residual data; about 6.3 Mbit/s video, a typical
# 1080p30 bitrate (stronger noise, e.g. alls=12, balloons past 25 Mbit/s).
#
# Usage: bench/make_long1080.sh [OUTDIR]      (default OUTDIR: bench/data)
# Idempotent: does nothing if OUTDIR/long1080.mp4 already exists.
set -euo pipefail
source "$(dirname "$0")/common.sh"
make_clip "${1:-$BENCH/data}/long1080.mp4" \
    -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=120,noise=alls=6:allf=t" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=120" \
    -map 0:v -map 1:a \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p \
    -g 75 -keyint_min 75 -sc_threshold 0 \
    -c:a aac -b:a 128k -ac 2 \
    -movflags +faststart -shortest
