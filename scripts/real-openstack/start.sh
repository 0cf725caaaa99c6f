#!/usr/bin/env bash
# Start a real OpenStack Octavia 19.0.0 and Neutron 29.0.0 (both from PyPI) on 127.0.0.1, for
# the conformance suite (crates/testkit/tests/conformance.rs) and manual checks of kks-lb.
#
#   MariaDB   127.0.0.1:$DB_PORT (3306)       datadir $BASE/mariadb
#   RabbitMQ  127.0.0.1:$RABBIT_PORT (5672)   node kkslb@localhost, data $BASE/rabbitmq
#   Octavia   http://127.0.0.1:$OCTAVIA_PORT (9876)  gunicorn API + octavia-worker, noop
#             amphora/compute/network drivers: load balancers really go PENDING_* -> ACTIVE
#             through the API, RabbitMQ, the worker's taskflow flows and the database.
#   Neutron   http://127.0.0.1:$NEUTRON_PORT (9696)  gunicorn API, ML2 + router plugin,
#             no agents (floating IPs and ports stay DOWN).
#
# Both APIs run with auth_strategy = noauth: every caller is admin. Octavia takes the project
# from the X-Project-Id header or the body's project_id; Neutron needs project_id in every
# POST body.
#
# In Neutron it creates (once, found again by name later) for project $PROJECT_ID:
#   network `public` (router:external, flat on physnet `public`), subnet `public-subnet`
#   203.0.113.0/24; network `cluster`, subnet `cluster-subnet` 10.0.0.0/24; router
#   `cluster-router` with its gateway on `public` and an interface on `cluster-subnet`, so a
#   floating IP can be bound to any port on the cluster subnet.
# Then it writes $BASE/env (source it) with KKS_REAL_OCTAVIA_URL, KKS_REAL_NEUTRON_URL,
# KKS_REAL_PROJECT_ID, KKS_REAL_NETWORK_ID, KKS_REAL_SUBNET_ID (cluster),
# KKS_REAL_FLOATING_NETWORK_ID, KKS_REAL_FLOATING_SUBNET_ID and KKS_REAL_ROUTER_ID.
#
# Needs Debian 12, root, and the Debian and PyPI package archives. Idempotent: what is
# installed is not installed again, what runs is left running (restarted only when its
# config file changed), and the Neutron objects are reused. It waits until both APIs answer
# and a probe load balancer went ACTIVE, and on any failure prints the tail of the log of the
# failing step and exits non-zero. Stop everything with stop.sh (same BASE). One stack per
# machine: the noop network driver keeps its state in a fixed path (/tmp/octavia-network-noop.db).
#
# Environment (all optional):
#   BASE          state dir: venvs, configs, data, logs, PID files  (/var/tmp/kks-lb-openstack)
#   OCTAVIA_PORT  9876     NEUTRON_PORT 9696     DB_PORT 3306     RABBIT_PORT 5672
#   PROJECT_ID    project owning the Neutron objects (32 hex digits)
#   PYTHON        interpreter for the venvs (/usr/bin/python3)
#   PROBE=0       skip the probe load balancer at the end
#   DEBUG=1       debug logging in Octavia and Neutron
set -Eeuo pipefail

BASE=${BASE:-/var/tmp/kks-lb-openstack}
OCTAVIA_PORT=${OCTAVIA_PORT:-9876}
NEUTRON_PORT=${NEUTRON_PORT:-9696}
DB_PORT=${DB_PORT:-3306}
RABBIT_PORT=${RABBIT_PORT:-5672}
PROJECT_ID=${PROJECT_ID:-6b6b736c62000000000000000000c0de}
PYTHON=${PYTHON:-/usr/bin/python3}
PROBE=${PROBE:-1}
DEBUG=${DEBUG:-0}
OCTAVIA_VERSION=19.0.0
NEUTRON_VERSION=29.0.0

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OCTAVIA_URL=http://127.0.0.1:$OCTAVIA_PORT
NEUTRON_URL=http://127.0.0.1:$NEUTRON_PORT
DB_SOCKET=$BASE/mariadb-run/mysqld.sock
T0=${EPOCHREALTIME/./}

