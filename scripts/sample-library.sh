#!/usr/bin/env bash
# Makes a small sample video library with FFmpeg's lavfi sources, so the demo
# works on any machine: a few short clips in different codecs and containers,
# one rotated, one with a non-zero start time. Usage: sample-library.sh DIR
set -euo pipefail
out=${1:?usage: sample-library.sh DIR}
mkdir -p "$out"
gen() { # name, ffmpeg args...
  local name=$1; shift
  [ -s "$out/$name" ] && return 0
  ffmpeg -nostdin -v error -y "$@" "$out/.$name.part.${name##*.}" && mv "$out/.$name.part.${name##*.}" "$out/$name"
}
gen testsrc2.mp4  -f lavfi -i testsrc2=s=640x360:r=30:d=6 -f lavfi -i sine=f=440:d=6 -c:v libx264 -preset veryfast -g 60 -pix_fmt yuv420p -c:a aac -shortest
gen smpte.mkv     -f lavfi -i smptebars=s=320x240:r=25:d=5 -c:v libx264 -preset veryfast -bf 3 -g 25
gen mandel.webm   -f lavfi -i mandelbrot=s=320x240:r=24 -t 4 -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 300k
gen life.avi      -f lavfi -i life=s=320x240:r=15:mold=10 -t 4 -c:v mpeg4 -q:v 5
gen offset.ts     -f lavfi -i testsrc=s=320x240:r=30:d=4 -c:v libx264 -preset veryfast -output_ts_offset 10
gen rotated.mp4   -f lavfi -i rgbtestsrc=s=480x270:r=30:d=3 -c:v libx264 -preset veryfast -metadata:s:v rotate=90
echo "$out"
