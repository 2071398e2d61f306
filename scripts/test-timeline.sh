#!/usr/bin/env bash
# The timeline page (`buildlens report --html`) in real headless Chromium: tests/timeline/page.cjs makes a
# hostile build and a 1,000-step, 100-build history, imports them with target/debug/buildlens, writes the
# pages and checks them in the browser (no console error or request, bars in their lanes, the critical
# path, no script from the log runs, a click names the line; size < 2 MiB and first frame < 1 s, printed).
# Screenshots: test-artifacts/timeline/.
#
#   bash scripts/test-timeline.sh        # called by scripts/test.sh after the VS Code suite
#
# Reuses what scripts/test-vscode.sh installed under $BUILDLENS_TOOLS (Node 24, playwright-core); installs
# playwright-core alone when that is missing, and Debian's chromium. Chromium is started and stopped by
# playwright-core (its own process); the work folder is removed at the end.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/daemon.sh
. "$BUILDLENS_ROOT/scripts/lib/daemon.sh"
# shellcheck source=lib/deps.sh
. "$BUILDLENS_ROOT/scripts/lib/deps.sh"

PLAYWRIGHT_VERSION="1.65.1"
CS_MODULES="$BUILDLENS_TOOLS/code-server-4.139.1/node_modules"
PW_DIR="$BUILDLENS_TOOLS/playwright-$PLAYWRIGHT_VERSION"
ARTIFACTS="$BUILDLENS_ROOT/test-artifacts/timeline"

node_bin() {
  local n="$BUILDLENS_TOOLS/node-24.19.0/bin/node"
  if [ -x "$n" ]; then echo "$n"; else command -v node || die "no node: run scripts/test-vscode.sh once, or install nodejs"; fi
}

# NODE_PATH holding playwright-core: code-server's install when there, else our own.
playwright_path() {
  if [ -d "$CS_MODULES/playwright-core" ]; then
    echo "$CS_MODULES"
    return
  fi
  if [ ! -d "$PW_DIR/node_modules/playwright-core" ]; then
    log "installing playwright-core@$PLAYWRIGHT_VERSION into $PW_DIR"
    mkdir -p "$PW_DIR"
    local npm="$BUILDLENS_TOOLS/node-24.19.0/bin/npm"
    [ -x "$npm" ] || npm="$(command -v npm)" || die "no npm"
    (cd "$PW_DIR" && "$npm" install --no-audit --no-fund --loglevel=error --ignore-scripts "playwright-core@$PLAYWRIGHT_VERSION")
  fi
  echo "$PW_DIR/node_modules"
}

main() {
  rm -rf "$ARTIFACTS"
  mkdir -p "$ARTIFACTS"
  apt_install_missing chromium
  local bin="${CARGO_TARGET_DIR:-$BUILDLENS_ROOT/target}/debug/buildlens"
  [ -x "$bin" ] || (cd "$BUILDLENS_ROOT" && cargo build --quiet --bin buildlens)
  local work rc=0
  work="$(mktemp -d /tmp/buildlens-timeline.XXXXXX)"
  TL_BIN="$bin" TL_WORK="$work" TL_SHOTS="$ARTIFACTS" TL_CHROMIUM="$(command -v chromium)" NODE_PATH="$(playwright_path)" \
    timeout -k 10 300 "$(node_bin)" "$BUILDLENS_ROOT/tests/timeline/page.cjs" 2>&1 | tee "$ARTIFACTS/page.log" || rc=$?
  rm -rf "$work"
  return "$rc"
}

main "$@"
