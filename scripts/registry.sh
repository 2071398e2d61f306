#!/usr/bin/env bash
# Private OCI registries (Debian's docker-registry, distribution 2.8) for the registry tests (issue 17).
#
#   eval "$(scripts/registry.sh start DIR)"   # both variants under DIR (fresh temp dir if omitted):
#                                             #   A plain http, anonymous;  B TLS (own CA) + htpasswd basic auth
#                                             # prints `export BUILDLENS_REGISTRY_...=...` lines
#   BUILDLENS_REGISTRY_TESTS=1 cargo test --test registry_roundtrip -- --include-ignored
#   scripts/registry.sh stop DIR              # stops only the registries whose pids start recorded in DIR
#   scripts/registry.sh one plain|tls DIR [PORT]
#                                             # one registry in DIR (storage DIR/storage, reused when there):
#                                             # prints `ADDRESS PID`; the kill-mid-push test restarts with it
#
# Each registry listens on 127.0.0.1 only, on a free port, with its config, storage and log in its folder.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

REGISTRY_BIN="${BUILDLENS_REGISTRY_BIN:-/usr/bin/docker-registry}"
USER_NAME="buildlens"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# `make_ca DIR`: a self-signed CA and a server certificate for 127.0.0.1/localhost signed by it.
make_ca() {
  local tls="$1/tls"
  [ -s "$tls/server.pem" ] && return 0
  mkdir -p "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=buildlens test CA" \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$tls/ext.cnf"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
    -extfile "$tls/ext.cnf" -out "$tls/server.pem" 2>/dev/null
}

# `make_htpasswd DIR`: user buildlens with a random password (bcrypt), kept in DIR/password.
make_htpasswd() {
  local dir="$1"
  [ -s "$dir/htpasswd" ] && return 0
  command -v htpasswd >/dev/null || apt_install_missing apache2-utils
  head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$dir/password"
  htpasswd -B -b -c "$dir/htpasswd" "$USER_NAME" "$(cat "$dir/password")" 2>/dev/null
}

# `write_config KIND DIR PORT`
write_config() {
  local kind="$1" dir="$2" port="$3"
  {
    printf 'version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n'
    printf 'storage:\n  filesystem:\n    rootdirectory: %s/storage\n  delete:\n    enabled: true\n' "$dir"
    printf '  maintenance:\n    uploadpurging:\n      enabled: false\n'
    printf 'http:\n  addr: 127.0.0.1:%s\n  secret: buildlens-test-secret\n' "$port"
    if [ "$kind" = tls ]; then
      printf '  tls:\n    certificate: %s/tls/server.pem\n    key: %s/tls/server.key\n' "$dir" "$dir"
      printf 'auth:\n  htpasswd:\n    realm: buildlens-test\n    path: %s/htpasswd\n' "$dir"
    fi
  } >"$dir/config.yml"
}

ready() {
  local kind="$1" port="$2" dir="$3"
  if [ "$kind" = tls ]; then
    # 401 without credentials: the registry answers.
    curl -s -o /dev/null -w '%{http_code}' --cacert "$dir/tls/ca.pem" "https://127.0.0.1:$port/v2/" | grep -q 401
  else
    curl -sf -o /dev/null "http://127.0.0.1:$port/v2/"
  fi
}

# `start_one KIND DIR [PORT]`: prints `127.0.0.1:PORT PID`.
start_one() {
  local kind="$1" dir="$2" port="${3:-}" pid
  [ -x "$REGISTRY_BIN" ] || apt_install_missing docker-registry
  mkdir -p "$dir/storage"
  [ -n "$port" ] || port="$(free_port)"
  if [ "$kind" = tls ]; then
    make_ca "$dir"
    make_htpasswd "$dir"
  fi
  write_config "$kind" "$dir" "$port"
  "$REGISTRY_BIN" serve "$dir/config.yml" >>"$dir/registry.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/pid"
  if ! poll_until 20 ready "$kind" "$port" "$dir"; then
    kill "$pid" 2>/dev/null || true
    tail -n 5 "$dir/registry.log" >&2 || true
    die "the $kind registry in $dir did not answer on 127.0.0.1:$port"
  fi
  echo "127.0.0.1:$port $pid"
}

stop_dir() {
  local pidfile pid
  for pidfile in "$1"/plain/pid "$1"/tls/pid "$1"/pid; do
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    # Only a docker-registry process we started (the pid file is ours; the command line says which).
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "serve $(dirname "$pidfile")/config.yml"; then
      kill "$pid" 2>/dev/null || true
      poll_until 10 pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
}

case "${1:-}" in
  start)
    dir="${2:-$(mktemp -d /tmp/buildlens-registry.XXXXXX)}"
    mkdir -p "$dir/plain" "$dir/tls"
    read -r plain _ < <(start_one plain "$dir/plain")
    read -r tls _ < <(start_one tls "$dir/tls") || { stop_dir "$dir"; exit 1; }
    echo "export BUILDLENS_REGISTRY_TESTS=1"
    echo "export BUILDLENS_REGISTRY_DIR=$dir"
    echo "export BUILDLENS_REGISTRY_PLAIN=$plain"
    echo "export BUILDLENS_REGISTRY_TLS=$tls"
    echo "export BUILDLENS_REGISTRY_CA=$dir/tls/tls/ca.pem"
    echo "export BUILDLENS_REGISTRY_USER=$USER_NAME"
    echo "export BUILDLENS_REGISTRY_PASSWORD=$(cat "$dir/tls/password")"
    ;;
  one)
    [ $# -ge 3 ] || die "usage: $0 one plain|tls DIR [PORT]"
    start_one "$2" "$3" "${4:-}"
    ;;
  stop)
    [ -n "${2:-}" ] || die "usage: $0 stop DIR"
    stop_dir "$2"
    ;;
  *)
    die "usage: $0 start [DIR] | stop DIR | one plain|tls DIR [PORT]"
    ;;
esac
