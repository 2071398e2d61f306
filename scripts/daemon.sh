#!/usr/bin/env bash
# Start/stop a private Docker engine (and prepare podman) for running daemon tests by hand.
#
#   eval "$(scripts/daemon.sh start)"     # starts dockerd under $BUILDLENS_DOCKER_DIR, prints `export DOCKER_HOST=…`
#   BUILDLENS_DAEMON_TESTS=1 cargo test -- --include-ignored
#   scripts/daemon.sh stop                # stops only the dockerd/containerd whose pids start recorded
#   scripts/daemon.sh status
#
# BUILDLENS_DOCKER_DIR (default /tmp/buildlens-docker) holds the socket, pids, data and logs.
# scripts/test.sh does not use this fixed folder: it starts its own daemon in a fresh one per run.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/daemon.sh
. "$BUILDLENS_ROOT/scripts/lib/daemon.sh"

dir="${BUILDLENS_DOCKER_DIR:-/tmp/buildlens-docker}"

case "${1:-}" in
  start)
    if [ -n "$(daemon_pid_of "$dir" dockerd)" ] && docker_ping "$dir/docker.sock"; then
      log "dockerd already running under $dir"
    else
      [ "$(id -u)" -eq 0 ] || die "dockerd needs root"
      apt_install_missing $(daemon_packages)
      docker_stop "$dir" # leftovers of a crashed run of ours: only pids recorded in $dir are stopped
      docker_start "$dir" || { docker_stop "$dir"; die "dockerd did not start"; }
      docker_import_base
      podman_import_base
    fi
    echo "export DOCKER_HOST=unix://$dir/docker.sock"
    ;;
  stop)
    docker_stop "$dir"
    log "stopped (if it was running) the dockerd under $dir"
    ;;
  status)
    pid="$(daemon_pid_of "$dir" dockerd)"
    if [ -n "$pid" ] && docker_ping "$dir/docker.sock"; then
      echo "running: pid $pid, DOCKER_HOST=unix://$dir/docker.sock"
    else
      echo "not running"
      exit 1
    fi
    ;;
  *)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
