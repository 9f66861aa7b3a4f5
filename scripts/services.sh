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

case "${1:-}" in
  pg-start) pg_start ;;
  pg-stop) pg_stop ;;
  pg-restart) pg_restart ;;
  *) echo "usage: scripts/services.sh pg-start|pg-stop|pg-restart" >&2; exit 2 ;;
esac
