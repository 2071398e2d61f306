# shellcheck shell=bash
# The Neovim client on a real terminal screen: Neovim 0.11 in a tmux session of 120x40 (a private server,
# `tmux -L <unique>`, killed at the end, also on failure) on a copy of the bundled example, with
# COLORTERM=truecolor as the README says. Each step types what a user types, waits (polling
# `tmux capture-pane -p` against a deadline) until the screen shows its result, saves the screen as ANSI
# (`capture-pane -e -p`) and plain text into test-artifacts/nvim/, and checks it with
# editors/nvim/tests/screen_check.lua (run by the same Neovim, `nvim -l`). Sourced by scripts/test-nvim.sh;
# defines functions only.

SCREEN_COLS=120
SCREEN_ROWS=40
SCREEN_WAIT_S="${BUILDLENS_SCREEN_WAIT_S:-20}"
SCREEN_SOCKET=""
SCREEN_SOCKET_PATH=""

screen_tmux() { tmux -L "$SCREEN_SOCKET" "$@"; }

# Kills the private tmux server (and the Neovim in it) and removes its socket file; safe to call twice.
screen_cleanup() {
  if [ -n "$SCREEN_SOCKET" ]; then
    tmux -L "$SCREEN_SOCKET" kill-server 2>/dev/null || true
    [ -n "$SCREEN_SOCKET_PATH" ] && rm -f "$SCREEN_SOCKET_PATH"
    SCREEN_SOCKET=""
    SCREEN_SOCKET_PATH=""
  fi
}

# `screen_wait WHAT NEEDLE...`: polls the screen until every NEEDLE (plain text) is on it; 1 at the deadline.
screen_wait() {
  local what="$1" deadline=$((SECONDS + SCREEN_WAIT_S)) screen needle missing
  shift
  while :; do
    screen="$(screen_tmux capture-pane -p 2>/dev/null || true)"
    missing=""
    for needle in "$@"; do
      grep -qF -- "$needle" <<<"$screen" || { missing="$needle"; break; }
    done
    [ -z "$missing" ] && return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      warn "screen: timed out after ${SCREEN_WAIT_S}s waiting for $what ($missing not on screen):"
      printf '%s\n' "$screen" >&2
      return 1
    fi
    sleep 0.05 # polling interval, not a synchronisation: the loop waits for the screen, up to the deadline
  done
}

# `screen_wait_gone WHAT REGEX`: polls the screen until no row matches REGEX (grep -E); 1 at the deadline.
screen_wait_gone() {
  local what="$1" regex="$2" deadline=$((SECONDS + SCREEN_WAIT_S)) screen
  while :; do
    screen="$(screen_tmux capture-pane -p 2>/dev/null || true)"
    grep -qE -- "$regex" <<<"$screen" || return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      warn "screen: timed out after ${SCREEN_WAIT_S}s waiting for $what (still on screen: $regex):"
      printf '%s\n' "$screen" >&2
      return 1
    fi
    sleep 0.05 # polling interval (see screen_wait)
  done
}

# `screen_save NVIM DIR PHASE`: saves the screen (ANSI and plain) and checks it; 1 when a check fails.
screen_save() {
  local nvim="$1" dir="$2" phase="$3"
  screen_tmux capture-pane -e -p >"$dir/$phase.ansi"
  screen_tmux capture-pane -p >"$dir/$phase.txt"
  "$nvim" --clean -n -l "$BUILDLENS_ROOT/editors/nvim/tests/screen_check.lua" \
    "$dir/$phase.ansi" "$SCREEN_COLS" "$phase"
}

# `screen_type TEXT`: types TEXT literally, then Enter.
screen_type() {
  screen_tmux send-keys -l -- "$1"
  screen_tmux send-keys Enter
}

# `run_screen NVIM BIN WORK`: the whole real-terminal check; 0 when every screen passed.
run_screen() {
  local nvim="$1" bin="$2" work="$3" dir ws art cmd
  art="$BUILDLENS_ROOT/test-artifacts/nvim"
  dir="$work/screen"
  ws="$dir/ws"
  mkdir -p "$art" "$dir"/{config,data,state,cache,runtime}
  chmod 700 "$dir/runtime"
  rm -f "$art"/*.ansi "$art"/*.txt
  cp -r "$BUILDLENS_ROOT/fixtures/example" "$ws"
  debian_installed tmux || apt_install_missing tmux >&2
  command -v tmux >/dev/null || { warn "screen: tmux not found"; return 1; }
  SCREEN_SOCKET="buildlens-nvim-$$-$RANDOM"
  printf -v cmd 'cd %q && exec env %s %q --clean -n -u %q Dockerfile' "$ws" \
    "$(printf '%q ' COLORTERM=truecolor "XDG_CONFIG_HOME=$dir/config" "XDG_DATA_HOME=$dir/data" \
      "XDG_STATE_HOME=$dir/state" "XDG_CACHE_HOME=$dir/cache" "XDG_RUNTIME_DIR=$dir/runtime" \
      "BUILDLENS_PLUGIN=$BUILDLENS_ROOT/editors/nvim" "BUILDLENS_BIN=$bin")" \
    "$nvim" "$BUILDLENS_ROOT/editors/nvim/tests/screen_init.lua"
  printf '\n==> nvim-0.11 screen (tmux %sx%s, artifacts in %s)\n' "$SCREEN_COLS" "$SCREEN_ROWS" "$art" >&2
  tmux -L "$SCREEN_SOCKET" -f /dev/null new-session -d -x "$SCREEN_COLS" -y "$SCREEN_ROWS" "$cmd" || return 1
  SCREEN_SOCKET_PATH="$(screen_tmux display-message -p '#{socket_path}' 2>/dev/null || true)"
  screen_tmux set-option -g status off >/dev/null
  local rc=0
  {
    # 1. The example as opened: the failed lens, the cached hints and the rebuilt lenses drawn.
    screen_wait 'the lenses and hints of the example' '✗ failed (exit 2)' '✓ cached' '⏱ 8.2s' &&
      screen_save "$nvim" "$art" example &&
      # 2. An edit at the end of line 7 in Normal mode (`:s`, no save, no Insert mode): the will-rebuild lens.
      screen_type ':7s/$/ \&\& echo done/' &&
      screen_wait 'the will-rebuild lens above the edited line 7' '↻ this edit rebuilds' &&
      screen_wait_gone "line 7's cached hint (the lens says it now)" 'echo done ✓ cached' &&
      screen_save "$nvim" "$art" edit &&
      # 3. `u` and the failed line in view, then a debug-shell terminal below: the lenses stay.
      screen_type ':undo | 16' &&
      screen_wait_gone 'the will-rebuild lens to go after u' '↻ this edit rebuilds' &&
      screen_type ':ScreenDebugShell' &&
      screen_wait 'the debug shell beside the lenses' 'debug-shell-ready' '✗ failed (exit 2)' &&
      screen_save "$nvim" "$art" debug_shell &&
      # 4. Back to the Dockerfile alone; `lenses = 'all'`: the server's inlayHint/refresh leaves no stale hint.
      screen_tmux send-keys C-\\ C-n &&
      screen_type ':wincmd k | only | 1' &&
      screen_type ':ScreenAllLenses' &&
      screen_wait "a lens on every instruction (lenses = 'all')" '⏱ 0.0s · executed' &&
      screen_wait_gone 'the hints of the quiet lines to go' '[^ ] (✓ cached|[0-9]+\.[0-9]s)( · [0-9.]+ [kMG]?B)? *$' &&
      screen_save "$nvim" "$art" all_lenses
  } || rc=1
  screen_cleanup
  return "$rc"
}
