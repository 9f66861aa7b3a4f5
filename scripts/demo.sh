#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, makes a sample
# library (or uses ../shared/corpus when present) and runs the main job on it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
lib=sample-out/library
scripts/sample-library.sh "$lib" >/dev/null
rm -rf sample-out/frames
echo "vidx: sampling 8 uniform frames from each clip in $lib"
n=0
for f in "$lib"/*; do
  build/tools/vidx/vidx frames "$f" -o "sample-out/frames/$(basename "$f")" --count 8 --size 320 --audio wav || true
  n=$((n + 1))
done
echo "vidx: $n videos done; frames under sample-out/frames/*/ with manifest.jsonl"
