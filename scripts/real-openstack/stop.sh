#!/usr/bin/env bash
# Stop what scripts/real-openstack/start.sh started, by the PID files it wrote in $BASE/run.
# Each service runs in its own session, so its whole process group is ended (gunicorn
# workers, the octavia-worker children, the beam VM under the rabbitmq-server wrapper).
#
# Environment (all optional):
#   BASE          the same state dir as start.sh       (/var/tmp/kks-lb-openstack)
#   KEEP_INFRA=1  stop only the Octavia and Neutron processes; MariaDB and RabbitMQ stay up
#   PURGE=1       also delete $BASE (venvs, databases, logs); the apt packages stay
set -uo pipefail

BASE=${BASE:-/var/tmp/kks-lb-openstack}
KEEP_INFRA=${KEEP_INFRA:-0}
PURGE=${PURGE:-0}

# stop NAME: TERM to the process group in $BASE/run/NAME.pid, KILL after 10 s.
stop() {
  local f="$BASE/run/$1.pid" pid t0=${EPOCHREALTIME/./}
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
      echo "killed $1 (pid $pid) after 10 s"
    else
      echo "stopped $1 (pid $pid) in $(((${EPOCHREALTIME/./} - t0) / 1000)) ms"
    fi
  fi
  rm -f "$f"
}

# The API and worker processes first (in parallel: the worker's graceful shutdown takes
# seconds), then the broker and the database they used.
stop octavia-api &
stop neutron-api &
stop octavia-worker &
wait
# The noop network driver's state file (hard-coded path) belongs to the worker.
rm -f /tmp/octavia-network-noop.db

if [ "$KEEP_INFRA" != 1 ]; then
  stop mariadb &
  if [ -f "$BASE/run/rabbitmq.pid" ]; then
    # A clean broker shutdown first; the group kill then only reaps the wrappers.
    RABBITMQ_CONF_ENV_FILE=$BASE/etc/rabbitmq-env.conf rabbitmqctl -q shutdown >/dev/null 2>&1
    stop rabbitmq
    # The beam VM started an epmd daemon (outside our process group). End it only when no
    # other Erlang node is registered with it.
    if command -v epmd >/dev/null && ! epmd -names 2>/dev/null | grep -q '^name '; then
      epmd -kill >/dev/null 2>&1
    fi
  fi
  wait
fi

if [ "$PURGE" = 1 ]; then
  if [ "$KEEP_INFRA" = 1 ]; then
    echo "PURGE=1 needs the databases stopped; run without KEEP_INFRA=1" >&2
    exit 1
  fi
  rm -rf "$BASE"
  echo "removed $BASE"
fi
exit 0
