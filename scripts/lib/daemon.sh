# shellcheck shell=bash
# A private Docker engine and podman for the daemon tests: start Debian's dockerd (with its own containerd)
# under a state folder of ours, import the busybox base image, stop only the pids we recorded.
# See ../shared/docs/real-parts.md "Docker engine" and "Podman". Needs scripts/lib/common.sh sourced first.
#
# Layout of a state folder D (default: a fresh mktemp folder, so two runs never share a daemon):
#   D/docker.sock  dockerd's API socket (DOCKER_HOST=unix://D/docker.sock)
#   D/dockerd.ourpid D/containerd.ourpid   pids we started (and the only ones we ever stop)
#   D/data D/exec D/containerd/      dockerd --data-root / --exec-root, containerd root+state
#   D/dockerd.log D/containerd.log   their output (printed when a start fails)

# The Debian 20.10 client: BuildKit v0.8 plain/tty and the legacy builder (real-parts.md).
BUILDLENS_DOCKER_CLI="${BUILDLENS_DOCKER_CLI:-/usr/bin/docker}"
BUILDLENS_BASE_IMAGE="fixture-base:latest"

daemon_packages() { echo docker.io containerd runc busybox-static podman curl util-linux; }

# A busybox-static root filesystem: bin/busybox plus a symlink per applet (sh, echo, sleep, cat, ...).
make_busybox_rootfs() {
  local root="$1" applet busybox
  busybox="$(command -v busybox || echo /bin/busybox)"
  file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || [ ! -x /usr/bin/file ] ||
    die "$busybox is not static (install busybox-static)"
  mkdir -p "$root/bin" "$root/etc" "$root/root" "$root/tmp" "$root/dev" "$root/proc" "$root/sys"
  chmod 1777 "$root/tmp"
  cp "$busybox" "$root/bin/busybox"
  for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}

# Tar of the rootfs on stdout, owned by root whoever runs the script.
busybox_rootfs_tar() {
  local tmp
  tmp="$(mktemp -d)"
  make_busybox_rootfs "$tmp/rootfs"
  tar --numeric-owner --owner=0 --group=0 -C "$tmp/rootfs" -c .
  rm -rf "$tmp"
}

docker_ping() { curl -fsS --max-time 2 --unix-socket "$1" http://localhost/_ping 2>/dev/null | grep -q OK; }
socket_exists() { [ -S "$1" ]; }

# Our pid only if it is still the process we started (the pid file may outlive it and the pid be reused).
daemon_pid_of() {
  local dir="$1" name="$2" pid
  pid="$(cat "$dir/$name.ourpid" 2>/dev/null)" || return 0
  [ -n "$pid" ] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- "$dir" && echo "$pid"
  return 0
}

# Start containerd then dockerd under DIR; on success export DOCKER_HOST. Returns non-zero (after printing the
# daemon's log) when the API does not answer within the deadline.
docker_start() {
  local dir="$1"
  mkdir -p "$dir/data" "$dir/exec" "$dir/containerd"
  command -v dockerd >/dev/null || die "dockerd not found (apt-get install docker.io)"
  containerd_start "$dir" || return 1
  echo '{}' >"$dir/daemon.json" # never read /etc/docker/daemon.json: its hosts/options are not ours
  dockerd --config-file "$dir/daemon.json" --host "unix://$dir/docker.sock" --data-root "$dir/data" \
    --exec-root "$dir/exec" --pidfile "$dir/exec/dockerd.pid" --containerd "$dir/containerd/containerd.sock" \
    --storage-driver=vfs --bridge=none --iptables=false --ip-masq=false --ip-forward=false \
    --userland-proxy=false >"$dir/dockerd.log" 2>&1 &
  echo $! >"$dir/dockerd.ourpid"
  if ! poll_until 60 alive_and "$!" docker_ping "$dir/docker.sock"; then
    warn "dockerd did not answer on $dir/docker.sock within 60s; its log:"
    tail -n 30 "$dir/dockerd.log" >&2
    return 1
  fi
  export DOCKER_HOST="unix://$dir/docker.sock"
  log "dockerd $(dockerd --version | awk '{print $3}' | tr -d ,) up: DOCKER_HOST=$DOCKER_HOST (pid $(cat "$dir/dockerd.ourpid"))"
}

# dockerd would share a system containerd whenever /run/containerd/containerd.sock merely exists
# (moby 20.10 cmd/dockerd/daemon.go systemContainerdRunning), so it gets one of its own.
containerd_start() {
  local dir="$1" c="$1/containerd"
  cat >"$c/config.toml" <<TOML
version = 2
root = "$c/root"
state = "$c/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$c/containerd.sock"
[ttrpc]
  address = "$c/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$c/opt"
TOML
  containerd --config "$c/config.toml" >"$dir/containerd.log" 2>&1 &
  echo $! >"$dir/containerd.ourpid"
  if ! poll_until 30 alive_and "$!" socket_exists "$c/containerd.sock"; then
    warn "containerd did not create $c/containerd.sock within 30s; its log:"
    tail -n 30 "$dir/containerd.log" >&2
    return 1
  fi
}

# Stop what docker_start started in DIR (dockerd first: it stops its containers), then remove DIR.
docker_stop() {
  local dir="$1"
  [ -d "$dir" ] || return 0
  stop_pid "$(daemon_pid_of "$dir" dockerd)" dockerd 30
  stop_pid "$(daemon_pid_of "$dir" containerd)" containerd 15
  # vfs layers may hold read-only dirs; anything still mounted under DIR (a crashed container) is unmounted first.
  { grep -o " $dir/[^ ]*" /proc/mounts 2>/dev/null || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  chmod -R u+w "$dir" 2>/dev/null || true
  rm -rf "$dir" || warn "could not remove $dir"
}

# Import the busybox rootfs as fixture-base:latest into the dockerd at DOCKER_HOST.
docker_import_base() {
  busybox_rootfs_tar | "$BUILDLENS_DOCKER_CLI" import - "$BUILDLENS_BASE_IMAGE" >/dev/null
  log "imported $BUILDLENS_BASE_IMAGE into dockerd"
}

# Podman (root, default storage) gets the same image as localhost/fixture-base:latest; `FROM fixture-base`
# resolves to it. Imported only when missing, so repeated runs leave no dangling copies.
podman_import_base() {
  command -v podman >/dev/null || die "podman not found (apt-get install podman)"
  if podman image exists "localhost/$BUILDLENS_BASE_IMAGE" && [ -z "${BUILDLENS_REIMPORT:-}" ]; then
    log "podman already has localhost/$BUILDLENS_BASE_IMAGE"
    return 0
  fi
  busybox_rootfs_tar | podman import - "$BUILDLENS_BASE_IMAGE" >/dev/null
  log "imported localhost/$BUILDLENS_BASE_IMAGE into podman"
}

# Remove what our podman builds left in the shared default storage, and nothing else: the given tags and
# every image id the given podman logs print (`--> <id>`, `--> Using cache <id>`), one by one, without -f
# (an image someone else still uses stays).
podman_remove_built() {
  local arg ids=()
  for arg in "$@"; do
    if [ -f "$arg" ]; then
      mapfile -t -O "${#ids[@]}" ids < <(grep -aoE '^--> (Using cache )?[0-9a-f]{11,64}' "$arg" | awk '{print $NF}')
    else
      ids+=("$arg")
    fi
  done
  for arg in "${ids[@]}"; do
    podman rmi "$arg" >/dev/null 2>&1 || true
  done
}
