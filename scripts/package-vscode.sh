#!/usr/bin/env bash
# Builds the VS Code extension (editors/vscode) into editors/vscode/buildlens-<version>.vsix, offline from npm's
# registry: `npm ci` from the committed package-lock.json, a type check, an esbuild bundle (the language client
# goes into out/extension.js), then `vsce package --no-dependencies`. Prints the .vsix path on stdout.
#
#   bash scripts/package-vscode.sh
#
# Node: the first `node` on PATH that is >= 20 (vsce 3 needs it); scripts/test-vscode.sh puts the Node 24 it
# installs first. The .vsix is git-ignored.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

EXT="$BUILDLENS_ROOT/editors/vscode"
command -v node >/dev/null || die "node not found (Node >= 20 is needed; scripts/test-vscode.sh installs Node 24)"
major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 20 ] || die "node $(node --version) is too old: vsce needs Node >= 20"

cd "$EXT"
# `npm ci` is skipped when node_modules was made by `npm ci` from this very lock file (a stamp of its hash).
lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ "$(cat node_modules/.buildlens-lock-sha256 2>/dev/null)" != "$lock_hash" ]; then
  log "npm ci (editors/vscode)"
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$lock_hash" >node_modules/.buildlens-lock-sha256
fi
log "type check + bundle"
npx --no-install tsc --noEmit -p . >&2
rm -rf out
npx --no-install esbuild src/extension.ts --bundle --minify --outfile=out/extension.js --external:vscode \
  --format=cjs --platform=node --target=node18 --log-level=warning >&2
version="$(node -p 'require("./package.json").version')"
vsix="$EXT/buildlens-$version.vsix"
rm -f "$vsix"
log "vsce package -> ${vsix#"$BUILDLENS_ROOT"/}"
npx --no-install vsce package --no-dependencies --skip-license --allow-missing-repository --out "$vsix" >&2
[ -s "$vsix" ] || die "vsce made no $vsix"
echo "$vsix"
