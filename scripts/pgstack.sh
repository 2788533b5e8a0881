#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the PostgreSQL tests, on 127.0.0.1:15432, in a private state
# directory, from Debian's packages (installed when missing).
#
#   scripts/pgstack.sh up      start (idempotent); role and database "clerk", password "clerk"
#   scripts/pgstack.sh down    stop it by its own pid file (idempotent)
#   scripts/pgstack.sh reset   down, then delete the cluster
#   scripts/pgstack.sh env     print `export CLERK_TEST_PG_URL=...` (also in STATE/env)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
state=${CLERK_PG_DIR:-$repo/target/pgstack}
PORT=15432
URL="postgres://clerk:clerk@127.0.0.1:$PORT/clerk"

die() { echo "pgstack: $*" >&2; exit 1; }

find_bin() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ] && { echo "$dir"; return; }
  done
}

bin=$(find_bin)
if [ -z "$bin" ] && [ "${1:-}" = up ]; then
  echo "pgstack: installing postgresql from Debian's packages"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 \
    --no-install-recommends postgresql >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
         -o DPkg::Lock::Timeout=300 --no-install-recommends postgresql >/dev/null; } \
    || die "apt-get could not install postgresql"
  bin=$(find_bin)
fi

# PostgreSQL refuses to run as root: run its programs as the postgres user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

running() { [ -n "$bin" ] && [ -f "$state/data/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$state/data" status >/dev/null 2>&1; }

up() {
  [ -n "$bin" ] || die "no PostgreSQL server binaries found"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
  fi
  mkdir -p "$state"
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$state"
    # postgres must be able to reach the state directory through its parents.
    local dir=$state
    while [ "$dir" != / ]; do dir=$(dirname "$dir"); chmod o+x "$dir" 2>/dev/null || true; done
  fi
  if [ ! -f "$state/data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$state/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$state/initdb.log" 2>&1 \
      || { cat "$state/initdb.log" >&2; die "initdb failed"; }
  fi
  if running; then
    echo "pgstack: already running"
  else
    as_pg "$bin/pg_ctl" -D "$state/data" -l "$state/postgres.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $PORT -k $state -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null || { tail -n 20 "$state/postgres.log" >&2; die "postgres did not start"; }
  fi
  as_pg "$bin/psql" -h "$state" -p "$PORT" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
SELECT 'CREATE ROLE clerk LOGIN CREATEDB PASSWORD ''clerk'''
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'clerk') \gexec
SELECT 'CREATE DATABASE clerk OWNER clerk'
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'clerk') \gexec
SQL
  echo "export CLERK_TEST_PG_URL=$URL" > "$state/env"
  echo "pgstack: up at $URL"
}

down() {
  if running; then
    as_pg "$bin/pg_ctl" -D "$state/data" -m fast -w stop >/dev/null
  fi
  echo "pgstack: down"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  reset) down; rm -rf "$state"; echo "pgstack: cluster removed" ;;
  env) echo "export CLERK_TEST_PG_URL=$URL" ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 up|down|reset|env|url" >&2; exit 2 ;;
esac
