#!/usr/bin/env bash
# Sourced by scripts/test.sh: makes sure PostgreSQL and Redis are reachable
# (using the servers already running, or installing them with apt and starting
# them), installs Debian's python3-xgboost, python3-sklearn, python3-scipy and python3-pandas when missing,
# starts a 3-node Redis Cluster on free loopback ports, and exports the
# SLIPWAY_TEST_* variables the test suites read. stop_services stops what this
# script started (the cluster, and any server it started itself).

SLIPWAY_STARTED_PIDS=()
SLIPWAY_CLUSTER_PORTS=()
SLIPWAY_CLUSTER_DIR=""

log() { echo "services: $*" >&2; }

apt_install() {
  if ! command -v apt-get >/dev/null; then
    log "cannot install $* (no apt-get); install it and rerun"; return 1
  fi
  log "installing $* with apt"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  export PGCONNECT_TIMEOUT=3
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    command -v pg_ctlcluster >/dev/null || apt_install postgresql postgresql-client
    local version
    version=$(ls /etc/postgresql | sort -V | tail -1)
    log "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    SLIPWAY_STARTED_POSTGRES="$version"
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    # A fresh Debian cluster authenticates TCP clients by password.
    su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
  fi
  export PGPASSWORD=postgres
  if ! psql -h 127.0.0.1 -U postgres -d test -Atc 'select 1' >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE test' >/dev/null 2>&1 ||
      su postgres -c "createdb test" >/dev/null
  fi
  export SLIPWAY_TEST_POSTGRES="postgres://postgres:postgres@127.0.0.1:5432/test?sslmode=disable"
}

ensure_redis() {
  command -v redis-server >/dev/null || apt_install redis-server redis-tools
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    log "starting Redis on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --pidfile /tmp/slipway-redis-6379.pid --logfile /tmp/slipway-redis-6379.log
    SLIPWAY_STARTED_REDIS=1
    for _ in $(seq 1 30); do redis-cli -p 6379 ping >/dev/null 2>&1 && break; sleep 0.2; done
  fi
  export SLIPWAY_TEST_REDIS="127.0.0.1:6379"
}

# ensure_python makes sure Debian's Python can import xgboost, sklearn, scipy and pandas,
# for the tests that compare Slipway's model inference, metrics and statistics with them.
ensure_python() {
  if ! /usr/bin/python3 -c 'import xgboost, sklearn, scipy, pandas' >/dev/null 2>&1; then
    apt_install python3 python3-xgboost python3-sklearn python3-scipy python3-pandas
  fi
}

# ensure_chromium makes sure Debian's chromium is installed, for the tests
# that call the HTTP API from a web page in headless Chromium (CORS).
ensure_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    apt_install chromium
  fi
}

# free_port prints a free loopback port whose cluster bus port (port + 10000)
# is free too, kept below the ephemeral range so neither clashes.
free_port() {
  python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 25000))
import random, socket
while True:
    p = random.randint(20000, 44999)
    ok = True
    for q in (p, p + 10000):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", q))
        except OSError:
            ok = False
        finally:
            s.close()
    if ok:
        print(p)
        break
PY
}

start_redis_cluster() {
  SLIPWAY_CLUSTER_DIR=$(mktemp -d /tmp/slipway-cluster.XXXXXX)
  local addrs=()
  for _ in 1 2 3; do
    local port; port=$(free_port)
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --cluster-enabled yes \
      --cluster-config-file "$SLIPWAY_CLUSTER_DIR/nodes-$port.conf" --dir "$SLIPWAY_CLUSTER_DIR" \
      --save "" --appendonly no --logfile "$SLIPWAY_CLUSTER_DIR/$port.log"
    SLIPWAY_CLUSTER_PORTS+=("$port")
    addrs+=("127.0.0.1:$port")
  done
  for p in "${SLIPWAY_CLUSTER_PORTS[@]}"; do
    for _ in $(seq 1 50); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
  done
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
  for _ in $(seq 1 100); do
    redis-cli -p "${SLIPWAY_CLUSTER_PORTS[0]}" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && break
    sleep 0.1
  done
  log "Redis Cluster on ${addrs[*]}"
  export SLIPWAY_TEST_REDIS_CLUSTER
  SLIPWAY_TEST_REDIS_CLUSTER=$(IFS=,; echo "${addrs[*]}")
}

stop_services() {
  for p in "${SLIPWAY_CLUSTER_PORTS[@]}"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done
  [ -n "$SLIPWAY_CLUSTER_DIR" ] && rm -rf "$SLIPWAY_CLUSTER_DIR"
  if [ -n "${SLIPWAY_STARTED_REDIS:-}" ]; then redis-cli -p 6379 shutdown nosave >/dev/null 2>&1 || true; fi
  if [ -n "${SLIPWAY_STARTED_POSTGRES:-}" ]; then pg_ctlcluster --skip-systemctl-redirect "$SLIPWAY_STARTED_POSTGRES" main stop || true; fi
}

start_services() {
  ensure_postgres
  ensure_redis
  ensure_python
  ensure_chromium
  start_redis_cluster
  export SLIPWAY_TEST_REQUIRE_BACKENDS=1
}
