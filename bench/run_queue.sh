#!/usr/bin/env bash
# Work-queue benchmark (docs/BENCHMARKS.md, "Scale-out"): vidx worker through a
# PostgreSQL queue against a local vidx run, on the same library and options.
#
# Usage: bench/run_queue.sh          (lib100; 30 uniform frames + 16 kHz WAV per video)
#
#   batch:   vidx run LIB -o OUT --count 30 --audio wav --jobs 2          (the reference)
#            vidx enqueue LIB --catalog URL --count 30 --audio wav, then
#            1 worker --jobs 2 | 2 workers --jobs 1 | 4 workers --jobs 1 (4 on 2 cores:
#            oversubscribed, to show the queue adds no cost of its own), wall time from
#            the first worker's start to the last one's exit; each output is checked to
#            hold what the reference holds (every video ok once, the same frame md5s).
#   queue:   bench/queue_bench.c with 10k, 100k and 1M rows queued: latency of claim,
#            heartbeat and fenced finish (ms: median, p90, p99), and the videos/s one
#            PostgreSQL sustains with 1, 2, 4 and 8 clients doing only queue work.
# PostgreSQL: $VIDX_BENCH_PG (a server URL whose user may create databases), else a
# throwaway server from scripts/services.sh (VIDX_PG_DURABLE=1: fsync on, as a real
# server). PARTS (default "batch queue") picks the parts. Results in $RESDIR.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$REPO"

VIDX="${VIDX:-build/tools/vidx/vidx}"
QB="${QB:-build/vidx-queue-bench}"
LIB=bench/data/lib100
ROUNDS="${ROUNDS:-3}"
RESDIR="${RESDIR:-bench/results/queue-$(date +%Y%m%d-%H%M%S)}"
T="${BENCH_TMP:-${TMPDIR:-/tmp}/vidx-bench}/queue"
mkdir -p "$RESDIR" "$T"
[ -d "$LIB" ] || bench/make_lib.sh "$LIB" 100 10 640x360

PARTS="${PARTS:-batch queue}"
if [ -z "${VIDX_BENCH_PG:-}" ]; then
    eval "$(VIDX_PG_DURABLE=1 bash scripts/services.sh pg-start)"
    trap 'bash scripts/services.sh pg-stop >/dev/null 2>&1 || true' EXIT
    VIDX_BENCH_PG="$VIDX_TEST_PG"
fi
db() { # a fresh database; prints its URL
    local name="vidx_bench_$1"
    psql "$VIDX_BENCH_PG" -qc "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
    echo "${VIDX_BENCH_PG%/*}/$name"
}
OPTS=(--count 30 --audio wav)

frames_md5() { # OUT [URL]: sorted "path time md5" of every frame
    local args=(export "$1" --table frames)
    [ -n "${2:-}" ] && args+=(--catalog "$2")
    "$VIDX" "${args[@]}" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
print(len(rows)); [print(r["time"], r["checksum"]) for r in sorted(rows, key=lambda r: (r["time"], r["checksum"] or ""))]' |
        md5sum | cut -d" " -f1
}

run_workers() { # N JOBS URL OUT: N workers at once; prints the wall seconds
    local n=$1 jobs=$2 url=$3 out=$4 t0 pids=()
    t0=$(date +%s.%N)
    for _ in $(seq "$n"); do
        "$VIDX" worker --catalog "$url" -o "$out" --jobs "$jobs" --progress none 2>>"$RESDIR/workers.log" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    echo "$(date +%s.%N) - $t0" | bc
}

case " $PARTS " in *" batch "*) ;; *) ROUNDS=0 ;; esac
[ "$ROUNDS" = 0 ] || echo "== batch: lib100, ${OPTS[*]}" | tee "$RESDIR/batch.txt"
for round in $(seq "$ROUNDS"); do
    rm -rf "$T/ref"
    t0=$(date +%s.%N)
    "$VIDX" run "$LIB" -o "$T/ref" "${OPTS[@]}" --jobs 2 --progress none
    t_ref=$(echo "$(date +%s.%N) - $t0" | bc)
    want=$(frames_md5 "$T/ref")
    echo "round $round: vidx run --jobs 2: $t_ref s" | tee -a "$RESDIR/batch.txt"
    for cfg in "1 2" "2 1" "4 1"; do
        set -- $cfg
        url=$(db "w$1")
        rm -rf "$T/q$1"
        "$VIDX" enqueue "$LIB" --catalog "$url" "${OPTS[@]}" 2>/dev/null
        secs=$(run_workers "$1" "$2" "$url" "$T/q$1")
        got=$(frames_md5 "$T/q$1" "$url")
        same=$([ "$got" = "$want" ] && echo "same frames" || echo "DIFFERENT FRAMES")
        echo "round $round: $1 worker(s) x --jobs $2 via the queue: $secs s ($same)" |
            tee -a "$RESDIR/batch.txt"
    done
done

case " $PARTS " in *" queue "*) ;; *) echo "results in $RESDIR"; exit 0 ;; esac
echo "== queue alone (no decoding)" | tee "$RESDIR/queue.txt"
for rows in 10000 100000 1000000; do
    url=$(db "rows$rows")
    "$QB" "$url" "$rows" 2000 0 | tee -a "$RESDIR/queue.txt"
done
url=$(db rows_clients)
for c in 1 2 4 8; do
    psql "$url" -qc "DROP TABLE IF EXISTS queue, queue_workers, queue_options CASCADE" 2>/dev/null || true
    "$QB" "$url" 200000 200 "$c" | tee -a "$RESDIR/queue.txt"
done
echo "results in $RESDIR"
