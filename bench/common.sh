# Shared helpers for bench/run_*.sh (source this file; bash only).
#
# hf_alternate TAG
#   Benchmarks the commands in the global arrays NAMES[] CMDS[] PREPS[] (same length;
#   PREPS[i] runs before every timing run of CMDS[i], e.g. 'rm -rf OUTDIR') with
#   hyperfine, interleaved: ROUNDS rounds (default 5) of `hyperfine --runs 1` over all
#   commands, the command order rotated by one each round (A B C, B C A, C A B, ...), so
#   every command sees the same background noise: the A B A B rule of
#   BENCHMARKS-GUIDE.md.  The first round adds `--warmup WARMUP` (default 1).
#   Per-round hyperfine JSON/markdown go to $RESDIR/TAG.roundN.{json,md}; summarize.py
#   merges them into $RESDIR/TAG.{json,md} with medians and ratios to NAMES[0].
#
# peak_mem TAG
#   Peak memory of each command (bench/peakmem.py: /usr/bin/time -v max RSS plus a
#   sampled whole-process-tree RSS/PSS), MEMRUNS runs each (default 3), into
#   $RESDIR/TAG.mem.tsv.
#
# make_clip OUT FFMPEG_ARGS...
#   Makes the generated input OUT once: ffmpeg writes FFMPEG_ARGS' output to a
#   temporary name beside OUT, renamed into place when it is complete; an OUT that
#   already exists is kept (the inputs are idempotent).
#
# Environment: ROUNDS, WARMUP, MEMRUNS, RESDIR (default bench/results/<script>-<time>),
#   QUIET_LOAD: if set (e.g. 1.0), wait before each round (at most QUIET_WAIT s, default
#   300) until the 1-minute load average is below it; the load at the start of each round
#   is logged in $RESDIR/TAG.load.txt either way.

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH/.." && pwd)"
PY=/usr/bin/python3
ROUNDS="${ROUNDS:-5}"
WARMUP="${WARMUP:-1}"
MEMRUNS="${MEMRUNS:-3}"
QUIET_LOAD="${QUIET_LOAD:-}"
QUIET_WAIT="${QUIET_WAIT:-300}"

make_clip() {
    local out=$1 tmp
    shift
    mkdir -p "$(dirname "$out")"
    if [[ -s "$out" ]]; then
        echo "exists: $out"
        return 0
    fi
    tmp="$out.tmp.$$.${out##*.}"
    trap 'rm -f "$tmp"' EXIT
    nice -n 10 ffmpeg -hide_banner -loglevel error -nostdin -y "$@" "$tmp"
    mv "$tmp" "$out"
    trap - EXIT
    echo "made: $out"
}

wait_quiet() {
    local waited=0
    [[ -z "$QUIET_LOAD" ]] && return 0
    while awk -v q="$QUIET_LOAD" '{ exit !($1 >= q) }' /proc/loadavg && (( waited < QUIET_WAIT )); do
        sleep 10; waited=$(( waited + 10 ))
    done
    (( waited > 0 )) && echo "   (waited ${waited}s for load < $QUIET_LOAD)"
    return 0
}

hf_alternate() {
    local tag="$1" n=${#CMDS[@]} r k i args
    for (( r = 0; r < ROUNDS; r++ )); do
        args=(--style basic --runs 1 --export-json "$RESDIR/$tag.round$r.json"
              --export-markdown "$RESDIR/$tag.round$r.md")
        (( r == 0 && WARMUP > 0 )) && args+=(--warmup "$WARMUP")
        for (( k = 0; k < n; k++ )); do
            i=$(( (k + r) % n ))
            args+=(-n "${NAMES[$i]}" --prepare "${PREPS[$i]}")
        done
        for (( k = 0; k < n; k++ )); do
            i=$(( (k + r) % n ))
            args+=("${CMDS[$i]}")
        done
        wait_quiet
        echo "== $tag: round $(( r + 1 ))/$ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg))"
        echo "round $r: $(date -Is) load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESDIR/$tag.load.txt"
        hyperfine "${args[@]}" | grep -E "^(Benchmark|  Time)" || return 1
    done
    "$PY" "$BENCH/summarize.py" "$RESDIR" "$tag" "${NAMES[0]}"
}

peak_mem() {
    local tag="$1" i out
    out="$RESDIR/$tag.mem.tsv"
    printf 'name\tmaxrss_kb\ttree_rss_kb\ttree_pss_kb\truns\n' > "$out"
    for i in "${!CMDS[@]}"; do
        echo "== $tag: peak memory of ${NAMES[$i]} ($MEMRUNS runs)"
        "$PY" "$BENCH/peakmem.py" --runs "$MEMRUNS" --name "${NAMES[$i]}" \
            --prepare "${PREPS[$i]}" -- "${CMDS[$i]}" >> "$out" || return 1
    done
    column -t -s $'\t' "$out"
}

# bench_machine: the lines of meta.txt that describe the machine and the tools
bench_machine() {
    echo "date: $(date -Is)"
    echo "host: $(uname -srm); $(nproc) cores; $(lscpu | sed -n 's/^Model name: *//p')"
    echo "memory: $(free -g | awk '/^Mem:/ { print $2 " GiB" }')"
    echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "ffmpeg: $(ffmpeg -version | head -1)"
    echo "hyperfine: $(hyperfine --version 2>/dev/null || echo 'not installed')"
}

# bench_revision HAVE_VIDX: the git revision measured and vidx's version (uses $VIDX)
bench_revision() {
    echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo none) $(git status --porcelain 2>/dev/null | grep -q . && echo '(dirty)')"
    echo "vidx: $([[ $1 == 1 ]] && ("$VIDX" --version 2>&1 || true) | head -1 || echo 'not available')"
}

# vidx_usable SUBCOMMAND: prints 1 when $VIDX has it, else 0 (and says so on stderr)
vidx_usable() {
    if [[ -x "$VIDX" ]] && "$VIDX" "$1" --help >/dev/null 2>&1; then
        echo 1
    else
        echo "note: '$VIDX $1' not usable: benchmarking the peers only" >&2
        echo 0
    fi
}

# count_files DIR PATTERN: number of files named PATTERN under DIR (recursive)
count_files() { find "$1" -type f -name "$2" 2>/dev/null | wc -l; }

# jpeg_size FILE: WxH of an image
jpeg_size() {
    ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=s=x:p=0 "$1"
}

# check_count LABEL GOT WANT: prints OK/MISMATCH, returns 1 on mismatch
check_count() {
    if [[ "$2" == "$3" ]]; then echo "  $1: $2 (ok)"; else echo "  $1: $2, expected $3 (MISMATCH)"; return 1; fi
}
