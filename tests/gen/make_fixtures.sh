#!/usr/bin/env bash
# make_fixtures.sh OUTDIR - generates the small synthetic clips the CLI tests use.
#
# Every clip is made from an FFmpeg lavfi source, so its frame count, frame
# times, size, rotation and aspect ratio are known by construction (the tests
# in tests/cli/test_fixtures.py state them). Also writes the "bad inputs" the
# error tests feed to vidx. Needs ffmpeg/ffprobe (5.1) with libx264, libx265,
# mpeg4 and aac, and /usr/bin/python3 for a few byte-level edits.
# Takes a few seconds; the test runner caches OUTDIR by a hash of this file.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
OUT=$1
mkdir -p "$OUT"
cd "$OUT"

FF=(ffmpeg -nostdin -hide_banner -v error -y)
SRC=testsrc2
PY=/usr/bin/python3

# --- good clips -------------------------------------------------------------

# cfr.mp4: 3 s, 320x240, 25 fps => 75 frames at k/25 s; H.264 with B-frames,
# closed GOPs of 12 (keyframes at 0, 0.48, 0.96, ... s), yuv420p, no audio.
"${FF[@]}" -f lavfi -i "$SRC=size=320x240:rate=25:duration=3" \
    -c:v libx264 -preset veryfast -bf 2 -g 12 -keyint_min 12 -sc_threshold 0 \
    -x264-params open_gop=0 -pix_fmt yuv420p cfr.mp4

# cfr_faststart.mp4: same, moov first (used for a truncated file that still opens).
"${FF[@]}" -i cfr.mp4 -c copy -movflags +faststart cfr_faststart.mp4

# off.mp4 / off.mkv: 2 s at 25 fps starting at 10 s (stream start_time 10).
"${FF[@]}" -f lavfi -i "$SRC=size=320x240:rate=25:duration=2" \
    -c:v libx264 -preset veryfast -bf 2 -g 12 -sc_threshold 0 -output_ts_offset 10 off.mp4
"${FF[@]}" -f lavfi -i "$SRC=size=320x240:rate=25:duration=2" \
    -c:v libx264 -preset veryfast -bf 2 -g 12 -sc_threshold 0 -output_ts_offset 10 off.mkv

# vfr.mkv / vfr.mp4: 45 frames; frame n (n < 25) at n*0.04 s, then
# 1.0 + (n-25)*0.1 s (n = 25..44): 25 fps for a second, then 10 fps
# (the expression is in ticks of the 1/1000 time base, to stay exact).
VFR_EXPR='if(lt(N,25),N*40,1000+(N-25)*100)'
"${FF[@]}" -f lavfi -i "$SRC=size=320x240:rate=25" \
    -vf "trim=end_frame=45,settb=1/1000,setpts='$VFR_EXPR'" -fps_mode passthrough -enc_time_base 1:1000 \
    -c:v libx264 -preset veryfast -bf 2 -g 12 -sc_threshold 0 vfr.mkv
"${FF[@]}" -f lavfi -i "$SRC=size=320x240:rate=25" \
    -vf "trim=end_frame=45,settb=1/1000,setpts='$VFR_EXPR'" -fps_mode passthrough -enc_time_base 1:1000 \
    -c:v libx264 -preset veryfast -bf 2 -g 12 -sc_threshold 0 -video_track_timescale 1000 vfr.mp4

# rot90.mp4 / rot270.mp4: cfr.mp4 with a display matrix. FFmpeg 5.1's legacy
# "rotate" tag is written as a counter-clockwise matrix angle, so tag 270 gives
# ffprobe rotation -90, i.e. the picture is shown turned 90 degrees clockwise
# (like decord_video_90.mov). Checked below.
"${FF[@]}" -i cfr.mp4 -c copy -metadata:s:v rotate=270 rot90.mp4
"${FF[@]}" -i cfr.mp4 -c copy -metadata:s:v rotate=90 rot270.mp4

# sar.mp4: 1 s, 320x240 coded, SAR 3:2 => 480x240 displayed; 25 frames.
"${FF[@]}" -f lavfi -i "$SRC=size=320x240:rate=25:duration=1" -vf setsar=3/2 \
    -c:v libx264 -preset veryfast -g 12 -sc_threshold 0 sar.mp4

