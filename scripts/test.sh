#!/usr/bin/env bash
# The whole buildlens test suite, as CI runs it (.ci/run) and as the README tells developers to:
#
#   sudo scripts/test.sh                 # everything
#   sudo scripts/test.sh record_daemon   # extra words go to the test harness as name filters
#
# 1. installs what is missing (Debian packages; pip/npm lists in scripts/lib/deps.sh),
# 2. checks that ../shared (the corpus, beside the repo) is there,
# 3. starts a private dockerd (fresh state folder, own socket) and prepares podman (scripts/lib/daemon.sh),
# 4. cargo fmt --check; cargo clippy --all-targets -- -D warnings;
#    cargo test --all-targets --no-fail-fast -- --include-ignored (every test binary runs), with DOCKER_HOST and BUILDLENS_DAEMON_TESTS=1 so the
#    daemon tests run for real and fail (never skip) without their builder; the registry tests get the two
#    registries scripts/registry.sh started (BUILDLENS_REGISTRY_*) and fail without them,
# 5. stops the daemon it started (also on failure or Ctrl-C) and prints a summary.
# Every step runs even when an earlier one failed; the exit code is non-zero when any failed.
# Logs of each step and the daemon's own log go to test-artifacts/ (git-ignored).
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/daemon.sh
. "$BUILDLENS_ROOT/scripts/lib/daemon.sh"
# shellcheck source=lib/deps.sh
. "$BUILDLENS_ROOT/scripts/lib/deps.sh"

cd "$BUILDLENS_ROOT"
[ "$(id -u)" -eq 0 ] || die "run as root: the private dockerd and podman need it (sudo scripts/test.sh)"
[ -d "$HOME/.cargo/bin" ] && PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null || die "cargo not found: install Rust first (rustup)"

ARTIFACTS="$BUILDLENS_ROOT/test-artifacts"
rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS"
STATE="$(mktemp -d /tmp/buildlens-test.XXXXXX)" # the daemon's folder: never shared with another run
SUITE_START=$(date +%s)
RESULTS=()
FAILED=0
STEP_LOG=""
CURRENT_STEP="" # "name|start" while a step runs: an interrupted step is reported too

# `step NAME CMD...`: runs CMD in this shell (so exports stay), times it, records ok/FAIL, never aborts.
step() {
  local name="$1" start rc=0
  shift
  printf '\n==> %s\n' "$name" >&2
  start=$(date +%s)
  CURRENT_STEP="$name|$start"
  STEP_LOG=""
  "$@" || rc=$?
  CURRENT_STEP=""
  RESULTS+=("$([ "$rc" -eq 0 ] && echo ok || echo FAIL)|$name|$(($(date +%s) - start))|$STEP_LOG")
  [ "$rc" -eq 0 ] || FAILED=1
  return 0
}

# `logged FILE SECONDS CMD...`: CMD under `timeout`, output to the terminal and to test-artifacts/FILE;
# CMD's exit code. timeout puts CMD in a process group of its own (led by timeout's pid), so an
# interrupted run stops exactly that group (cargo, test binaries, recorders, builds) and nothing else.
STEP_GROUP=""
logged() {
  local file="$ARTIFACTS/$1" limit="$2" rc=0
  STEP_LOG="$file"
  shift 2
  timeout -k 30 "$limit" "$@" > >(tee "$file") 2>&1 &
  STEP_GROUP=$!
  wait "$STEP_GROUP" || rc=$?
  STEP_GROUP=""
  return "$rc"
}

stop_step_group() {
  [ -n "$STEP_GROUP" ] || return 0
  kill -TERM -- "-$STEP_GROUP" 2>/dev/null || true
  poll_until 20 pid_gone "$STEP_GROUP" || kill -KILL -- "-$STEP_GROUP" 2>/dev/null || true
  STEP_GROUP=""
}

# The corpus lives beside the repo (CI clones main with shared/ next to it): tests read BUILDLENS_SHARED.
find_shared() {
  local shared="${BUILDLENS_SHARED:-$BUILDLENS_ROOT/../shared}"
  if [ ! -d "$shared/corpus" ]; then
    warn "no corpus at $shared/corpus (clone shared/ beside the repo, or set BUILDLENS_SHARED)"
    return 1
  fi
  BUILDLENS_SHARED="$(cd "$shared" && pwd)"
  export BUILDLENS_SHARED
  log "corpus: $BUILDLENS_SHARED"
}

start_daemons() {
  docker_start "$STATE" && docker_import_base && podman_import_base
}

# The registries of the registry tests (scripts/registry.sh): their BUILDLENS_REGISTRY_* variables exported
# for cargo test. If they do not start, the variables stay unset and those tests fail (never skip).
start_registries() {
  local exports
  exports="$(bash "$BUILDLENS_ROOT/scripts/registry.sh" start "$STATE/registry")" || return 1
  eval "$exports"
}

stop_registries() {
  [ -d "$STATE/registry" ] || return 0
  cp "$STATE/registry/plain/registry.log" "$ARTIFACTS/registry-plain.log" 2>/dev/null || true
  cp "$STATE/registry/tls/registry.log" "$ARTIFACTS/registry-tls.log" 2>/dev/null || true
  bash "$BUILDLENS_ROOT/scripts/registry.sh" stop "$STATE/registry"
}

