#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, makes a small
# sample library with FFmpeg's lavfi sources (plus ../shared/corpus when it is
# there) and runs the main job on it: vidx run, 8 uniform frames and 16 kHz mono
# WAV per video, into sample-out/run. Run it twice: the second run skips all.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
lib=sample-out/library
scripts/sample-library.sh "$lib" >/dev/null
inputs=("$lib")
corpus=${VIDX_CORPUS:-../shared/corpus}
[ -d "$corpus" ] && inputs+=("$corpus")
echo "vidx: vidx run ${inputs[*]} -o sample-out/run --count 8 --size 320 --audio wav"
set +e
build/tools/vidx/vidx run "${inputs[@]}" -o sample-out/run --count 8 --size 320 --audio wav
rc=$?
set -e
build/tools/vidx/vidx status sample-out/run
echo "vidx: exit code $rc (0: all ok, 1: some videos failed, e.g. the corpus's deliberately corrupt clips)"
echo "vidx: frames under sample-out/run/frames/<video>/, catalog in sample-out/run/catalog.db"
