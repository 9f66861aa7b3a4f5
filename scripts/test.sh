#!/usr/bin/env bash
# The README's second command: installs what is missing, builds, and runs the
# whole test suite (cmocka unit tests + end-to-end CLI tests), ending with
# "N passed, N failed". Set VIDX_SANITIZE=1 for an ASan+UBSan build.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh || exit 1
builddir=build
if [ "${VIDX_SANITIZE:-0}" = 1 ]; then
  builddir=build-asan
  [ -f $builddir/build.ninja ] || meson setup $builddir -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || exit 1
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
else
  [ -f $builddir/build.ninja ] || meson setup $builddir >/dev/null || exit 1
fi
ninja -C $builddir >/dev/null || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
# Services the tests use (tests needing one fail without it, unless
# VIDX_TEST_NO_SERVICES=1: then none is started and those tests skip): a
# throwaway PostgreSQL and S3 server (Ceph's radosgw; scripts/services.sh) and a local
# Slurm (scripts/slurm_local.sh), all stopped at exit by one trap.
pg_started= slurm_started= s3_started=
stop_services() {
  [ -n "$slurm_started" ] && scripts/slurm_local.sh stop "$slurm_started"
  [ -n "$s3_started" ] && VIDX_S3_DIR=$s3_started scripts/services.sh s3-stop
  [ -n "$pg_started" ] && VIDX_PG_DIR=$pg_started scripts/services.sh pg-stop
  return 0
}
trap stop_services EXIT
trap 'exit 130' INT TERM
if [ "${VIDX_TEST_NO_SERVICES:-0}" != 1 ]; then
  pg_env=$(scripts/services.sh pg-start) || { echo "cannot start PostgreSQL"; echo "0 passed, 1 failed"; exit 1; }
  eval "$pg_env"
  pg_started=$VIDX_PG_DIR
  # radosgw's one-node cluster has failed to come up once in many starts (an OSD told
  # "wrong fsid" by its own new monitor): a fresh cluster is tried up to three times.
  for try in 1 2 3; do
    s3_env=$(scripts/services.sh s3-start) && break
    s3_env=
    echo "# the S3 server did not start (try $try of 3)"
  done
  [ -n "$s3_env" ] || { echo "cannot start the S3 server (radosgw)"; echo "0 passed, 1 failed"; exit 1; }
  eval "$s3_env"
  s3_started=$VIDX_S3_DIR
fi
passed=0 failed=0 skipped=0
log=$(mktemp)
meson test -C $builddir --suite unit --print-errorlogs >"$log" 2>&1
cat "$log" | grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Skipped):' || true
ok=$(awk '/^Ok:/{print $2}' "$log")
# a unit test that times out or passes when expected to fail counts as failed
bad=$(awk '/^(Fail|Timeout|Unexpected Pass):/{n += $NF} END {print n + 0}' "$log")
passed=$((passed + ${ok:-0})); failed=$((failed + ${bad:-0}))
if [ "${VIDX_TEST_NO_SERVICES:-0}" != 1 ]; then
  if slurm_env=$(VIDX_SLURM_DIR= VIDX_SLURM_OWNER=$$ scripts/slurm_local.sh start); then
    eval "$slurm_env"; slurm_started=$VIDX_SLURM_DIR
  else echo "# the local Slurm did not start: the Slurm tests will fail"; fi
fi
if [ -f tests/cli/run.py ]; then
  VIDX_BIN=$PWD/$builddir/tools/vidx/vidx /usr/bin/python3 tests/cli/run.py | tee "$log"
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
  p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/'); f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
  s=$(echo "$line" | grep -oE '[0-9]+ skipped' | cut -d' ' -f1)
  if [ -z "$line" ]; then failed=$((failed + 1)); else passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0})); fi
fi
# The Python package (python/, tests/python/, pytest from Debian): its summary
# line, e.g. "3 failed, 40 passed, 2 skipped in 61.2s", is added to the totals.
if [ -d tests/python ]; then
  VIDX_BUILD=$PWD/$builddir VIDX_BIN=$PWD/$builddir/tools/vidx/vidx \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/python 2>&1 | tee "$log"
  line=$(grep -E '^=* ?[0-9]+ (passed|failed|skipped|error)' "$log" | tail -1)
  num() { echo "$line" | grep -oE "[0-9]+ $1" | head -1 | cut -d' ' -f1; }
  if [ -z "$line" ]; then failed=$((failed + 1)); else
    p=$(num passed); f=$(num failed); e=$(num error); s=$(num skipped)
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${e:-0})); skipped=$((skipped + ${s:-0}))
  fi
fi
rm -f "$log"
if [ "$skipped" -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
[ "$failed" -eq 0 ]
