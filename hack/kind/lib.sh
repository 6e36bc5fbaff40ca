# Shared settings for the offline kind build. Sourced by every hack/kind step.
# Every artefact lives under one cache directory, keyed by the versions below, so a second run
# reuses it; delete the directory (or one entry) to force a rebuild.
set -euo pipefail
KIND_VERSION=${KIND_VERSION:-v0.33.0}
K8S_VERSION=${K8S_VERSION:-v1.35.4}            # the only 1.35 patch the Go proxy serves here
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
COREDNS_VERSION=${COREDNS_VERSION:-v1.14.7}
LOCAL_PATH_VERSION=${LOCAL_PATH_VERSION:-v0.0.30}
KUBE_ROUTER_VERSION=${KUBE_ROUTER_VERSION:-v2.1.0}
PAUSE_VERSION=3.10.1
DEBIAN_SUITE=bookworm
CLUSTER_NAME=${CLUSTER_NAME:-flujo}

HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$HACK_DIR/../.." && pwd)
CACHE_DIR=${FLUJO_CACHE_DIR:-$HOME/.cache/flujo-kind}
BIN_DIR=$CACHE_DIR/bin                          # one file per tool, suffixed by its version
mkdir -p "$BIN_DIR"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-trimpath
export DOCKER_BUILDKIT=0                        # Debian's docker.io has no buildx; the legacy builder never pulls

# Image names. The control-plane ones are exactly what kubeadm and containerd look for.
NODE_BASE_IMAGE=local/kind-base:$DEBIAN_SUITE-$KIND_VERSION
NODE_IMAGE=local/kind-node:$K8S_VERSION
STATIC_IMAGE=local/static:1                     # passwd/group/tmp only, for static Go binaries
NET_IMAGE=local/net:$DEBIAN_SUITE               # minbase + iptables/ipset, for kube-proxy & kube-router
KUBE_ROUTER_IMAGE=local/kube-router:$KUBE_ROUTER_VERSION
LOCAL_PATH_IMAGE=local/local-path-provisioner:$LOCAL_PATH_VERSION

# The Debian mirror this machine already uses (no host name is written into the repo).
debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null \
    || awk '/^deb /{print $2; exit}' /etc/apt/sources.list
}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# step NAME CMD...: run a long step with its duration printed, its output kept in a log file.
step() {
  local name=$1; shift; local t0=$SECONDS logf="$CACHE_DIR/logs/$name.log"
  mkdir -p "$CACHE_DIR/logs"; log "$name: started (log: $logf)"
  if "$@" >"$logf" 2>&1; then log "$name: done in $((SECONDS - t0)) s"
  else log "$name: FAILED after $((SECONDS - t0)) s; last lines of $logf:"; tail -n 30 "$logf" >&2; return 1; fi
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

kind_module_dir() { go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" | jq -r .Dir; }

# debootstrap_rootfs DIR PACKAGES...: a minbase Debian tree with security updates, apt caches emptied.
debootstrap_rootfs() {
  local dir=$1; shift; local mirror; mirror=$(debian_mirror)
  rm -rf "$dir"; mkdir -p "$(dirname "$dir")"
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$dir" "$mirror"
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' > "$dir/usr/sbin/policy-rc.d"; chmod +x "$dir/usr/sbin/policy-rc.d"
  printf 'Acquire::Check-Valid-Until "false";\nAPT::Install-Recommends "false";\n' > "$dir/etc/apt/apt.conf.d/99flujo"
  if [ $# -gt 0 ]; then
    chroot "$dir" apt-get update -q
    chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
  fi
  rm -f "$dir/usr/sbin/policy-rc.d"
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/* "$dir"/usr/share/doc/* "$dir"/usr/share/man/*
}