# ------------------------------------------------------------------------------ helpers

# log MSG: MSG prefixed with the seconds since the script started.
log() {
  local ds=$(((${EPOCHREALTIME/./} - T0) / 100000))
  printf '[start.sh %4d.%ds] %s\n' $((ds / 10)) $((ds % 10)) "$*"
}

# The log file of the step that runs now; its tail is printed when the script fails.
STEP_LOG=""
on_error() {
  local rc=$? line=$1
  echo "[start.sh] FAILED (exit $rc) at line $line" >&2
  if [ -n "$STEP_LOG" ] && [ -f "$STEP_LOG" ]; then
    echo "[start.sh] ---- last 40 lines of $STEP_LOG ----" >&2
    tail -n 40 "$STEP_LOG" >&2
  fi
  exit "$rc"
}
trap 'on_error $LINENO' ERR

die() {
  echo "[start.sh] ERROR: $*" >&2
  if [ -n "$STEP_LOG" ] && [ -f "$STEP_LOG" ]; then
    echo "[start.sh] ---- last 40 lines of $STEP_LOG ----" >&2
    tail -n 40 "$STEP_LOG" >&2
  fi
  exit 1
}

# wait_for SECONDS WHAT PROC CMD...: retries CMD every 0.2 s until it succeeds; gives up
# early when the process PROC (a PID file name, or - for none) has died.
wait_for() {
  local timeout=$1 what=$2 proc=$3 i=0
  shift 3
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -le $((timeout * 5)) ] || die "timed out after ${timeout}s waiting for $what"
    [ "$proc" = - ] || alive "$proc" || die "$proc exited while waiting for $what"
    sleep 0.2
  done
}

