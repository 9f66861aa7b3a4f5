#!/usr/bin/env bash
# merge.sh - after a fuzz run, folds what it found back into the committed
# corpus while keeping that corpus small: libFuzzer's -merge=1 of the committed
# corpus and the run's directories into a scratch directory (the inputs that
# add coverage), then copies N of the new ones of at most MAXBYTES, spread
# evenly over them by size, into tests/fuzz/corpus/H as fuzz-<sha1 prefix>.
#   tests/fuzz/merge.sh BUILD H N MAXBYTES RUNDIR...
#   e.g. tests/fuzz/merge.sh build-fuzz media 15 4096 work/media
set -euo pipefail
build=$1 h=$2 n=$3 max=$4
shift 4
corpus=$(cd "$(dirname "$0")" && pwd)/corpus/$h
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/m"
nice -n 19 "$build/tests/fuzz/fuzz_$h" -merge=1 -close_fd_mask=2 "$tmp/m" "$corpus" "$@" \
  > "$tmp/log" 2>&1 || { tail -20 "$tmp/log"; exit 1; }
declare -A have
for f in "$corpus"/*; do have[$(sha1sum < "$f" | cut -c1-40)]=1; done
cand=()
for f in $(ls -S -r "$tmp/m"); do
  [ "$(stat -c %s "$tmp/m/$f")" -le "$max" ] && [ -z "${have[$f]:-}" ] && cand+=("$f")
done
c=${#cand[@]} added=0
for ((i = 0; i < n && i < c; i++)); do
  f=${cand[$((i * c / n))]}
  cp "$tmp/m/$f" "$corpus/fuzz-${f:0:12}"
  added=$((added + 1))
done
grep -E "MERGE-OUTER: [0-9]+ new files" "$tmp/log" || true
echo "$h: $c new inputs after the merge, $added added to $corpus"
