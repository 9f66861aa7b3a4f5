#!/usr/bin/env bash
# vidx transcode's HLS ladder against the best single FFmpeg command for the same ladder
# (docs/BENCHMARKS.md, "Transcoding"), in the same run, alternating A B A B:
#   A  vidx transcode IN -o OUT --preset bench/hls_ladder.json
#   B  ffmpeg -i IN -filter_complex "[0:v]split=3[a][b][c];[a]scale=1920:1080[v0];
#        [b]scale=1280:720[v1];[c]scale=640:360[v2]" three libx264 encoders with the same
#        settings (veryfast, 5000k/2800k/800k, maxrate 1.5x, bufsize 2x, GOP 2 s, keyint_min
#        = GOP, scenecut=0, open-gop=0, IDR forced every 2 s, 3 B-frames), AAC 128k 48 kHz
#        stereo, the hls muxer (fMP4, 4 s segments, VOD, master playlist, var_stream_map)
# Input: IN = SECONDS (default 10) s of 1920x1080 30 fps testsrc2 + temporal noise, x264
# veryfast GOP 60, with a 48 kHz AAC tone (generated here, as bench/make_long1080.sh does).
# Then per rendition: bytes (both) and PSNR (Y, average) of the rendition against the
# source scaled to its size (bicubic), for both, with FFmpeg's psnr filter.
# ROUNDS (default 5) rounds; prints the wall and CPU (user + sys, /usr/bin/time) seconds
# of each, the 1-minute load average after it, and the medians of both.
set -euo pipefail
cd "$(dirname "$0")/.."
VIDX="${VIDX:-build/tools/vidx/vidx}"
ROUNDS="${ROUNDS:-5}"
SECONDS_IN="${SECONDS_IN:-10}"
T="${BENCH_TMP:-${TMPDIR:-/tmp}/vidx-bench}/transcode"
mkdir -p "$T"
IN="$T/ladder1080-${SECONDS_IN}s.mp4"
if [ ! -s "$IN" ]; then
    nice ffmpeg -hide_banner -loglevel error -nostdin -y \
        -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=$SECONDS_IN,noise=alls=6:allf=t" \
        -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$SECONDS_IN" -map 0:v -map 1:a \
        -c:v libx264 -preset veryfast -pix_fmt yuv420p -g 60 -keyint_min 60 -sc_threshold 0 \
        -c:a aac -b:a 128k -ac 2 -shortest "$IN.tmp.mp4"
    mv "$IN.tmp.mp4" "$IN"
fi
x264=(-c:v libx264 -preset veryfast -g 60 -keyint_min 60 -bf 3 -forced-idr 1
      -force_key_frames "expr:gte(t,n_forced*2)" -x264-params scenecut=0:open-gop=0
      -b:v:0 5000k -maxrate:v:0 7500k -bufsize:v:0 10000k
      -b:v:1 2800k -maxrate:v:1 4200k -bufsize:v:1 5600k
      -b:v:2 800k -maxrate:v:2 1200k -bufsize:v:2 1600k)
run_ffmpeg() {
    rm -rf "$T/ff" && mkdir -p "$T/ff"
    ffmpeg -hide_banner -loglevel error -nostdin -y -i "$IN" -filter_complex \
        "[0:v]split=3[a][b][c];[a]scale=1920:1080:flags=bicubic,setsar=1[v0];[b]scale=1280:720:flags=bicubic,setsar=1[v1];[c]scale=640:360:flags=bicubic,setsar=1[v2]" \
        -map "[v0]" -map "[v1]" -map "[v2]" -map 0:a -map 0:a -map 0:a "${x264[@]}" \
        -c:a aac -b:a 128k -ar 48000 -ac 2 \
        -f hls -hls_time 4 -hls_playlist_type vod -hls_segment_type fmp4 \
        -hls_flags independent_segments -master_pl_name master.m3u8 \
        -var_stream_map "v:0,a:0,name:1080p v:1,a:1,name:720p v:2,a:2,name:360p" \
        -hls_segment_filename "$T/ff/%v/seg_%05d.m4s" "$T/ff/%v/index.m3u8"
}
run_vidx() {
    rm -rf "$T/vx"
    "$VIDX" transcode "$IN" -o "$T/vx" --preset bench/hls_ladder.json
}
# "WALL CPU" seconds of a command (CPU: user + sys of it and its threads).
measure() {
    /usr/bin/time -f "%e %U %S" -o "$T/time.txt" bash -c "$(declare -f "$1"); $(declare -p IN T VIDX x264); $1" >/dev/null 2>&1
    awk '{printf "%s %.2f\n", $1, $2 + $3}' "$T/time.txt"
}
A=() B=() CA=() CB=()
[ "${QUALITY_ONLY:-0}" = 1 ] && ROUNDS=0   # the bytes and PSNR of the last round's outputs only
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then read -r a ca < <(measure run_vidx); la=$(cut -d' ' -f1 /proc/loadavg)
        read -r b cb < <(measure run_ffmpeg); lb=$(cut -d' ' -f1 /proc/loadavg)
    else read -r b cb < <(measure run_ffmpeg); lb=$(cut -d' ' -f1 /proc/loadavg)
        read -r a ca < <(measure run_vidx); la=$(cut -d' ' -f1 /proc/loadavg); fi
    A+=("$a") B+=("$b") CA+=("$ca") CB+=("$cb")
    echo "round $round: vidx $a s wall, $ca s CPU (load $la); ffmpeg $b s wall, $cb s CPU (load $lb)"
done
if [ "$ROUNDS" -gt 0 ]; then
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
ma=$(median "${A[@]}") mb=$(median "${B[@]}")
echo "median: vidx $ma s, ffmpeg $mb s, ratio vidx/ffmpeg $(echo "scale=3; $ma / $mb" | bc)"
mca=$(median "${CA[@]}") mcb=$(median "${CB[@]}")
echo "median CPU: vidx $mca s, ffmpeg $mcb s, ratio vidx/ffmpeg $(echo "scale=3; $mca / $mcb" | bc)"
fi
VXD=$(ls -d "$T"/vx/*/)
for r in 1080p:1920:1080 720p:1280:720 360p:640:360; do
    IFS=: read -r name w h <<<"$r"
    for side in vx ff; do
        d=$([ $side = vx ] && echo "$VXD$name" || echo "$T/ff/$name")
        bytes=$(cat "$d"/init*.mp4 "$d"/seg_*.m4s | wc -c)
        psnr=$(ffmpeg -hide_banner -nostdin -i "$d/index.m3u8" -i "$IN" -lavfi \
            "[1:v]scale=$w:$h:flags=bicubic[ref];[0:v][ref]psnr" -an -f null - 2>&1 |
            sed -n 's/.*PSNR y:\([0-9.]*\).* average:\([0-9.inf]*\).*/y \1 avg \2/p' | tail -1)
        echo "$name $side: $bytes bytes, $(echo "scale=0; $bytes * 8 / $SECONDS_IN / 1000" | bc) kbit/s, PSNR $psnr"
    done
done