stop_daemons() {
  cp "$STATE/dockerd.log" "$ARTIFACTS/dockerd.log" 2>/dev/null || true
  docker_stop "$STATE"
}

# The tests' environment: a fresh docker client config (nothing from ~/.docker, such as contexts or
# credential helpers, changes what they see) and a TMPDIR inside this run's folder, so temp dirs of
# tests that were killed go away with it.
cargo_test_env() {
  mkdir -p "$STATE/docker-config" "$STATE/tmp"
  echo "BUILDLENS_DAEMON_TESTS=1 DOCKER_CONFIG=$STATE/docker-config TMPDIR=$STATE/tmp"
}

# Totals of every `test result:` line, and the failed tests with their test binary.
test_totals() {
  awk '
    /^ *Running / { bin = ($2 == "unittests") ? $3 : $2 }
    /^test .* FAILED$/ { sub(/^test /, ""); sub(/ \.\.\. FAILED$/, ""); failed_names = failed_names "\n    " bin ": " $0 }
    /^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^(passed|failed|ignored)/) { n[$(i+1)] += $i } } bins++ }
    END {
      printf "  cargo test: %d passed, %d failed, %d ignored in %d test binaries\n", n["passed;"], n["failed;"], n["ignored;"], bins
      if (failed_names != "") printf "  failed tests:%s\n", failed_names
    }' "$ARTIFACTS/cargo-test.log" 2>/dev/null || true
}

# Why a step failed, in the summary (the last lines of a CI log are often all one sees): its log's last
# lines that say FAILED, error or panicked, else its last lines.
failure_lines() {
  [ -s "${1:-}" ] || return 0
  local why
  why="$(grep -aE 'FAILED|[Ee]rror|panicked|timed out' "$1" | grep -avE ' \.\.\. ok$' | tail -n 4 || true)"
  [ -n "$why" ] || why="$(tail -n 4 "$1")"
  printf '%s\n' "$why" | cut -c1-200 | sed 's/^/        | /'
}

summary() {
  local rc=$1 line status name secs file
  printf '\n==================== buildlens test summary ====================\n'
  for line in "${RESULTS[@]}"; do
    IFS='|' read -r status name secs file <<<"$line"
    printf '  %-5s %-62s %5ss\n' "$status" "$name" "$secs"
    [ "$status" = ok ] || failure_lines "$file"
  done
  [ -f "$ARTIFACTS/cargo-test.log" ] && test_totals
  printf '  logs: %s\n' "${ARTIFACTS#"$BUILDLENS_ROOT"/}/"
  printf '  total %ss: %s\n' "$(($(date +%s) - SUITE_START))" "$([ "$rc" -eq 0 ] && echo PASSED || echo FAILED)"
}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  [ "$rc" -eq 0 ] && [ "$FAILED" -ne 0 ] && rc=1
  if [ -n "$CURRENT_STEP" ]; then
    RESULTS+=("STOP|${CURRENT_STEP%|*} (interrupted)|$(($(date +%s) - ${CURRENT_STEP##*|}))|$STEP_LOG")
    CURRENT_STEP=""
  fi
  stop_step_group
  # The registries first: stopping dockerd removes the run's folder, their pid files with it.
  step "stop the registries (only the pids this run started)" stop_registries
  step "stop dockerd (only the pids this run started)" stop_daemons
  summary "$rc"
  exit "$rc"
}
trap on_exit EXIT
trap 'warn "interrupted"; exit 130' INT TERM

step "install missing dependencies (apt, pip, npm, rustup)" install_all_deps
step "shared corpus at ../shared" find_shared
step "start private dockerd + import fixture-base (docker, podman)" start_daemons
step "start private registries: plain, TLS + basic auth (scripts/registry.sh)" start_registries
step "cargo fmt --check" logged cargo-fmt.log 300 cargo fmt --check
step "cargo clippy --all-targets -- -D warnings" logged cargo-clippy.log "${BUILDLENS_CLIPPY_TIMEOUT:-900}" \
  cargo clippy --all-targets -- -D warnings
# shellcheck disable=SC2046 # cargo_test_env prints NAME=value words for env
step "cargo test --all-targets --no-fail-fast -- --include-ignored" logged cargo-test.log "${BUILDLENS_TEST_TIMEOUT:-2400}" \
  env $(cargo_test_env) cargo test --all-targets --no-fail-fast -- --include-ignored "$@"
step "VS Code end to end (code-server + headless Chromium)" logged vscode-e2e.log "${BUILDLENS_VSCODE_E2E_TIMEOUT:-1200}" bash scripts/test-vscode.sh
step "timeline page in headless Chromium (scripts/test-timeline.sh)" logged timeline.log 600 bash scripts/test-timeline.sh
step "Neovim client in real nvim 0.11 + 0.7 (scripts/test-nvim.sh)" logged nvim.log 900 bash scripts/test-nvim.sh
[ "$FAILED" -eq 0 ]
