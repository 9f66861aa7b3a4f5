#!/usr/bin/env bash
# Generate the `clip720` benchmark input of bench/python_bench.py (full decode):
#   one 10 s 1280x720 30 fps H.264 clip (300 frames), x264 preset veryfast,
#   yuv420p, GOP 60, lavfi testsrc2 with temporal noise (as long1080), no audio.
# Usage: bench/make_clip720.sh [OUTDIR]      (default OUTDIR: bench/data)
# Idempotent: does nothing if OUTDIR/clip720.mp4 already exists.
set -euo pipefail
source "$(dirname "$0")/common.sh"
make_clip "${1:-$BENCH/data}/clip720.mp4" \
    -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=10,noise=alls=6:allf=t" \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p -g 60
