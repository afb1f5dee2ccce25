#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback, for tests (used by .ci/run; handy on a laptop too).
#
#   deploy/postgres/throwaway.sh start DIR   initdb into DIR/data, start on a free 127.0.0.1 port, and print
#                                            the connection string (Npgsql form) as the last line of stdout
#   deploy/postgres/throwaway.sh stop DIR    stop that server and delete DIR
#   deploy/postgres/throwaway.sh pause DIR   stop that server at once, keeping its data (a database outage)
#   deploy/postgres/throwaway.sh resume DIR  start it again on the same port
#
# Uses Debian's `postgresql` package (installed here when missing and we are root). The server never runs as
# root: as root it runs as the `postgres` system user the package creates. Trust authentication, loopback
# only, unix socket inside DIR, no fsync: test data only.
set -euo pipefail

usage() { echo "usage: $0 start|stop|pause|resume DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$2

find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && echo "$d"
  done | sort -V | tail -n 1
}

as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start_server() {
  as_server_user "$1/pg_ctl" -D "$2/data" -l "$2/server.log" -w -t 60 -o \
    "-c listen_addresses=127.0.0.1 -p $3 -k $2 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >&2 || { cat "$2/server.log" >&2; exit 1; }
}

case "$action" in
pause)
  as_server_user "$(find_bin)/pg_ctl" -D "$dir/data" -m immediate -w stop >&2
  ;;
resume)
  start_server "$(find_bin)" "$dir" "$(cat "$dir/port")"
  ;;
start)
  bin=$(find_bin)
  if [ -z "$bin" ]; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "PostgreSQL is not installed and we are not root: apt-get install postgresql" >&2
      exit 1
    fi
    # We run our own server: ask the package not to create (and start) its default cluster.
    mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/deepdeploy-no-main.conf
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    bin=$(find_bin)
    [ -n "$bin" ] || { echo "postgresql installed but no initdb found under /usr/lib/postgresql" >&2; exit 1; }
  fi

  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
  fi

  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  chmod 700 "$dir"

  # A free loopback port below the ephemeral range (32768+, where outgoing connections take theirs) and below
  # the range the tests pick listener ports from (20000-32000): a connect that fails means nobody listens there.
  port=
  for _ in $(seq 1 200); do
    candidate=$((15000 + RANDOM % 5000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
      port=$candidate
      break
    fi
  done
  [ -n "$port" ] || { echo "no free port found" >&2; exit 1; }

  as_server_user "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  echo "$port" > "$dir/port"
  start_server "$bin" "$dir" "$port"
  echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
  ;;
stop)
  bin=$(find_bin)
  if [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
    as_server_user "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
*)
  usage
  ;;
esac
