#!/usr/bin/env bash
# Regenerates docs/img/{overview,failures,video}.png, the README's pictures of
# `vidx serve`: a run over a few corpus clips (and the corpus's undecodable
# one, so the failures page has something to show) served on a loopback port,
# each page shot by Debian's chromium (tests/browser/pages.mjs).
# Usage: scripts/screenshots.sh [CORPUS]   (default $VIDX_CORPUS or ../shared/corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-${VIDX_CORPUS:-$PWD/../shared/corpus}}
vidx=${VIDX_BIN:-$PWD/build/tools/vidx/vidx}
work=$(mktemp -d)
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/library/clips" "$work/library/broken" docs/img
for c in androidx_bear-vp9.webm decord_video_90.mov psd_testvideo.mp4 moviepy_fire2.mp4; do
  ln -s "$corpus/$c" "$work/library/clips/$c"
done
ln -s "$corpus/androidx_invalid-bitstream.webm" "$work/library/broken/"
head -c 4096 /dev/urandom >"$work/library/broken/not_really.mp4"
"$vidx" run "$work/library" -o "$work/out" --count 8 --scenes --follow-symlinks --progress none || true
"$vidx" serve "$work/out" --listen 127.0.0.1:0 >"$work/serve.txt" &
server=$!
for _ in $(seq 50); do grep -q http "$work/serve.txt" && break; sleep 0.1; done
url=$(grep -o 'http://[^ ?]*' "$work/serve.txt")
id=$(curl -s "${url}api/videos?status=ok&q=bear" | node -p 'JSON.parse(require("fs").readFileSync(0)).videos[0].id')
node tests/browser/pages.mjs screenshots "$url" "$PWD/docs/img" "$id"
ls -l docs/img/*.png
