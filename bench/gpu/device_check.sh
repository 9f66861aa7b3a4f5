#!/bin/bash
# The GPU checks and benchmark of docs/GPU.md, for ONE run on a GPU machine that
# has the NVIDIA driver and nothing else (no FFmpeg, no registry). It needs the
# archive bench/gpu/bundle.sh makes (bench/results/gpu/bundle.tar.xz, carried),
# writes everything to $OUT (default ./gpu-out), and is sized to finish in under
# 6 minutes (every step has its own time limit; a step that fails is reported and
# the next one runs).
#   1 probe: nvidia-smi, libcuda / libnvcuvid, the bundle's programs, one NVDEC
#     decode (vidx frames --hwaccel cuda, ffmpeg -hwaccel cuda)
#   2 the kernel vs its C reference, exact (bin/test_gpu: also reference vs swscale)
#   3 vidx's GPU path vs its CPU path on the same clip: same frames chosen (manifest
#     index and pts), pixels by PSNR (PNG, ffmpeg's psnr filter)
#   4 benchmark on a library of 1080p H.264 clips (32 copies of the bundle's clip1080.mp4,
#     10 s 1080p30): vidx run --fps 30 (every frame), --fps 2, --count 30, --hwaccel
#     cuda vs none; and, only when the bundle carries ffmpeg (VIDX_BUNDLE_FFMPEG=1, over
#     the carry limit today), full decode by FFmpeg on the CPU vs NVDEC (7, 14 sessions)
# Without ffmpeg, steps 1 and 3 skip what needs it (ffmpeg's own NVDEC decode, PSNR)
# and say so; test_gpu's kernel test needs no ffmpeg.
# Usage (on the GPU machine, repo root): bash bench/gpu/device_check.sh
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$here/gpu-out}
mkdir -p "$OUT"
W=$(mktemp -d /tmp/vidx-gpu-XXXXXX)
LOG=$OUT/summary.txt
T0=$(date +%s.%N)
say() { echo "$*" | tee -a "$LOG"; }
now() { date +%s.%N; }
elapsed() { echo "$(now) $1" | awk '{printf "%.2f", $1 - $2}'; }
step() { say ""; say "== $* (t=$(elapsed "$T0") s)"; }

step "unpack"
bundle=${VIDX_BUNDLE:-$here/bench/results/gpu/bundle.tar.xz}
unpack() { # tar with xz, or Python's lzma where the machine has no xz
    if command -v xz >/dev/null; then
        tar -C "$W" -xJf "$bundle"
    else
        python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2])' \
            "$bundle" "$W"
    fi
}
if ! unpack; then
    say "FAIL: cannot unpack $bundle (make it with bash bench/gpu/bundle.sh and carry it)"
    exit 2
fi
R=$W/bundle/run.sh
mkdir -p "$W/path"
FF=0
[ -x "$W/bundle/bin/ffmpeg" ] && FF=1
for p in vidx test_gpu $([ $FF = 1 ] && echo ffmpeg); do
    printf '#!/bin/bash\nexec %q %s "$@"\n' "$R" "$p" > "$W/path/$p"
    chmod +x "$W/path/$p"
done
export PATH=$W/path:$PATH
# the driver's libraries, wherever this machine keeps them
drv=$( (ldconfig -p 2>/dev/null | awk '/libcuda\.so\.1 /{print $NF}'; \
        ls /usr/lib/x86_64-linux-gnu/libcuda.so.1 /usr/lib64/libcuda.so.1 \
           /usr/local/nvidia/lib64/libcuda.so.1 /usr/local/cuda/compat/libcuda.so.1 2>/dev/null) | head -1)
[ -n "$drv" ] && export VIDX_DRIVER_DIR=$(dirname "$(readlink -f "$drv")")
say "bundle unpacked in $W; driver dir: ${VIDX_DRIVER_DIR:-not found}"

