#!/usr/bin/env bash
# Services the tests need, on loopback, with throwaway data (never the
# system's clusters):
#   scripts/services.sh pg-start    PostgreSQL 15 (Debian) in a new data dir under /tmp, trust
#                                   auth, 127.0.0.1 on a free port and a unix socket in that
#                                   dir; prints `export VIDX_TEST_PG=postgresql://...` (eval it)
#                                   (VIDX_PG_DURABLE=1: fsync on, as a real server; the
#                                   tests run without it, for speed)
#   scripts/services.sh pg-stop     stops it and removes the data dir
#   scripts/services.sh pg-restart  restarts it (same port and data: fault tests)
# The server's data dir is named by VIDX_PG_DIR (exported by pg-start's output), so
# several suites can run side by side. initdb and postgres refuse root: they run as the
# `postgres` user when started as root.
#   scripts/services.sh s3-start    Ceph's radosgw (Debian 12's Pacific) as an S3 server on
#                                   127.0.0.1: one monitor and one memstore OSD (objects in
#                                   memory, nothing on disk but logs) in a new dir under /tmp,
#                                   cephx off between the daemons (S3 requests are still
#                                   signed and checked: SigV4 against the test user's secret);
#                                   prints `export VIDX_S3_DIR=... VIDX_TEST_S3_ENDPOINT=...
#                                   AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...` (eval it)
#   scripts/services.sh s3-stop     stops those daemons (by their pid files) and removes the dir
set -euo pipefail

pgbin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$d" ] || { echo "services.sh: PostgreSQL is not installed (scripts/deps.sh installs it)" >&2; exit 1; }
  echo "$d"
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_start() {
  local bin dir port durability="-c fsync=off"
  [ "${VIDX_PG_DURABLE:-0}" = 1 ] && durability="-c fsync=on" # benchmarks: as in production
  bin=$(pgbin)
  dir=$(mktemp -d /tmp/vidx-pg-XXXXXX)
  chmod 755 "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  port=$(free_port)
  as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  echo "$port" >"$dir/port"
  # One role that must give its password (tests of a wrong password); everyone else: trust.
  { echo "host all vidx_password_test 127.0.0.1/32 scram-sha-256"; cat "$dir/data/pg_hba.conf"; } >"$dir/hba"
  cat "$dir/hba" >"$dir/data/pg_hba.conf" && rm -f "$dir/hba"
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir $durability -c max_connections=200" start >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
  echo "export VIDX_PG_DIR=$dir"
  echo "export VIDX_TEST_PG=postgresql://postgres@127.0.0.1:$port/postgres"
}

pg_dir() {
  [ -n "${VIDX_PG_DIR:-}" ] && [ -d "$VIDX_PG_DIR/data" ] ||
    { echo "services.sh: VIDX_PG_DIR is not a server pg-start made" >&2; exit 1; }
  echo "$VIDX_PG_DIR"
}

pg_stop() {
  local dir
  dir=$(pg_dir)
  as_pg "$(pgbin)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

pg_restart() {
  local dir
  dir=$(pg_dir)
  as_pg "$(pgbin)/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null
}

s3_start() {
  local dir monport rgwport fsid conf uuid id i
  command -v radosgw >/dev/null || { echo "services.sh: radosgw is not installed (scripts/deps.sh installs it)" >&2; exit 1; }
  dir=$(mktemp -d /tmp/vidx-s3-XXXXXX)
  chmod 755 "$dir"
  monport=$(free_port); rgwport=$(free_port)
  fsid=$(cat /proc/sys/kernel/random/uuid)
  conf=$dir/ceph.conf
  mkdir -p "$dir/run" "$dir/log" "$dir/mon.a" "$dir/osd.0"
  # Small pools on one OSD (no manager, so no autoscaler), objects up to 5 GiB, room for
  # the 1 GB benchmark object: memstore keeps every byte in this process's memory.
  cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$monport
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
run dir = $dir/run
log file = $dir/log/\$name.log
pid file = $dir/run/\$name.pid
admin socket = $dir/run/\$name.\$pid.asok
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
[mon]
mon data = $dir/mon.\$id
[osd]
osd data = $dir/osd.\$id
osd objectstore = memstore
memstore device bytes = 8589934592
[client]
rgw frontends = beast endpoint=127.0.0.1:$rgwport
rgw dns name = localhost
EOF
  { monmaptool --create --add a "v1:127.0.0.1:$monport" --fsid "$fsid" "$dir/monmap" &&
    ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' &&
    ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring" &&
    ceph-mon -c "$conf" -i a &&
    uuid=$(cat /proc/sys/kernel/random/uuid) &&
    id=$(timeout 60 ceph -c "$conf" osd new "$uuid") &&
    ceph-osd -c "$conf" -i "$id" --mkfs --osd-uuid "$uuid" &&
    ceph-osd -c "$conf" -i "$id" &&
    radosgw -c "$conf" -n client.rgw; } >"$dir/log/start.log" 2>&1 ||
    { cat "$dir/log/start.log" >&2; VIDX_S3_DIR=$dir s3_stop; exit 1; }
  # radosgw answers once it has made its pools (about 10 s on first start).
  for i in $(seq 1 120); do
    curl -s -o /dev/null -m 2 "http://127.0.0.1:$rgwport/" && break
    sleep 0.5
  done
  curl -s -o /dev/null -m 2 "http://127.0.0.1:$rgwport/" ||
    { echo "services.sh: radosgw did not answer on 127.0.0.1:$rgwport (logs in $dir/log)" >&2; VIDX_S3_DIR=$dir s3_stop; exit 1; }
  # The test user; its secret has '/', '+' and '=' in it, as real ones do.
  timeout 60 radosgw-admin -c "$conf" user create --uid vidx --display-name vidx \
    --access-key VIDXTESTACCESSKEY0001 --secret 'vidx/test+secret=key0' >"$dir/log/user.log" 2>&1 ||
    { cat "$dir/log/user.log" >&2; VIDX_S3_DIR=$dir s3_stop; exit 1; }
  echo "export VIDX_S3_DIR=$dir"
  echo "export VIDX_TEST_S3_ENDPOINT=http://127.0.0.1:$rgwport"
  echo "export AWS_ACCESS_KEY_ID=VIDXTESTACCESSKEY0001"
  echo "export AWS_SECRET_ACCESS_KEY='vidx/test+secret=key0'"
}

s3_stop() {
  local dir="${VIDX_S3_DIR:-}" p pid i
  [ -n "$dir" ] && [ -f "$dir/ceph.conf" ] ||
    { echo "services.sh: VIDX_S3_DIR is not a server s3-start made" >&2; exit 1; }
  for p in "$dir"/run/*.pid; do
    [ -f "$p" ] || continue
    pid=$(cat "$p")
    # only a daemon this dir's config started
    grep -q -- "$dir/ceph.conf" "/proc/$pid/cmdline" 2>/dev/null || continue
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$dir"
}

case "${1:-}" in
  pg-start) pg_start ;;
  pg-stop) pg_stop ;;
  pg-restart) pg_restart ;;
  s3-start) s3_start ;;
  s3-stop) s3_stop ;;
  *) echo "usage: scripts/services.sh pg-start|pg-stop|pg-restart|s3-start|s3-stop" >&2; exit 2 ;;
esac
