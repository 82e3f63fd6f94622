# shellcheck shell=bash
# A throwaway PostgreSQL cluster for the tests. Source it (`source Tests/pg_cluster.sh`); it
#   - initdb's a cluster in a fresh mktemp directory (0700, owned by the `postgres` system user when run
#     as root: PostgreSQL refuses to run as root, so every server command goes through `runuser`),
#   - starts it with pg_ctl on a free loopback port, Unix socket in that directory only, fsync off,
#   - creates the roles `engram_owner` (owns the database and the schema, runs the migrations; CREATEDB
#     here only so the tests can copy a migrated template per test) and `engram_app` (NOSUPERUSER
#     NOBYPASSRLS, owns nothing), each with a random password, and the database `engram`,
#   - exports ENGRAM_TEST_POSTGRES_URL (the app role) and ENGRAM_TEST_POSTGRES_OWNER_URL (the owner),
#     plus PG_CLUSTER_BIN (the server's bin directory) and PG_CLUSTER_PORT,
#   - stops the server and removes the directory on exit, interrupt or termination (`trap 'pg_cluster_stop $?'
#     EXIT`: a script that sets its own EXIT trap afterwards must call pg_cluster_stop in it), showing the
#     server log's tail when the exit status is not 0.
# Debian's own clusters (/etc/postgresql) are left alone. The newest installed major version is used
# (/usr/lib/postgresql/<version>/bin; PG_CLUSTER_BIN overrides).

pg_cluster_fail() { echo "pg_cluster: $*" >&2; return 1; }

PG_CLUSTER_BIN="${PG_CLUSTER_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
[ -x "$PG_CLUSTER_BIN/initdb" ] || pg_cluster_fail "no PostgreSQL server in /usr/lib/postgresql/*/bin (apt-get install postgresql, or make test-deps)" || return 1 2>/dev/null || exit 1

# Runs a server command as the cluster's system user: `postgres` when we are root, else ourselves.
# The working directory moves to / because the caller's may not be readable by that user.
pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# Stops the server and removes the directory; given a non-zero exit status, shows the server log's tail first.
pg_cluster_stop() {
  if [ -n "${PG_CLUSTER_DIR:-}" ] && [ -d "$PG_CLUSTER_DIR" ]; then
    if [ "${1:-0}" != 0 ] && [ -f "$PG_CLUSTER_DIR/server.log" ]; then
      echo "pg_cluster: exit status $1; the server log's last lines:" >&2
      tail -n 20 "$PG_CLUSTER_DIR/server.log" >&2 || true
    fi
    if [ -f "$PG_CLUSTER_DIR/data/postmaster.pid" ]; then
      pg_as_owner "$PG_CLUSTER_BIN/pg_ctl" -D "$PG_CLUSTER_DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PG_CLUSTER_DIR"
  fi
  PG_CLUSTER_DIR=""
}

pg_cluster_random() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
pg_cluster_free_port() { python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"; }

pg_cluster_start() {
  local started_at=$SECONDS
  PG_CLUSTER_DIR=$(mktemp -d /tmp/engram-pg.XXXXXX)
  trap 'pg_cluster_stop $?' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  chmod 700 "$PG_CLUSTER_DIR"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || pg_cluster_fail "running as root but there is no 'postgres' system user (apt-get install postgresql)" || return 1
    chown postgres:postgres "$PG_CLUSTER_DIR"
  fi
  # Local (socket) connections trust: the socket lives only in the 0700 directory above, so only the
  # cluster's system user (and root) reach it. TCP connections need a SCRAM password.
  pg_as_owner "$PG_CLUSTER_BIN/initdb" -D "$PG_CLUSTER_DIR/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C --no-sync >"$PG_CLUSTER_DIR/initdb.log" 2>&1 ||
    { cat "$PG_CLUSTER_DIR/initdb.log" >&2; pg_cluster_fail "initdb failed"; return 1; }
  local attempt
  for attempt in 1 2 3; do
    PG_CLUSTER_PORT=$(pg_cluster_free_port)
    if pg_as_owner "$PG_CLUSTER_BIN/pg_ctl" -D "$PG_CLUSTER_DIR/data" -l "$PG_CLUSTER_DIR/server.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $PG_CLUSTER_PORT -k $PG_CLUSTER_DIR -c fsync=off -c synchronous_commit=off \
          -c full_page_writes=off -c shared_buffers=64MB -c max_connections=100" >/dev/null; then
      break
    fi
    # Another process may have taken the port between the probe and the bind: try another one.
    [ "$attempt" = 3 ] && { cat "$PG_CLUSTER_DIR/server.log" >&2; pg_cluster_fail "pg_ctl start failed"; return 1; }
  done
  local owner_pw app_pw
  owner_pw=$(pg_cluster_random)
  app_pw=$(pg_cluster_random)
  pg_as_owner "$PG_CLUSTER_BIN/psql" -X -q -h "$PG_CLUSTER_DIR" -p "$PG_CLUSTER_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -v owner_pw="$owner_pw" -v app_pw="$app_pw" >/dev/null <<'SQL' || { pg_cluster_fail "creating the roles failed"; return 1; }
CREATE ROLE engram_owner LOGIN PASSWORD :'owner_pw' NOSUPERUSER NOBYPASSRLS NOCREATEROLE CREATEDB;
CREATE ROLE engram_app LOGIN PASSWORD :'app_pw' NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
CREATE DATABASE engram OWNER engram_owner;
SQL
  export PG_CLUSTER_BIN PG_CLUSTER_PORT PG_CLUSTER_DIR
  export ENGRAM_TEST_POSTGRES_URL="postgres://engram_app:$app_pw@127.0.0.1:$PG_CLUSTER_PORT/engram?sslmode=disable"
  export ENGRAM_TEST_POSTGRES_OWNER_URL="postgres://engram_owner:$owner_pw@127.0.0.1:$PG_CLUSTER_PORT/engram?sslmode=disable"
  echo "==> PostgreSQL $("$PG_CLUSTER_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_CLUSTER_PORT ($PG_CLUSTER_DIR), up in $((SECONDS - started_at)) s"
}

# A superuser psql on the cluster's socket, for debugging: `pg_cluster_psql -d engram -c '…'`.
pg_cluster_psql() {
  pg_as_owner "$PG_CLUSTER_BIN/psql" -X -h "$PG_CLUSTER_DIR" -p "$PG_CLUSTER_PORT" -U postgres "$@"
}

pg_cluster_start || { pg_cluster_stop; return 1 2>/dev/null || exit 1; }
