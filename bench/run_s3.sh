#!/usr/bin/env bash
# Reading the library from an S3 server on loopback against reading it from local disk
# (docs/BENCHMARKS.md, "S3 inputs"; docs/CLOUD.md):
#   local: vidx run LIB -o OUT --count 30 --audio wav --jobs 2 --layout shards
#   s3:    vidx run s3://BUCKET/lib/ -o OUT ... (same job; the objects are LIB's files)
#   s3out: vidx run s3://BUCKET/lib/ -o s3://BUCKET/out --catalog DIR ... (read from and
#          shards written to the bucket: multipart parts while they fill, then the catalog)
# interleaved (hf_alternate, ROUNDS rounds), and the per-video overhead
# (s3 - local) / N and (s3out - local) / N. Then (unless SKIP_BIG=1) peak memory (bench/peakmem.py) of `vidx frames --count 5` on
# a 1 GB Y4M object (BIG_MB MB of raw 640x360 video: every byte is read and demuxed,
# nothing of note decoded) against the same on the local file.
#
# The server: Ceph's radosgw (scripts/services.sh s3-start), started here and stopped at
# exit unless VIDX_TEST_S3_ENDPOINT (and the AWS_* keys) name one already running.
# Each s3out run starts from a new DIR: its prepare step removes DIR and the prefix's
# marker object (the objects of the last round are overwritten under the same names).
# Env: LIB (default bench/data/lib100), N (default: all of LIB's clips), ROUNDS, BIG_MB,
# SKIP_BIG.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$REPO"
VIDX="${VIDX:-build/tools/vidx/vidx}"
LIB="${LIB:-bench/data/lib100}"
BIG_MB="${BIG_MB:-1024}"
RESDIR="${RESDIR:-bench/results/s3-$(date +%Y%m%d-%H%M%S)}"
T="${BENCH_TMP:-${TMPDIR:-/tmp}/vidx-bench}/s3"
mkdir -p "$RESDIR" "$T"
[ -d "$LIB" ] || bench/make_lib.sh lib100 100 10 640x360
mapfile -t clips < <(ls "$LIB"/*.mp4 | grep -v "\.tmp\." | sort | head -n "${N:-100000}")
n=${#clips[@]}
started=
cleanup() { [ -n "$started" ] && VIDX_S3_DIR=$started scripts/services.sh s3-stop; return 0; }
trap cleanup EXIT
if [ -z "${VIDX_TEST_S3_ENDPOINT:-}" ]; then
    eval "$(scripts/services.sh s3-start)"
    started=$VIDX_S3_DIR
fi
export AWS_ENDPOINT_URL=$VIDX_TEST_S3_ENDPOINT
sig=(--aws-sigv4 aws:amz:us-east-1:s3 --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"
     -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -s -f -o /dev/null)
bucket=vidx-bench-$$
curl "${sig[@]}" -X PUT "$AWS_ENDPOINT_URL/$bucket"
rm -rf "$T/lib" && mkdir -p "$T/lib"
for c in "${clips[@]}"; do
    curl "${sig[@]}" -T "$c" "$AWS_ENDPOINT_URL/$bucket/lib/$(basename "$c")"
    cp "$c" "$T/lib/"
done
{ bench_machine; bench_revision 1; echo "library: $n clips of $LIB"; } > "$RESDIR/meta.txt"
job="--count 30 --audio wav --jobs 2 --layout shards --progress none"
# the keys stay in the environment: never in a command line hyperfine records
cat > "$T/unmark.sh" <<EOF
curl --aws-sigv4 aws:amz:us-east-1:s3 --user "\$AWS_ACCESS_KEY_ID:\$AWS_SECRET_ACCESS_KEY" \\
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -s -o /dev/null -X DELETE \\
    "$AWS_ENDPOINT_URL/$bucket/out/.vidx-output"
EOF
unmark="bash $T/unmark.sh"
NAMES=(local s3 s3out)
CMDS=("$VIDX run $T/lib -o $T/a $job" "$VIDX run s3://$bucket/lib/ -o $T/b $job"
      "$VIDX run s3://$bucket/lib/ -o s3://$bucket/out --catalog $T/e $job")
PREPS=("rm -rf $T/a" "rm -rf $T/b" "rm -rf $T/e; $unmark || true")
hf_alternate batch
"$PY" - "$RESDIR/batch.json" "$n" <<'EOF'
import json, sys
r = {x['command']: x for x in json.load(open(sys.argv[1]))['results']}
n = int(sys.argv[2])
loc = r['local']['median']
for k in ('s3', 's3out'):
    t = r[k]['median']
    print('per video: local %.1f ms, %s %.1f ms, overhead %.1f ms (%.1f %%)' %
          (1e3 * loc / n, k, 1e3 * t / n, 1e3 * (t - loc) / n, 100 * (t - loc) / loc))
EOF
[ "${SKIP_BIG:-0}" = 1 ] && exit 0
# 1 GB object: raw Y4M, so the bytes are read and demuxed and little else is done
frames=$(( BIG_MB * 1024 * 1024 / (640 * 360 * 3 / 2) ))
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=640x360:rate=30" -frames:v "$frames" \
    -pix_fmt yuv420p "$T/big.y4m"
curl "${sig[@]}" -T "$T/big.y4m" "$AWS_ENDPOINT_URL/$bucket/big.y4m"
echo "big object: $(stat -c %s "$T/big.y4m") bytes" >> "$RESDIR/meta.txt"
NAMES=(local-1GB s3-1GB)
CMDS=("$VIDX frames $T/big.y4m -o $T/c --count 5" "$VIDX frames s3://$bucket/big.y4m -o $T/d --count 5")
PREPS=("rm -rf $T/c" "rm -rf $T/d")
MEMRUNS="${MEMRUNS:-3}" peak_mem bigobject
rm -f "$T/big.y4m"
