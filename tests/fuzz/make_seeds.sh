#!/usr/bin/env bash
# make_seeds.sh - regenerates the media harness's seed corpus
# (tests/fuzz/corpus/media/): tiny clips (32x32, 0.2 s, a few KB each) made
# from FFmpeg's lavfi test sources, one per container/codec pair vidx
# accepts, a few with audio, rotation or odd timing, so the fuzzer starts from
# every demuxer and decoder vidx whitelists. Deterministic flags (bitexact,
# fixed seeds) keep the files stable between runs. Needs ffmpeg.
#   tests/fuzz/make_seeds.sh [OUTDIR]
set -euo pipefail
out=${1:-$(dirname "$0")/corpus/media}
mkdir -p "$out"
v="testsrc2=size=32x32:rate=10:duration=0.2"
a="sine=frequency=440:sample_rate=8000:duration=0.2"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
bx=(-fflags +bitexact -flags:v +bitexact -flags:a +bitexact -map_metadata -1)
x264=(-c:v libx264 -preset ultrafast -x264-params bframes=2:keyint=2)

ff -f lavfi -i "$v" "${x264[@]}" "${bx[@]}" "$out/h264.mp4"
ff -f lavfi -i "$v" -f lavfi -i "$a" "${x264[@]}" -c:a aac -b:a 16k "${bx[@]}" -shortest "$out/h264_aac.mp4"
ff -f lavfi -i "$v" "${x264[@]}" "${bx[@]}" -metadata:s:v rotate=90 "$out/h264_rot90.mov"
ff -f lavfi -i "$v" "${x264[@]}" "${bx[@]}" -movflags +frag_keyframe+empty_moov "$out/h264_frag.mp4"
ff -f lavfi -i "$v" "${x264[@]}" "${bx[@]}" "$out/h264.mkv"
ff -f lavfi -i "$v" "${x264[@]}" "${bx[@]}" -f h264 "$out/raw.h264"
ff -f lavfi -i "$v" "${x264[@]}" "${bx[@]}" "$out/h264.ts"
ff -f lavfi -i "$v" "${x264[@]}" "${bx[@]}" "$out/h264.flv"
ff -f lavfi -i "$v" -c:v libx265 -preset ultrafast -x265-params log-level=none "${bx[@]}" "$out/hevc.mkv"
ff -f lavfi -i "$v" -c:v libvpx -b:v 50k "${bx[@]}" "$out/vp8.webm"
ff -f lavfi -i "$v" -f lavfi -i "$a" -c:v libvpx-vp9 -b:v 50k -c:a libopus -b:a 8k "${bx[@]}" -shortest "$out/vp9_opus.webm"
ff -f lavfi -i "$v" -c:v libvpx "${bx[@]}" "$out/vp8.ivf"
ff -f lavfi -i "$v" -c:v libaom-av1 -cpu-used 8 -b:v 20k "${bx[@]}" "$out/av1.ivf"
ff -f lavfi -i "$v" -c:v mpeg4 -bf 1 "${bx[@]}" "$out/mpeg4.avi"
ff -f lavfi -i "$v" -c:v mjpeg -q:v 20 "${bx[@]}" "$out/mjpeg.avi"
ff -f lavfi -i "$v" -c:v mpeg2video -bf 2 "${bx[@]}" "$out/mpeg2.ts"
ff -f lavfi -i "$v" -c:v mpeg2video "${bx[@]}" -f mpeg "$out/mpeg2.mpg"
ff -f lavfi -i "$v" -c:v flv1 "${bx[@]}" "$out/flv1.flv"
ff -f lavfi -i "$v" -pix_fmt yuv420p "${bx[@]}" "$out/raw.y4m"
ff -f lavfi -i "$v" -c:v mpeg4 "${bx[@]}" "$out/mpeg4.nut"
ff -f lavfi -i "$v" -c:v libvpx "${bx[@]}" -f ogg "$out/vp8.ogv" 2>/dev/null || rm -f "$out/vp8.ogv"
ff -f lavfi -i "$v" -c:v wmv2 "${bx[@]}" "$out/wmv2.asf"
ff -f lavfi -i "$v" "${bx[@]}" -f gif "$out/anim.gif"
ff -f lavfi -i "testsrc2=size=32x24:rate=25:duration=0.2" -vf setsar=4/3 "${x264[@]}" "${bx[@]}" "$out/sar.mp4"
ls -l "$out"