# alive NAME: the process recorded in $BASE/run/NAME.pid is running.
alive() {
  local f="$BASE/run/$1.pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# port_free PORT: nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# launch NAME LOG CMD...: runs CMD in its own session (so stop.sh can end the whole process
# group), output to LOG (the previous one is kept as LOG.1), PID to $BASE/run/NAME.pid.
launch() {
  local name=$1 logf=$2
  shift 2
  [ -f "$logf" ] && mv -f "$logf" "$logf.1"
  setsid "$@" >"$logf" 2>&1 </dev/null &
  echo $! >"$BASE/run/$name.pid"
}

# stop_proc NAME: ends the process group recorded in $BASE/run/NAME.pid (used to restart a
# service whose config changed).
stop_proc() {
  local f="$BASE/run/$1.pid" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$f"
}

# install_file SRC DEST: copies SRC over DEST when they differ; returns 0 if DEST changed.
install_file() {
  if [ -f "$2" ] && cmp -s "$1" "$2"; then rm -f "$1"; return 1; fi
  mv -f "$1" "$2"
}

# sql STATEMENTS: runs SQL as MariaDB root over our socket.
sql() { mariadb --no-defaults --socket="$DB_SOCKET" -uroot -e "$1"; }

[ "$(id -u)" = 0 ] || die "run as root (apt-get, MariaDB and RabbitMQ users)"
mkdir -p "$BASE"/{etc,certs,log,run,lock}
log "BASE=$BASE"

# ------------------------------------------------------------------------------ apt packages
need=()
for p in rabbitmq-server mariadb-server jq curl openssl ca-certificates; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
"$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)

APT_PID=""
if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]} (log: $BASE/log/apt.log)"
  (
    # Package scripts must not start services (there is no systemd in a container, and we
    # run our own instances under $BASE): policy-rc.d answering 101 forbids it.
    created_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod +x /usr/sbin/policy-rc.d
      created_policy=1
    fi
    rc=0
    # Another apt-get (a package the CI script installs) may hold the dpkg lock: wait for it.
    { apt-get -o DPkg::Lock::Timeout=600 update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
        --no-install-recommends "${need[@]}"; } >"$BASE/log/apt.log" 2>&1 || rc=$?
    [ "$created_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
    exit "$rc"
  ) &
  APT_PID=$!
  # Without python3-venv the venvs cannot be built: then apt must finish first.
  if [[ " ${need[*]} " == *" python3-venv "* ]]; then
    STEP_LOG=$BASE/log/apt.log
    wait "$APT_PID" || die "apt-get install failed"
    APT_PID=""
    log "apt done"
  fi
fi

# ------------------------------------------------------------------------------ venvs (in parallel with apt)
# One venv per service, each pinned by its lock file (pip constraints). A venv is complete
# when its marker holds the sha256 of the lock file it was built from.
# lock_sum NAME: the sha256 of requirements-NAME.lock.
lock_sum() { sha256sum "$HERE/requirements-$1.lock" | cut -d' ' -f1; }
# venv_ready NAME: $BASE/NAME-venv was built from the current lock file.
venv_ready() { [ "$(cat "$BASE/$1-venv/.kks-lb-lock" 2>/dev/null)" = "$(lock_sum "$1")" ]; }
# build_venv NAME PACKAGE==VERSION: (re)creates $BASE/NAME-venv.
build_venv() {
  local dir="$BASE/$1-venv"
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir"
  "$dir/bin/pip" install -q -c "$HERE/requirements-$1.lock" "$2" pymysql gunicorn
  lock_sum "$1" >"$dir/.kks-lb-lock"
}
PIP_PIDS=()
for name in octavia neutron; do
  venv_ready "$name" && continue
  pkg=octavia==$OCTAVIA_VERSION
  [ "$name" = neutron ] && pkg=neutron==$NEUTRON_VERSION
  log "pip install $pkg into $BASE/$name-venv (log: $BASE/log/pip-$name.log)"
  # The job reports failure by its exit status only; the main shell prints its log.
  (trap - ERR; set -x; build_venv "$name" "$pkg") >"$BASE/log/pip-$name.log" 2>&1 &
  PIP_PIDS+=("$name:$!")
done

if [ -n "$APT_PID" ]; then
  STEP_LOG=$BASE/log/apt.log
  wait "$APT_PID" || die "apt-get install failed"
  log "apt done"
fi
for job in "${PIP_PIDS[@]}"; do
  STEP_LOG=$BASE/log/pip-${job%%:*}.log
  wait "${job#*:}" || die "pip install of ${job%%:*} failed"
  log "pip ${job%%:*} done"
done

# ------------------------------------------------------------------------------ certificates
# The amphora create flow signs an amphora certificate even with the noop drivers.
if [ ! -f "$BASE/certs/client.pem" ]; then
  log "generating a throwaway CA and client certificate"
  STEP_LOG=$BASE/log/certs.log
  (
    cd "$BASE/certs"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca_key.pem -out ca_01.pem -days 3650 \
      -subj "/CN=kks-lb-test-ca"
    openssl rsa -in ca_key.pem -aes256 -passout pass:kks-lb-ca -out ca_key_enc.pem
    openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=octavia-client"
    openssl x509 -req -in client.csr -CA ca_01.pem -CAkey ca_key.pem -CAcreateserial \
      -out client.crt -days 3650
    cat client.crt client.key >client.pem
  ) >"$STEP_LOG" 2>&1
fi

# ------------------------------------------------------------------------------ MariaDB
STEP_LOG=$BASE/log/mariadb.log
if ! alive mariadb; then
  port_free "$DB_PORT" || die "127.0.0.1:$DB_PORT is taken by a process start.sh did not start; set DB_PORT"
  mkdir -p "$BASE/mariadb-run"
  chown mysql:mysql "$BASE/mariadb-run"
  if [ ! -d "$BASE/mariadb/mysql" ]; then
    log "initialising MariaDB datadir $BASE/mariadb"
    mkdir -p "$BASE/mariadb"
    chown mysql:mysql "$BASE/mariadb"
    mariadb-install-db --no-defaults --user=mysql --datadir="$BASE/mariadb" \
      --auth-root-authentication-method=socket >"$BASE/log/mariadb-install.log" 2>&1 \
      || { STEP_LOG=$BASE/log/mariadb-install.log; die "mariadb-install-db failed"; }
  fi
  log "starting MariaDB on 127.0.0.1:$DB_PORT"
  launch mariadb "$BASE/log/mariadb.log" /usr/sbin/mariadbd --no-defaults --user=mysql \
    --datadir="$BASE/mariadb" --socket="$DB_SOCKET" --pid-file="$BASE/mariadb-run/mariadbd.pid" \
    --bind-address=127.0.0.1 --port="$DB_PORT" --skip-name-resolve \
    --innodb-buffer-pool-size=64M --max-connections=500
fi
wait_for 60 MariaDB mariadb mariadb-admin --no-defaults --socket="$DB_SOCKET" -uroot ping
for db in octavia neutron; do
  sql "CREATE DATABASE IF NOT EXISTS $db CHARACTER SET utf8mb4;
       CREATE USER IF NOT EXISTS '$db'@'127.0.0.1' IDENTIFIED BY '$db';
       GRANT ALL ON $db.* TO '$db'@'127.0.0.1'; FLUSH PRIVILEGES;"
done

# ------------------------------------------------------------------------------ Octavia and Neutron config
OCTAVIA_DEBUG=False; [ "$DEBUG" = 1 ] && OCTAVIA_DEBUG=True
cat >"$BASE/etc/octavia.conf.new" <<EOF
# Generated by scripts/real-openstack/start.sh; rewritten on every run.
[DEFAULT]
transport_url = rabbit://guest:guest@127.0.0.1:$RABBIT_PORT/
debug = $OCTAVIA_DEBUG
use_stderr = False

[api_settings]
bind_host = 127.0.0.1
bind_port = $OCTAVIA_PORT
# noauth: every caller is admin, the project comes from X-Project-Id or the body.
auth_strategy = noauth
# Not noop_driver: that provider never moves objects out of PENDING_*. The amphora
# provider with the noop controller drivers below runs the real worker flows.
enabled_provider_drivers = amphora:'The Octavia Amphora driver.',octavia:'Deprecated alias of the Octavia Amphora driver.',noop_driver:'NoOp driver: objects stay PENDING_*.'
default_provider_driver = amphora

[database]
connection = mysql+pymysql://octavia:octavia@127.0.0.1:$DB_PORT/octavia

[controller_worker]
amphora_driver = amphora_noop_driver
compute_driver = compute_noop_driver
network_driver = network_noop_driver
image_driver = image_noop_driver
volume_driver = volume_noop_driver
loadbalancer_topology = SINGLE
amp_image_tag = amphora
amp_flavor_id = 00000000-0000-0000-0000-000000000001
amp_boot_network_list = 00000000-0000-0000-0000-000000000002
amp_secgroup_list = 00000000-0000-0000-0000-000000000003
client_ca = $BASE/certs/ca_01.pem
workers = 1

[certificates]
cert_generator = local_cert_generator
ca_certificate = $BASE/certs/ca_01.pem
ca_private_key = $BASE/certs/ca_key_enc.pem
ca_private_key_passphrase = kks-lb-ca
# must be exactly 32 characters
server_certs_key_passphrase = kks-lb-test-only-passphrase-0032

[haproxy_amphora]
client_cert = $BASE/certs/client.pem
server_ca = $BASE/certs/ca_01.pem

[oslo_messaging]
topic = octavia_prov

[oslo_concurrency]
lock_path = $BASE/lock

[task_flow]
# the default; no redis/zookeeper jobboard
jobboard_enabled = False

[health_manager]
bind_ip = 127.0.0.1
controller_ip_port_list = 127.0.0.1:5555
EOF
octavia_changed=0
install_file "$BASE/etc/octavia.conf.new" "$BASE/etc/octavia.conf" && octavia_changed=1

mkdir -p "$BASE/etc/neutron" "$BASE/lock/neutron"
cat >"$BASE/etc/neutron/neutron.conf.new" <<EOF
# Generated by scripts/real-openstack/start.sh; rewritten on every run.
[DEFAULT]
api_paste_config = $BASE/neutron-venv/etc/neutron/api-paste.ini
core_plugin = ml2
service_plugins = router
auth_strategy = noauth
bind_host = 127.0.0.1
bind_port = $NEUTRON_PORT
transport_url = rabbit://guest:guest@127.0.0.1:$RABBIT_PORT/
debug = $OCTAVIA_DEBUG
api_workers = 1
rpc_workers = 0
rpc_state_report_workers = 0

[database]
connection = mysql+pymysql://neutron:neutron@127.0.0.1:$DB_PORT/neutron

[oslo_concurrency]
lock_path = $BASE/lock/neutron
EOF
cat >"$BASE/etc/neutron/ml2_conf.ini.new" <<'EOF'
# Generated by scripts/real-openstack/start.sh. No mechanism drivers: no agents, no port
# binding; the API and database behaviour is what the conformance suite needs.
[ml2]
type_drivers = flat,vxlan
tenant_network_types = vxlan
mechanism_drivers =
extension_drivers = port_security

[ml2_type_flat]
flat_networks = public

[ml2_type_vxlan]
vni_ranges = 1:1000
EOF
neutron_changed=0
install_file "$BASE/etc/neutron/neutron.conf.new" "$BASE/etc/neutron/neutron.conf" && neutron_changed=1
install_file "$BASE/etc/neutron/ml2_conf.ini.new" "$BASE/etc/neutron/ml2_conf.ini" && neutron_changed=1

# ------------------------------------------------------------------------------ schema migrations
# Both need only MariaDB: they run in the background while RabbitMQ boots.
log "octavia-db-manage upgrade head, neutron-db-manage upgrade heads (in the background)"
"$BASE/octavia-venv/bin/octavia-db-manage" --config-file "$BASE/etc/octavia.conf" upgrade head \
  >"$BASE/log/octavia-db-manage.log" 2>&1 &
OCTAVIA_DBM=$!
"$BASE/neutron-venv/bin/neutron-db-manage" --config-file "$BASE/etc/neutron/neutron.conf" \
  --config-file "$BASE/etc/neutron/ml2_conf.ini" upgrade heads >"$BASE/log/neutron-db-manage.log" 2>&1 &
NEUTRON_DBM=$!

# ------------------------------------------------------------------------------ RabbitMQ
# Everything the broker needs lives under $BASE: rabbitmq-env reads the file named by
# RABBITMQ_CONF_ENV_FILE, which points at our config, data and log dirs. The Debian
# wrappers run the broker and rabbitmqctl as the `rabbitmq` user (cookie in its home).
mkdir -p "$BASE/rabbitmq/mnesia" "$BASE/rabbitmq/log"
chown -R rabbitmq:rabbitmq "$BASE/rabbitmq"
cat >"$BASE/etc/rabbitmq-env.conf.new" <<EOF
NODENAME=kkslb@localhost
NODE_IP_ADDRESS=127.0.0.1
NODE_PORT=$RABBIT_PORT
DIST_PORT=$((RABBIT_PORT + 20000))
CONFIG_FILE=$BASE/etc/rabbitmq.conf
MNESIA_BASE=$BASE/rabbitmq/mnesia
LOG_BASE=$BASE/rabbitmq/log
ENABLED_PLUGINS_FILE=$BASE/rabbitmq/enabled_plugins
export ERL_EPMD_ADDRESS=127.0.0.1
EOF
cat >"$BASE/etc/rabbitmq.conf.new" <<EOF
listeners.tcp.default = 127.0.0.1:$RABBIT_PORT
loopback_users.guest = true
EOF
rabbit_changed=0
install_file "$BASE/etc/rabbitmq-env.conf.new" "$BASE/etc/rabbitmq-env.conf" && rabbit_changed=1
install_file "$BASE/etc/rabbitmq.conf.new" "$BASE/etc/rabbitmq.conf" && rabbit_changed=1
chmod 644 "$BASE/etc/rabbitmq-env.conf" "$BASE/etc/rabbitmq.conf"
[ -f "$BASE/rabbitmq/enabled_plugins" ] || { echo '[].' >"$BASE/rabbitmq/enabled_plugins"; chown rabbitmq: "$BASE/rabbitmq/enabled_plugins"; }
export RABBITMQ_CONF_ENV_FILE=$BASE/etc/rabbitmq-env.conf
STEP_LOG=$BASE/log/rabbitmq.log
if alive rabbitmq && [ "$rabbit_changed" = 1 ]; then
  log "RabbitMQ config changed: restarting it"
  rabbitmqctl -q shutdown >/dev/null 2>&1 || true
  stop_proc rabbitmq
fi
if ! alive rabbitmq; then
  port_free "$RABBIT_PORT" || die "127.0.0.1:$RABBIT_PORT is taken by a process start.sh did not start; set RABBIT_PORT"
  log "starting RabbitMQ on 127.0.0.1:$RABBIT_PORT"
  launch rabbitmq "$BASE/log/rabbitmq.log" /usr/sbin/rabbitmq-server
fi
wait_for 120 RabbitMQ rabbitmq rabbitmqctl -q await_startup --timeout 5

STEP_LOG=$BASE/log/octavia-db-manage.log
wait "$OCTAVIA_DBM" || die "octavia-db-manage upgrade failed"
STEP_LOG=$BASE/log/neutron-db-manage.log
wait "$NEUTRON_DBM" || die "neutron-db-manage upgrade failed"
log "schema migrations done"

# ------------------------------------------------------------------------------ start Octavia and Neutron
if [ "$octavia_changed" = 1 ]; then stop_proc octavia-api; stop_proc octavia-worker; fi
STEP_LOG=$BASE/log/octavia-worker.log
if ! alive octavia-worker; then
  log "starting octavia-worker"
  # The noop network driver keeps its state in this hard-coded file; start clean.
  rm -f /tmp/octavia-network-noop.db
  rm -f "$BASE/log/octavia-worker.log"
  launch octavia-worker "$BASE/log/octavia-worker.out" "$BASE/octavia-venv/bin/octavia-worker" \
    --config-file "$BASE/etc/octavia.conf" --log-file "$BASE/log/octavia-worker.log"
fi
STEP_LOG=$BASE/log/octavia-api.log
if ! alive octavia-api; then
  port_free "$OCTAVIA_PORT" || die "127.0.0.1:$OCTAVIA_PORT is taken by a process start.sh did not start; set OCTAVIA_PORT"
  log "starting Octavia API (gunicorn) on 127.0.0.1:$OCTAVIA_PORT"
  launch octavia-api "$BASE/log/octavia-api.log" env OCTAVIA_CONF="$BASE/etc/octavia.conf" \
    PYTHONPATH="$HERE" "$BASE/octavia-venv/bin/gunicorn" -b "127.0.0.1:$OCTAVIA_PORT" \
    -w 1 -k gthread --threads 8 --timeout 120 octavia_wsgi:application
fi

[ "$neutron_changed" = 1 ] && stop_proc neutron-api
STEP_LOG=$BASE/log/neutron-api.log
if ! alive neutron-api; then
  port_free "$NEUTRON_PORT" || die "127.0.0.1:$NEUTRON_PORT is taken by a process start.sh did not start; set NEUTRON_PORT"
  log "starting Neutron API (gunicorn) on 127.0.0.1:$NEUTRON_PORT"
  launch neutron-api "$BASE/log/neutron-api.log" env OS_NEUTRON_CONFIG_DIR="$BASE/etc/neutron" \
    OS_NEUTRON_CONFIG_FILES="neutron.conf;ml2_conf.ini" PYTHONPATH="$HERE" \
    "$BASE/neutron-venv/bin/gunicorn" -b "127.0.0.1:$NEUTRON_PORT" -w 1 -k gthread --threads 4 \
    --timeout 120 neutron_wsgi:application
fi

# ------------------------------------------------------------------------------ wait until healthy
STEP_LOG=$BASE/log/octavia-api.log
wait_for 120 "the Octavia API" octavia-api curl -sf "$OCTAVIA_URL/"
STEP_LOG=$BASE/log/octavia-worker.log
wait_for 120 "octavia-worker's RPC consumer" octavia-worker grep -q "Starting V2 consumer" "$BASE/log/octavia-worker.log"
STEP_LOG=$BASE/log/neutron-api.log
wait_for 120 "the Neutron API" neutron-api curl -sf "$NEUTRON_URL/"
log "APIs answer"

# ------------------------------------------------------------------------------ Neutron topology
# neutron METHOD PATH [BODY]: a Neutron call; prints the body, fails on a non-2xx status.
neutron() {
  local out code
  out=$(curl -sS -w '\n%{http_code}' -X "$1" "$NEUTRON_URL/v2.0$2" \
    -H 'Content-Type: application/json' -H "X-Project-Id: $PROJECT_ID" ${3:+-d "$3"})
  code=${out##*$'\n'}
  out=${out%$'\n'*}
  case $code in 2??) printf '%s' "$out" ;; *) die "Neutron $1 $2 answered $code: $out" ;; esac
}
# find_id KIND NAME: the id of the KIND (networks, subnets, routers) named NAME, or "".
find_id() { neutron GET "/$1?name=$2&project_id=$PROJECT_ID" | jq -r ".$1[0].id // empty"; }

