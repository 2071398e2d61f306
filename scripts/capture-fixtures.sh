#!/usr/bin/env bash
# Runs real builds of fixtures/daemon/* against a private dockerd (and podman) and stores their logs, bytes
# exactly as the builder printed them, under fixtures/logs/daemon/. See fixtures/logs/daemon/README.md.
#
#   sudo scripts/capture-fixtures.sh          # rewrites every log; review `git diff --stat` before committing
#
# Each build runs in a temporary copy of its context with a fresh nonce.txt, so the first build of a
# Dockerfile executes every step and the second one (same nonce) is fully cached.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/daemon.sh
. "$BUILDLENS_ROOT/scripts/lib/daemon.sh"

[ "$(id -u)" -eq 0 ] || die "run as root: dockerd and podman run as root here"
out="$BUILDLENS_ROOT/fixtures/logs/daemon"
work="$(mktemp -d /tmp/buildlens-capture.XXXXXX)"
state="$work/docker"
podman_tags=()
cleanup() {
  local rc=$?
  docker_stop "$state"
  [ "${#podman_tags[@]}" -eq 0 ] || podman_remove_built "${podman_tags[@]}" "$out"/podman*.log
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

apt_install_missing $(daemon_packages)
docker_start "$state" || die "dockerd did not start"
docker_import_base
podman_import_base
mkdir -p "$out"
nonce="capture-$(date -u +%Y%m%dT%H%M%SZ)"

# `context NAME`: a fresh copy of fixtures/daemon/NAME with this run's nonce; prints its path.
context() {
  local dir="$work/ctx-$1"
  if [ ! -d "$dir" ]; then
    cp -r "$BUILDLENS_ROOT/fixtures/daemon/$1" "$dir"
    echo "$nonce-$1" >"$dir/nonce.txt" # per context: `COPY nonce.txt` must not hit another fixture's cache
  fi
  echo "$dir"
}

# `capture LOG EXPECTED_RC CMD...`: runs CMD with stdout+stderr into LOG and checks its exit code.
capture() {
  local log="$out/$1" want="$2" rc=0
  shift 2
  "$@" >"$log" 2>&1 </dev/null || rc=$?
  if { [ "$want" = 0 ] && [ "$rc" -ne 0 ]; } || { [ "$want" != 0 ] && [ "$rc" -eq 0 ]; }; then
    tail -n 20 "$log" >&2
    die "$1: exit code $rc, expected $want"
  fi
  log "captured ${log#"$BUILDLENS_ROOT"/} (exit $rc, $(wc -c <"$log") bytes)"
}

bk_plain() { env DOCKER_BUILDKIT=1 "$BUILDLENS_DOCKER_CLI" build --network=none --progress=plain -t "$1" "$2"; }
legacy() { env DOCKER_BUILDKIT=0 "$BUILDLENS_DOCKER_CLI" build --network=none -t "$1" "$2"; }
pod() { podman build --network=none -t "$1" "$2"; }
# BuildKit's tty display needs a terminal: `script` gives the build a pty of a fixed size.
bk_tty() {
  TERM=xterm script -q -e -c "stty cols 120 rows 40; DOCKER_BUILDKIT=1 $BUILDLENS_DOCKER_CLI build --network=none --progress=tty -t $1 $2" /dev/null
}
# What act prints for a `run: docker build …` step without a terminal: every line behind `[CI/build]   | `.
act_prefixed() { bk_plain "$1" "$2" 2>&1 | sed 's/^/[CI\/build]   | /'; }

# Each builder: cold multi-stage, the same again (fully cached), a failing build. Every builder has its
# own tags and contexts (copies), and the docker ones share one fresh daemon, so order matters only
# within a builder.
for builder in bk_plain bk_tty legacy pod; do
  case "$builder" in
    bk_plain) prefix=bk20-plain ;;
    bk_tty) prefix=bk20-tty ;;
    legacy) prefix=legacy20 ;;
    pod) prefix=podman43 ;;
  esac
  rm -rf "$work"/ctx-*
  nonce="capture-$prefix-$(date -u +%Y%m%dT%H%M%SZ)"
  tag="buildlens-capture-$prefix"
  [ "$builder" = pod ] && podman_tags+=("$tag-multistage" "$tag-failing")
  capture "$prefix-multistage.log" 0 "$builder" "$tag-multistage" "$(context multistage)"
  capture "$prefix-multistage-cached.log" 0 "$builder" "$tag-multistage" "$(context multistage)"
  capture "$prefix-failing.log" 1 "$builder" "$tag-failing" "$(context failing)"
done
rm -rf "$work"/ctx-*
nonce="capture-act-$(date -u +%Y%m%dT%H%M%SZ)"
# pipefail (set above) passes the build's failure through sed.
capture "act-bk20-plain-failing.log" 1 act_prefixed buildlens-capture-act-failing "$(context failing)"
log "done: $(find "$out" -name '*.log' | wc -l) logs in ${out#"$BUILDLENS_ROOT"/}"