step "1 probe"
{
    nvidia-smi || echo "nvidia-smi: not available"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.video --format=csv || true
    echo "--- libcuda / libnvcuvid:"
    ldconfig -p 2>/dev/null | grep -E 'libcuda\.so|libnvcuvid\.so' || echo "(not in ld.so.cache)"
    ls -l "${VIDX_DRIVER_DIR:-/nonexistent}"/libcuda.so* "${VIDX_DRIVER_DIR:-/nonexistent}"/libnvcuvid.so* 2>&1
    echo "--- nproc: $(nproc); memory: $(free -g | awk '/Mem/{print $2}') GiB"
} > "$OUT/probe.txt" 2>&1
cat "$OUT/probe.txt" | tee -a "$LOG" | head -40 >/dev/null
CLIP=$W/bundle/clip1080.mp4
timeout 60 vidx frames "$CLIP" -o "$W/probe_cuda" --count 3 --hwaccel cuda --json \
    > "$OUT/probe_vidx.json" 2> "$OUT/probe_vidx.err"
say "vidx frames --hwaccel cuda: rc $? $(cat "$OUT/probe_vidx.json") $(tail -2 "$OUT/probe_vidx.err")"
if [ $FF = 1 ]; then
    timeout 60 ffmpeg -nostdin -v error -hwaccel cuda -hwaccel_output_format cuda -i "$CLIP" \
        -f null - > "$OUT/probe_ffmpeg_nvdec.txt" 2>&1
    say "ffmpeg -hwaccel cuda: rc $? $(tail -3 "$OUT/probe_ffmpeg_nvdec.txt")"
else
    say "ffmpeg -hwaccel cuda: skipped (no ffmpeg in the bundle)"
fi
gpu=0
grep -q '"device":"cuda"' "$OUT/probe_vidx.json" && gpu=1
say "NVDEC through vidx: $([ $gpu = 1 ] && echo yes || echo NO)"

step "2 kernel vs reference (bin/test_gpu)"
timeout 90 test_gpu > "$OUT/test_gpu.txt" 2>&1
say "test_gpu: rc $?"; grep -E "OK|FAILED|SKIPPED|skip|kernel ==|PASSED" "$OUT/test_gpu.txt" | tee -a "$LOG" >/dev/null

step "3 GPU path vs CPU path (same frames, PSNR)"
for hw in cuda none; do
    timeout 60 vidx frames "$CLIP" -o "$W/cmp_$hw" --fps 5 --size 640 --format png --json \
        --hwaccel $hw > "$OUT/cmp_$hw.json" 2>&1
done
if [ ! -f "$W/cmp_cuda/manifest.jsonl" ]; then
    say "same frames chosen: not compared: the --hwaccel cuda run wrote nothing ($(cat "$OUT/cmp_cuda.json" | tail -2))"
elif cmp -s <(cut -d, -f1-5 "$W/cmp_cuda/manifest.jsonl") <(cut -d, -f1-5 "$W/cmp_none/manifest.jsonl"); then
    say "same frames chosen (manifest index/target/time/pts): yes ($(wc -l < "$W/cmp_none/manifest.jsonl") frames)"
else
    say "same frames chosen: NO (see cmp_*.json, manifests differ)"
    cp "$W/cmp_cuda/manifest.jsonl" "$OUT/manifest_cuda.jsonl" 2>/dev/null
    cp "$W/cmp_none/manifest.jsonl" "$OUT/manifest_none.jsonl" 2>/dev/null