STEP_LOG=$BASE/log/neutron-api.log
PUBLIC_NET=$(find_id networks public)
if [ -z "$PUBLIC_NET" ]; then
  PUBLIC_NET=$(neutron POST /networks "{\"network\":{\"project_id\":\"$PROJECT_ID\",\"name\":\"public\",
    \"router:external\":true,\"provider:network_type\":\"flat\",\"provider:physical_network\":\"public\"}}" \
    | jq -r .network.id)
fi
PUBLIC_SUBNET=$(find_id subnets public-subnet)
if [ -z "$PUBLIC_SUBNET" ]; then
  PUBLIC_SUBNET=$(neutron POST /subnets "{\"subnet\":{\"project_id\":\"$PROJECT_ID\",\"name\":\"public-subnet\",
    \"network_id\":\"$PUBLIC_NET\",\"cidr\":\"203.0.113.0/24\",\"ip_version\":4}}" | jq -r .subnet.id)
fi
CLUSTER_NET=$(find_id networks cluster)
if [ -z "$CLUSTER_NET" ]; then
  CLUSTER_NET=$(neutron POST /networks "{\"network\":{\"project_id\":\"$PROJECT_ID\",\"name\":\"cluster\"}}" \
    | jq -r .network.id)
fi
CLUSTER_SUBNET=$(find_id subnets cluster-subnet)
if [ -z "$CLUSTER_SUBNET" ]; then
  CLUSTER_SUBNET=$(neutron POST /subnets "{\"subnet\":{\"project_id\":\"$PROJECT_ID\",\"name\":\"cluster-subnet\",
    \"network_id\":\"$CLUSTER_NET\",\"cidr\":\"10.0.0.0/24\",\"ip_version\":4}}" | jq -r .subnet.id)
