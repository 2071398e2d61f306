#!/usr/bin/env bash
# Re-records the bundled example (fixtures/example/.buildlens) with real builds against a private Docker
# daemon: the README's first command reports on it. Run as root; needs no registry.
#
#   bash scripts/make-example.sh
#   BUILDLENS_EXAMPLE_DOCKER_HOST=unix:///tmp/x/docker.sock bash scripts/make-example.sh   # use a running daemon
#
# The story the records tell: a cold build; a build after a file under `COPY . .` changed (the slow
# toolchain step is rebuilt because of it); a build whose package step fails (make ... Error 2).
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/daemon.sh
. "$BUILDLENS_ROOT/scripts/lib/daemon.sh"

[ "$(id -u)" -eq 0 ] || die "run as root: the private dockerd needs it"
example="$BUILDLENS_ROOT/fixtures/example"
state="$(mktemp -d /tmp/buildlens-example.XXXXXX)"
cleanup() {
  docker_stop "$state" || true
  git -C "$BUILDLENS_ROOT" checkout -- fixtures/example/package 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT

if [ -n "${BUILDLENS_EXAMPLE_DOCKER_HOST:-}" ]; then
  # A private daemon already running (scripts/daemon.sh start), with fixture-base imported.
  export DOCKER_HOST="$BUILDLENS_EXAMPLE_DOCKER_HOST"
else
  apt_install_missing $(daemon_packages)
  docker_start "$state" || die "dockerd did not start (see $state)"
  export DOCKER_HOST="unix://$state/docker.sock"
  docker_import_base
fi

(cd "$BUILDLENS_ROOT" && cargo build --quiet --bin buildlens)
bin="${CARGO_TARGET_DIR:-$BUILDLENS_ROOT/target}/debug/buildlens"
rm -rf "$example/.buildlens"
build() {
  (cd "$example" && DOCKER_BUILDKIT=1 "$bin" record --store .buildlens -- /usr/bin/docker build --network=none --progress=plain -t buildlens-example:latest .) || true
}

# The checked-in context is the one the last build saw (hello.sh v2, FAIL=1), so the language server finds
# nothing changed on disk since it (`lsp::context_inputs`): start from the first build's.
printf '#!/bin/sh\necho "hello from the mipsel toolchain"\n' > "$example/package/hello/hello.sh"
sed -i 's/^FAIL=1$/FAIL=0/' "$example/package/hello/build.sh"
log "1/3: cold build"
build
log "2/3: a file under COPY . . changed: the toolchain is rebuilt"
printf '#!/bin/sh\necho "hello from the mipsel toolchain (v2)"\n' > "$example/package/hello/hello.sh"
build
log "3/3: the package build fails"
sed -i 's/^FAIL=0$/FAIL=1/' "$example/package/hello/build.sh"
build
rm -f "$example"/.buildlens/builds/*/summary.json # a cache: made again by the first report
log "recorded: $(ls "$example/.buildlens/builds" | tr '\n' ' ')"