fi
[ $FF = 1 ] || say "PSNR: skipped (no ffmpeg in the bundle); the PNGs differ by: $(for f in "$W"/cmp_none/*.png; do cmp -s "$f" "$W/cmp_cuda/$(basename "$f")" || echo x; done | wc -l) files of $(ls "$W"/cmp_none/*.png 2>/dev/null | wc -l)"
[ $FF = 1 ] && for f in "$W"/cmp_none/*.png; do
    g=$W/cmp_cuda/$(basename "$f")
    [ -f "$g" ] || { echo "$(basename "$f") missing on the GPU side"; continue; }
    echo "$(basename "$f") $(ffmpeg -nostdin -i "$g" -i "$f" -lavfi psnr -f null - 2>&1 | grep -o 'average:[0-9.inf]*')"
done > "$OUT/psnr.txt"
[ $FF = 1 ] && { say "PSNR GPU vs CPU path per frame (tolerance: docs/GPU.md):"; head -20 "$OUT/psnr.txt" | tee -a "$LOG" >/dev/null; }

step "4 benchmark: library of 1080p H.264 (made here)"
LIB=$W/lib
mkdir -p "$LIB"
N=${VIDX_GPU_CLIPS:-32}
for i in $(seq 1 "$N"); do cp "$CLIP" "$LIB/clip$i.mp4"; done
FR=$((N * 300))
say "library: $N copies of clip1080.mp4 x 300 frames ($FR frames, $(du -sm "$LIB" | cut -f1) MiB)"
nvidia-smi --query-gpu=timestamp,utilization.gpu,utilization.decoder --format=csv -lms 500 \
    > "$OUT/nvdec_util.csv" 2>/dev/null &
SMI=$!
bench() { # name, command...: wall time, frames/s over the library's FR frames
    local name=$1; shift
    local t; t=$(now)
    if awk -v e="$(elapsed "$T0")" 'BEGIN{exit !(e > 300)}'; then
        say "$name: skipped (past 300 s: the whole check must stay under 6 minutes)"
        return
    fi
    timeout 45 "$@" > "$OUT/bench_$name.log" 2>&1
    local rc=$? s; s=$(elapsed "$t")
    if [ "$rc" = 0 ]; then
        say "$(printf '%-28s rc %-3s %7.2f s  %8.0f frames/s' "$name" "$rc" "$s" "$(echo "$FR $s" | awk '{print $1 / $2}')")"
    else
        say "$(printf '%-28s rc %-3s %7.2f s  FAILED (no figure): %s' "$name" "$rc" "$s" "$(tail -1 "$OUT/bench_$name.log")")"
    fi
}
printf '#!/bin/bash\nls %q/*.mp4 | xargs -P "$1" -I{} ffmpeg -nostdin -v error $2 -i {} -f null -\n' \
    "$LIB" > "$W/path/ff_dec"
chmod +x "$W/path/ff_dec"
if [ $FF = 1 ]; then
    bench ffmpeg_cpu_decode_p16 ff_dec "$(nproc)" "-threads 1"
    for s in 7 14; do
        bench ffmpeg_nvdec_decode_p$s ff_dec $s "-hwaccel cuda -hwaccel_output_format cuda"
    done
else
    say "FFmpeg peer (CPU and NVDEC full decode): skipped (no ffmpeg in the bundle)"
fi
vrun() { # name hw args...
    local name=$1 hw=$2; shift 2
    rm -rf "$W/out_$name"
    bench "vidx_${name}" vidx run "$LIB" -o "$W/out_$name" --hwaccel "$hw" --progress none "$@"
    grep -E "frames/s|decoded on" "$OUT/bench_vidx_${name}.log" | tee -a "$LOG" >/dev/null
}
for hw in cuda none; do
    vrun "fps30_$hw" $hw --fps 30 --size 224 --quality 85
    vrun "fps2_$hw" $hw --fps 2 --size 224
    vrun "count30_$hw" $hw --count 30 --size 224
done
kill "$SMI" 2>/dev/null
say "NVDEC utilisation samples: $OUT/nvdec_util.csv (max decoder %: $(awk -F, 'NR>1{gsub(/ %/,"",$3); if ($3+0>m) m=$3+0} END{print m+0}' "$OUT/nvdec_util.csv"))"
step "done"
rm -rf "$W"
