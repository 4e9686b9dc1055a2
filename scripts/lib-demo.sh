# shellcheck shell=bash
# Helpers for scripts/demo: a throwaway PostgreSQL cluster and a private Redis on free loopback
# ports, and their teardown. Source scripts/lib.sh first (log, die, is_root, apt_install).
#
# Owns: finding or installing the server binaries, the demo's temporary directory, starting and
# stopping its two servers. Must not touch any other cluster or Redis (the system ones on 5432 and
# 6379 included) and must not print to stdout (the transcript owns it).

DEMO_PACKAGES=(postgresql redis-server)

# demo_pg_bin: the newest /usr/lib/postgresql/<major>/bin with initdb and pg_ctl (or
# $PGROLES_DEMO_PG_BIN); empty if there is none.
demo_pg_bin() {
  if [ -n "${PGROLES_DEMO_PG_BIN:-}" ]; then
    echo "$PGROLES_DEMO_PG_BIN"
    return 0
  fi
  local d v best="" best_v=0
  for d in /usr/lib/postgresql/*/bin; do
    if [ ! -x "$d/initdb" ] || [ ! -x "$d/pg_ctl" ]; then continue; fi
    v="${d#/usr/lib/postgresql/}"
    v="${v%%/*}"
    v="${v%%.*}"
    if [ "$v" -gt "$best_v" ] 2>/dev/null; then
      best="$d"
      best_v="$v"
    fi
  done
  echo "$best"
}

# demo_ensure_binaries: PostgreSQL server binaries and redis-server; installs them as root,
# otherwise prints the exact command and exits 1.
demo_ensure_binaries() {
  local missing=()
  [ -n "$(demo_pg_bin)" ] || missing+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  if [ "${#missing[@]}" -gt 0 ]; then
    if ! is_root; then
      log "not installed: ${missing[*]}. Install the packages, then run scripts/demo again:"
      log "  sudo apt-get update && sudo apt-get install -y ${DEMO_PACKAGES[*]}"
      exit 1
    fi
    apt_install "${missing[@]}"
  fi
  [ -n "$(demo_pg_bin)" ] || die "no PostgreSQL server binaries under /usr/lib/postgresql after installing"
  command -v redis-server >/dev/null 2>&1 || die "redis-server is not on PATH after installing"
  command -v cargo >/dev/null 2>&1 \
    || die "cargo is not on PATH: install Rust (https://rustup.rs), then run scripts/demo again"
}

# demo_port_free PORT: nothing accepts TCP connections on 127.0.0.1:PORT.
demo_port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# demo_free_port: a loopback port that was free a moment ago, from the 20000-59999 range.
demo_free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if demo_port_free "$p"; then
      echo "$p"
      return 0
    fi
  done
  die "found no free loopback port"
}

# demo_wait_port PORT SECONDS: waits until 127.0.0.1:PORT accepts connections.
demo_wait_port() {
  for _ in $(seq 1 $(($2 * 10))); do
    demo_port_free "$1" || return 0
    sleep 0.1
  done
  return 1
}

# demo_as_pg CMD...: runs CMD as the cluster's OS user (`postgres` when root: initdb refuses root).
demo_as_pg() {
  if is_root; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# demo_start_postgres DIR PORT: initdb in DIR/pg and start it on 127.0.0.1:PORT. The superuser
# `postgres` is trusted on loopback; every other role must present its password (SCRAM).
demo_start_postgres() {
  local dir="$1" port="$2" bin
  bin="$(demo_pg_bin)"
  if is_root; then
    id postgres >/dev/null 2>&1 \
      || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    chmod 711 "$dir"
  fi
  mkdir -p "$dir/pg" "$dir/sock"
  chmod 700 "$dir/pg"
  is_root && chown postgres "$dir/pg" "$dir/sock"
  demo_as_pg "$bin/initdb" -D "$dir/pg" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  demo_as_pg tee "$dir/pg/pg_hba.conf" >/dev/null <<EOF
# Written by scripts/demo: the superuser is trusted on loopback; every other role must present
# its password (SCRAM), so that the firefighter's VALID UNTIL is enforced.
local all all                  trust
host  all postgres 127.0.0.1/32 trust
host  all all      127.0.0.1/32 scram-sha-256
EOF
  demo_as_pg tee -a "$dir/pg/postgresql.conf" >/dev/null <<EOF
# scripts/demo
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/sock'
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  demo_as_pg "$bin/pg_ctl" start -D "$dir/pg" -l "$dir/pg/server.log" -w -t 60 >/dev/null \
    || { tail -n 30 "$dir/pg/server.log" >&2 || true; die "PostgreSQL did not start"; }
  DEMO_PG_STARTED="$dir/pg"
}

# demo_start_redis DIR PORT: a private redis-server without persistence; sets DEMO_REDIS_PID.
demo_start_redis() {
  local dir="$1" port="$2"
  # Its own session (setsid), so that a Ctrl-C reaches pgroles but not Redis (pg_ctl does the
  # same for PostgreSQL); the pid file names the server for the teardown.
  setsid redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --daemonize no --dir "$dir" --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" \
    </dev/null >/dev/null 2>&1 &
  demo_wait_port "$port" 10 || die "Redis did not start (see $dir/redis.log)"
  local _
  for _ in $(seq 1 20); do
    [ -s "$dir/redis.pid" ] && break
    sleep 0.1
  done
  DEMO_REDIS_PID="$(cat "$dir/redis.pid" 2>/dev/null || true)"
  [ -n "$DEMO_REDIS_PID" ] || die "Redis wrote no pid file (see $dir/redis.log)"
}

# demo_teardown DIR: stops what demo_start_* started and removes DIR. Safe to call twice.
demo_teardown() {
  local dir="$1"
  if [ -n "${DEMO_PG_STARTED:-}" ]; then
    demo_as_pg "$(demo_pg_bin)/pg_ctl" stop -D "$DEMO_PG_STARTED" -m immediate >/dev/null 2>&1 || true
    DEMO_PG_STARTED=""
  fi
  if [ -z "${DEMO_REDIS_PID:-}" ] && [ -n "$dir" ] && [ -s "$dir/redis.pid" ]; then
    DEMO_REDIS_PID="$(cat "$dir/redis.pid")"
  fi
  if [ -n "${DEMO_REDIS_PID:-}" ]; then
    kill "$DEMO_REDIS_PID" 2>/dev/null || true
    local _
    for _ in $(seq 1 30); do
      kill -0 "$DEMO_REDIS_PID" 2>/dev/null || break
      sleep 0.1
    done
    DEMO_REDIS_PID=""
  fi
  if [ -n "$dir" ] && [ -d "$dir" ]; then
    rm -rf "$dir"
  fi
}
