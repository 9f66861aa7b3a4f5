#!/bin/bash
# Packs what the GPU device check needs into one compressed archive for a bare
# GPU machine (no FFmpeg, no package registry; see docs/GPU.md):
#   bin/vidx            the CLI (-Dcuda build)
#   bin/test_gpu        the kernel vs C reference (and vs swscale) unit test
#   bin/ffmpeg          only with VIDX_BUNDLE_FFMPEG=1: Debian's FFmpeg (the peer,
#                       ffmpeg -hwaccel cuda). Off by default: with it the archive is
#                       over the 64 MiB carry limit (241 MiB unpacked; xz -6 passed
#                       63 MB before it finished; docs/BENCHMARKS.md, "GPU")
#   clip1080.mp4        a 10 s 1080p30 H.264 clip made here (testsrc2 + light noise,
#                       x264 veryfast crf 26, ~4.8 MB): the library there is copies of it
#   lib/                the ldd closure of those, glibc and its loader included,
#                       minus the driver's own libraries (libcuda, libnvcuvid,
#                       libnvidia-*), which come from the GPU machine
#   run.sh              runs a carried program through the carried loader
# Usage: bash bench/gpu/bundle.sh [BUILD_DIR]  -> bench/results/gpu/bundle.tar.xz
# (XZ_LEVEL=-6 packs faster and a little larger than the default -9e; XZ_THREADS=2.)
# (bench/results/ is gitignored; the device command carries that file.) Prints the size:
# the carry limit is 64 MiB for everything, so the archive must stay well under it.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
out=$here/bench/results/gpu
bins=("$build/tools/vidx/vidx" "$build/tests/unit/test_gpu")
[ "${VIDX_BUNDLE_FFMPEG:-0}" = 1 ] && bins+=("$(command -v ffmpeg)")
for b in "${bins[@]}"; do
    [ -x "$b" ] || { echo "bundle: $b is missing (build first: ninja -C $build)" >&2; exit 2; }
done
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT INT TERM
mkdir -p "$stage/bundle/bin" "$stage/bundle/lib" "$out"
for b in "${bins[@]}"; do
    cp -L "$b" "$stage/bundle/bin/"
    # the closure: every resolved library, the loader too; never the driver's
    ldd "$b" | awk '/=> \//{print $3} /^\t\/.*ld-linux/{print $1}' |
        grep -Ev '/(libcuda|libnvcuvid|libnvidia-)[^/]*$' | while read -r lib; do
            cp -Ln "$lib" "$stage/bundle/lib/" 2>/dev/null || true
        done
done
strip --strip-unneeded "$stage"/bundle/bin/* "$stage"/bundle/lib/*.so* 2>/dev/null || true
clip=${VIDX_BUNDLE_CLIP:-$out/clip1080.mp4}
if [ ! -f "$clip" ]; then
    ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=s=1920x1080:r=30:d=10,noise=alls=3:allf=t" \
        -c:v libx264 -preset veryfast -crf 26 -bf 2 -g 60 -pix_fmt yuv420p "$clip.tmp.mp4"
    mv "$clip.tmp.mp4" "$clip"
fi
cp "$clip" "$stage/bundle/clip1080.mp4"
cat > "$stage/bundle/run.sh" <<'RUN'
#!/bin/bash
# run.sh PROGRAM ARGS...: a carried program with the carried libraries and loader
# (the machine's own glibc may be older than Debian 12's); the driver's libraries
# (libcuda, libnvcuvid) are found the machine's way: ld.so.cache, LD_LIBRARY_PATH.
B=$(cd "$(dirname "$0")" && pwd)
p=$1
shift
exec "$B/lib/ld-linux-x86-64.so.2" --library-path "$B/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}${VIDX_DRIVER_DIR:+:$VIDX_DRIVER_DIR}" "$B/bin/$p" "$@"
RUN
chmod +x "$stage/bundle/run.sh"
echo "bundle: $(ls "$stage/bundle/lib" | wc -l) libraries, $(du -sm "$stage/bundle" | cut -f1) MiB unpacked"
tar -C "$stage" -cf - bundle | xz "${XZ_LEVEL:--9e}" -T"${XZ_THREADS:-2}" > "$out/bundle.tar.xz.tmp"
mv "$out/bundle.tar.xz.tmp" "$out/bundle.tar.xz"
size=$(stat -c %s "$out/bundle.tar.xz")
echo "bundle: $out/bundle.tar.xz $((size / 1024 / 1024)) MiB ($size bytes; the carry limit is 64 MiB)"
[ "$size" -lt $((60 * 1024 * 1024)) ] || { echo "bundle: too big to carry" >&2; exit 1; }