fi
ROUTER=$(find_id routers cluster-router)
if [ -z "$ROUTER" ]; then
  ROUTER=$(neutron POST /routers "{\"router\":{\"project_id\":\"$PROJECT_ID\",\"name\":\"cluster-router\",
    \"external_gateway_info\":{\"network_id\":\"$PUBLIC_NET\"}}}" | jq -r .router.id)
fi
# The router's interface on the cluster subnet is a port with device_owner
# network:router_interface and a fixed IP in that subnet.
has_if=$(neutron GET "/ports?device_id=$ROUTER&device_owner=network:router_interface" \
  | jq --arg s "$CLUSTER_SUBNET" '[.ports[].fixed_ips[] | select(.subnet_id == $s)] | length')
if [ "$has_if" = 0 ]; then
  neutron PUT "/routers/$ROUTER/add_router_interface" "{\"subnet_id\":\"$CLUSTER_SUBNET\"}" >/dev/null
fi
log "Neutron topology: public=$PUBLIC_NET cluster-subnet=$CLUSTER_SUBNET router=$ROUTER"

cat >"$BASE/env.new" <<EOF
# Written by scripts/real-openstack/start.sh: source it to point the conformance suite
# (crates/testkit/tests/conformance.rs) at the real services.
export KKS_REAL_OCTAVIA_URL=$OCTAVIA_URL
export KKS_REAL_NEUTRON_URL=$NEUTRON_URL
export KKS_REAL_PROJECT_ID=$PROJECT_ID
export KKS_REAL_NETWORK_ID=$CLUSTER_NET
export KKS_REAL_SUBNET_ID=$CLUSTER_SUBNET
export KKS_REAL_FLOATING_NETWORK_ID=$PUBLIC_NET
export KKS_REAL_FLOATING_SUBNET_ID=$PUBLIC_SUBNET
export KKS_REAL_ROUTER_ID=$ROUTER
EOF
mv -f "$BASE/env.new" "$BASE/env"

