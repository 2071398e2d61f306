#!/usr/bin/env bash
# Captures real `GET /images/{name}/history` answers (API 1.41, the JSON bollard's image_history reads) for
# the engine's layer-mapping tests: fixtures/engine/<case>.history.json beside the Dockerfile it came from.
#
#   eval "$(scripts/daemon.sh start)" && scripts/capture-engine-fixtures.sh   # then review `git diff`
#
# Cases: fixtures/daemon/layers with BuildKit and the legacy builder (fresh), the same build again with
# BuildKit and an edited late line (a cached rebuild: early layers come from the cache), and
# fixtures/engine/from-stage.Dockerfile (the final stage starts from another stage) with both builders.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/fixtures/engine"
socket="${DOCKER_HOST:-unix:///var/run/docker.sock}"
socket="${socket#unix://}"
docker=/usr/bin/docker # Debian's 20.10 client: BuildKit v0.8 and the legacy builder
work="$(mktemp -d /tmp/buildlens-engine-capture.XXXXXX)"
trap 'rm -rf "$work"' EXIT
nonce="engine-capture-$(date -u +%Y%m%dT%H%M%SZ)"

# `build CASE BUILDKIT CONTEXT DOCKERFILE`: builds, then stores the image's history as CASE.history.json.
build() {
  local case="$1" tag="buildlens-engine-fixture:$1"
  DOCKER_BUILDKIT="$2" "$docker" build --network=none -f "$4" -t "$tag" "$3" >"$work/$case.log" 2>&1 ||
    { cat "$work/$case.log" >&2; exit 1; }
  curl -sf --unix-socket "$socket" "http://docker/v1.41/images/$tag/history" | python3 -m json.tool --indent 1 >"$out/$case.history.json"
  echo "captured $case" >&2
}

ctx="$work/layers"
cp -r "$root/fixtures/daemon/layers" "$ctx"
echo "$nonce" >"$ctx/nonce.txt"
build layers-buildkit 1 "$ctx" "$ctx/Dockerfile"
build layers-legacy 0 "$ctx" "$ctx/Dockerfile"
# The cached rebuild: the last RUN edited (the Dockerfile stored beside it), everything before it cached.
sed 's/echo done/echo done again/' "$root/fixtures/daemon/layers/Dockerfile" >"$out/layers-rebuilt.Dockerfile"
cp "$out/layers-rebuilt.Dockerfile" "$ctx/Dockerfile.rebuilt"
build layers-buildkit-rebuilt 1 "$ctx" "$ctx/Dockerfile.rebuilt"
build layers-legacy-rebuilt 0 "$ctx" "$ctx/Dockerfile.rebuilt"
build from-stage-buildkit 1 "$ctx" "$out/from-stage.Dockerfile"
build from-stage-legacy 0 "$ctx" "$out/from-stage.Dockerfile"
