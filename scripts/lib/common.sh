# shellcheck shell=bash
# Shared helpers for the buildlens scripts: logging, timing, root checks, Debian packages.
# Sourced by scripts/test.sh, scripts/daemon.sh and scripts/capture-fixtures.sh; defines functions only.

# Repo root = two levels above this file, whatever the caller's cwd.
BUILDLENS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
warn() { printf '[%s] WARNING: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  printf '[%s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2
  exit 1
}

# Run "$@" as root: directly when we are root, through sudo otherwise (when it exists).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "needs root for: $*"
  fi
}

# True when every named Debian package is installed.
debian_installed() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || return 1
  done
}

# Install the Debian packages that are missing (one `apt-get update` per process, only when needed).
# Recommends are installed too, as in the recipe that was checked (shared/docs/real-parts.md).
BUILDLENS_APT_UPDATED=""
apt_install_missing() {
  local missing=() pkg
  for pkg in "$@"; do
    debian_installed "$pkg" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  if [ -z "$BUILDLENS_APT_UPDATED" ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    BUILDLENS_APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Poll "$@" until it succeeds or DEADLINE seconds pass. Used for sockets and process exits only (never as a
# synchronisation sleep between our own steps); returns 1 on timeout, 2 when "$@" returned 2 (give up).
poll_until() {
  local deadline=$(($(date +%s) + $1)) rc
  shift
  while true; do
    rc=0
    "$@" >/dev/null 2>&1 || rc=$?
    [ "$rc" -eq 0 ] && return 0
    [ "$rc" -eq 2 ] && return 2
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.2
  done
}

# `alive_and PID CMD...`: CMD's result while PID lives; 2 (stop polling) once PID has exited.
alive_and() {
  local pid="$1"
  shift
  pid_gone "$pid" && return 2
  "$@"
}

# Send SIGTERM to PID and wait (bounded) until it is gone; SIGKILL after GRACE seconds.
# Only for processes whose pid we recorded ourselves.
stop_pid() {
  local pid="$1" name="$2" grace="${3:-20}"
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  if ! poll_until "$grace" pid_gone "$pid"; then
    warn "$name (pid $pid) did not stop in ${grace}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    poll_until 5 pid_gone "$pid" || warn "$name (pid $pid) is still there"
  fi
  # Reap it when it is our child, so no zombie keeps the pid.
  wait "$pid" 2>/dev/null || true
}

# True when PID no longer names a live process (a zombie counts as gone).
pid_gone() {
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 0
  [ -z "$state" ] || [ "$state" = Z ]
}
