#!/usr/bin/env bash
# Generate a library of short synthetic clips for the batch benchmarks.
#
# Usage: bench/make_lib.sh NAME COUNT SECONDS WxH [OUTDIR]
#   writes OUTDIR/NAME/NAME_00000.mp4 ... (default OUTDIR: bench/data)
#
# Standard workloads (docs/BENCHMARKS.md):
#   bench/make_lib.sh lib100   100 10 640x360
#   bench/make_lib.sh lib10k 10000  2 320x240
#
# Every clip: 30 fps H.264 (x264 preset veryfast, yuv420p, fixed GOP 60:
# -g 60 -keyint_min 60 -sc_threshold 0) + AAC 44.1 kHz stereo (a sine tone).
# Video sources cycle through lavfi testsrc2, smptebars, mandelbrot, rgbtestsrc,
# cellauto, life; each clip also gets a time-varying hue rotation with a per-clip
# phase (so even the static patterns move and no two clips are identical) and a
# per-clip sine frequency; cellauto/life/mandelbrot get per-clip seeds/rules.
#
# Large libraries: when COUNT > DISTINCT (env, default: COUNT if COUNT <= 200,
# else 48), only DISTINCT clips are encoded; the rest are stream copies
# (`ffmpeg -c copy`, one process per distinct clip writing all its copies) of
# encoded clip (i mod DISTINCT) with per-file title/comment
# metadata, so every file is a distinct, valid MP4 but the decode work of clip i
# equals that of clip (i mod DISTINCT).  lib10k is made this way (48 distinct).
#
# Uses JOBS (env, default 2) parallel ffmpeg processes via xargs -P, under nice.
# Idempotent: existing clips are kept; rerunning fills in what is missing.
set -euo pipefail
if [[ $# -lt 4 ]]; then
    sed -n '2,25p' "$0" >&2
    exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
name="$1" count="$2" secs="$3" size="$4"
outdir="${5:-$here/data}/$name"
jobs="${JOBS:-2}"
if [[ -z "${DISTINCT:-}" ]]; then
    if (( count <= 200 )); then DISTINCT="$count"; else DISTINCT=48; fi
fi
(( DISTINCT > count )) && DISTINCT="$count"
mkdir -p "$outdir"
export name secs size outdir DISTINCT count

gen_one() {   # encode clip $1 from a lavfi source
    local i=$1 out tmp src freq
    out="$outdir/$(printf '%s_%05d.mp4' "$name" "$i")"
    [[ -s "$out" ]] && return 0
    tmp="$out.tmp.mp4"
    case $(( i % 6 )) in
        0) src="testsrc2=size=$size:rate=30" ;;
        1) src="smptebars=size=$size:rate=30" ;;
        2) src="mandelbrot=size=$size:rate=30:maxiter=256:start_scale=$(( 2 + i % 5 ))" ;;
        3) src="rgbtestsrc=size=$size:rate=30" ;;
        4) src="cellauto=size=$size:rate=30:rule=$(( (30 + 7 * i) % 256 )):random_seed=$i" ;;
        5) src="life=size=$size:rate=30:mold=10:random_seed=$i:life_color=#00ff00:death_color=#aa0000" ;;
    esac
    freq=$(( 220 + (i * 37) % 880 ))
    ffmpeg -hide_banner -loglevel error -nostdin -y \
        -f lavfi -i "$src,format=yuv420p,hue=H=2*PI*t/$secs+$i" \
        -f lavfi -i "sine=frequency=$freq:sample_rate=44100" \
        -map 0:v -map 1:a -t "$secs" \
        -c:v libx264 -preset veryfast -pix_fmt yuv420p \
        -g 60 -keyint_min 60 -sc_threshold 0 \
        -c:a aac -b:a 96k -ac 2 \
        -metadata title="$name clip $i" -movflags +faststart \
        "$tmp"
    mv "$tmp" "$out"
}

copy_group() {  # remux distinct clip $1 into every missing clip i = $1 + k*DISTINCT, one ffmpeg
    local b=$1 i out args=() outs=() base
    base="$outdir/$(printf '%s_%05d.mp4' "$name" "$b")"
    for (( i = b + DISTINCT; i < count; i += DISTINCT )); do
        out="$outdir/$(printf '%s_%05d.mp4' "$name" "$i")"
        [[ -s "$out" ]] && continue
        args+=(-map 0 -c copy -metadata title="$name clip $i" -metadata comment="copy of clip $b"
               -movflags +faststart "$out.tmp.mp4")
        outs+=("$out")
    done
    (( ${#outs[@]} == 0 )) && return 0
    ffmpeg -hide_banner -loglevel error -nostdin -y -i "$base" "${args[@]}"
    for out in "${outs[@]}"; do mv "$out.tmp.mp4" "$out"; done
}
export -f gen_one copy_group

rm -f "$outdir"/*.tmp.mp4
echo "$name: encoding $DISTINCT distinct clips (${secs}s, $size) with $jobs jobs..."
seq 0 $(( DISTINCT - 1 )) | nice -n 10 xargs -P "$jobs" -I{} bash -c 'gen_one {}'
if (( count > DISTINCT )); then
    echo "$name: stream-copying $(( count - DISTINCT )) more clips..."
    seq 0 $(( DISTINCT - 1 )) | nice -n 10 xargs -P "$jobs" -I{} bash -c 'copy_group {}'
fi
n=$(find "$outdir" -maxdepth 1 -name "${name}_*.mp4" | wc -l)
echo "$name: $n clips in $outdir"