# ------------------------------------------------------------------------------ probe
# Proves the whole Octavia path (API -> RabbitMQ -> worker -> DB): a load balancer goes ACTIVE
# and is deleted again.
if [ "$PROBE" = 1 ]; then
  STEP_LOG=$BASE/log/octavia-worker.log
  octavia() {
    curl -sS -X "$1" "$OCTAVIA_URL/v2/lbaas$2" -H 'Content-Type: application/json' \
      -H "X-Project-Id: $PROJECT_ID" ${3:+-d "$3"}
  }
  lb=$(octavia POST /loadbalancers "{\"loadbalancer\":{\"name\":\"kks-lb-start-probe\",\"vip_subnet_id\":\"$CLUSTER_SUBNET\"}}" \
    | jq -r '.loadbalancer.id // empty')
  [ -n "$lb" ] || die "the probe load balancer was refused"
  # lb_is STATUS: the probe's provisioning_status is STATUS (GONE once it is deleted).
  lb_is() {
    [ "$(octavia GET "/loadbalancers/$lb" | jq -r '.loadbalancer.provisioning_status // "GONE"')" = "$1" ]
  }
  wait_for 60 "the probe load balancer to go ACTIVE" octavia-worker lb_is ACTIVE
  octavia DELETE "/loadbalancers/$lb" >/dev/null
  wait_for 60 "the probe load balancer to go away" octavia-worker lb_is GONE
  log "probe load balancer went ACTIVE and was deleted"
fi

VERSION=$(curl -s "$OCTAVIA_URL/" | jq -r '.versions[] | select(.status == "CURRENT") | .id')
log "READY: Octavia $OCTAVIA_VERSION (API $VERSION) at $OCTAVIA_URL, Neutron $NEUTRON_VERSION at $NEUTRON_URL"
log "env file: $BASE/env   (source $BASE/env; stop with $HERE/stop.sh)"