# hevc10.mp4: 1 s, 320x240, 25 fps, HEVC Main 10, yuv420p10le, B-frames.
"${FF[@]}" -f lavfi -i "$SRC=size=320x240:rate=25:duration=1" -pix_fmt yuv420p10le \
    -c:v libx265 -preset ultrafast -x265-params log-level=error:keyint=12:min-keyint=12:bframes=2:scenecut=0 \
    hevc10.mp4

# mpeg4.avi: 2 s, 320x240, 25 fps, MPEG-4 Part 2 in AVI, GOP 12, no B-frames
# (50 frames at k/25 s).
"${FF[@]}" -f lavfi -i "$SRC=size=320x240:rate=25:duration=2" \
    -c:v mpeg4 -bf 0 -g 12 -q:v 4 mpeg4.avi

# long.mp4: 20 s, 640x480, 25 fps (500 frames) for the interrupt test.
"${FF[@]}" -f lavfi -i "$SRC=size=640x480:rate=25:duration=20" \
    -c:v libx264 -preset ultrafast -g 250 long.mp4

# --- bad inputs -------------------------------------------------------------
mkdir -p bad

: > bad/empty.mp4
"$PY" -c 'import random,sys; r=random.Random(1234); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(65536)))' \
    > bad/random.mp4
for i in $(seq 1 200); do echo "This is a plain text file, not a video. Line $i."; done > bad/text.mp4

# Cut at 50%: cfr.mp4 keeps its moov at the end, so the cut file cannot be
# opened; the faststart copy and the Matroska copy open and decode part way.
"$PY" - cfr.mp4 bad/trunc_moov_end.mp4 <<'EOF'
import sys
d = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write(d[:len(d) // 2])
EOF
"$PY" - cfr_faststart.mp4 bad/trunc_faststart.mp4 <<'EOF'
import sys
d = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write(d[:len(d) // 2])
EOF
"${FF[@]}" -i cfr.mp4 -c copy cfr_full.mkv
"$PY" - cfr_full.mkv bad/trunc.mkv <<'EOF'
import sys
d = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write(d[:len(d) // 2])
EOF
rm -f cfr_full.mkv

# Audio only (AAC in MP4), 2 s.
"${FF[@]}" -f lavfi -i "sine=frequency=440:duration=2" -c:a aac -b:a 64k bad/audio_only.mp4

# HLS playlist over a local segment, and the same text disguised as .mp4.
"${FF[@]}" -i cfr.mp4 -c copy -bsf:v h264_mp4toannexb -f mpegts bad/segment0.ts
cat > bad/playlist.m3u8 <<'EOF'
#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:3
#EXT-X-MEDIA-SEQUENCE:0
#EXTINF:3.0,
segment0.ts
#EXT-X-ENDLIST
EOF
cp bad/playlist.m3u8 bad/hls_disguised.mp4

# concat demuxer lists (ffconcat header, probed by content).
cp cfr.mp4 bad/part.mp4
printf 'ffconcat version 1.0\nfile part.mp4\nfile part.mp4\n' > bad/list.ffconcat
cp bad/list.ffconcat bad/concat_disguised.mp4

# --- self-checks: the facts the tests rely on ---------------------------------
fail() { echo "make_fixtures.sh: $*" >&2; exit 1; }
rot() { ffprobe -v error -select_streams v:0 -show_entries stream_side_data=rotation -of csv=p=0 "$1" | tr -d ' \n,'; }
[ "$(rot rot90.mp4)" = "-90" ] || fail "rot90.mp4: ffprobe rotation is '$(rot rot90.mp4)', expected -90"
[ "$(rot rot270.mp4)" = "90" ] || fail "rot270.mp4: ffprobe rotation is '$(rot rot270.mp4)', expected 90"
nf() { ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$1" | tr -d ' \n,'; }
[ "$(nf cfr.mp4)" = 75 ] || fail "cfr.mp4 has $(nf cfr.mp4) frames, expected 75"
[ "$(nf vfr.mkv)" = 45 ] || fail "vfr.mkv has $(nf vfr.mkv) frames, expected 45"
[ "$(nf mpeg4.avi)" = 50 ] || fail "mpeg4.avi has $(nf mpeg4.avi) frames, expected 50"
ffprobe -v error bad/playlist.m3u8 >/dev/null 2>&1 || fail "FFmpeg itself cannot open bad/playlist.m3u8 (the refusal test would be vacuous)"
ffprobe -v error -safe 0 bad/list.ffconcat >/dev/null 2>&1 || fail "FFmpeg itself cannot open bad/list.ffconcat"
echo ok > .complete
