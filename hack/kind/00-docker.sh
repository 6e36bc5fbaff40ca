#!/bin/bash
# Docker engine from Debian, started without systemd. bookworm's docker.io 20.10 cannot run
# `--privileged` in this VM (no CAP_SYS_RESOURCE in the bounding set); trixie's 26.1.5 limits
# privileged capabilities to the daemon's own set, so kind's nodes start. containerd and runc
# stay at bookworm's versions (trixie's runc needs a newer libc).
source "$(dirname "$0")/lib.sh"
if ! command -v dockerd >/dev/null || ! dockerd --version | grep -qE 'version (2[6-9]|[3-9][0-9])'; then
  log "installing docker.io from trixie beside bookworm"
  if [ ! -f /etc/apt/sources.list.d/trixie.sources ]; then
    awk 'BEGIN{RS="";ORS="\n\n"} /Suites: bookworm bookworm-updates/' /etc/apt/sources.list.d/debian.sources \
      | sed 's/^Suites:.*/Suites: trixie/' > /etc/apt/sources.list.d/trixie.sources
    printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' > /etc/apt/preferences.d/trixie-low
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    docker.io/trixie containerd runc tini iptables debootstrap jq
fi
for tool in debootstrap jq; do command -v $tool >/dev/null || \
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $tool; done
# A packet for a Service IP leaves a kind node untranslated while kube-proxy has not written its
# rules yet, and one for the pod IP a stale endpoint still names goes out by the node's default
# route (a node starting again, as kind's nodes do with the daemon). This machine routes both out,
# where something answers HTTP 404, and the API server keeps that connection: KEDA's aggregated
# metrics API stayed unavailable after every Docker restart. Refused here, before the daemon
# starts, the connection is made again once kube-proxy and the endpoints are right. Only what
# leaves kind's bridge for another interface: pods of two nodes talk across the bridge itself.
# (DOCKER-USER is made here if missing; dockerd keeps the rules it holds.)
iptables -N DOCKER-USER 2>/dev/null || true
for cidr in 10.96.0.0/12 10.244.0.0/16; do   # kind's Service and pod subnets
  for rule in "-p tcp -j REJECT --reject-with tcp-reset" "! -p tcp -j REJECT"; do
    # shellcheck disable=SC2086  # the rule's words
    iptables -C DOCKER-USER -i br-+ ! -o br-+ -d $cidr $rule 2>/dev/null \
      || iptables -I DOCKER-USER -i br-+ ! -o br-+ -d $cidr $rule
  done
done
if ! docker info >/dev/null 2>&1; then
  # a daemon that is still stopping would refuse a second one; pid files left by a crash too
  for _ in $(seq 30); do pgrep -x dockerd >/dev/null || break; sleep 1; done
  pgrep -x dockerd >/dev/null || rm -f /var/run/docker.pid
  # the host's containerd answers on its socket (pgrep would also find the ones inside kind's nodes);
  # both daemons in a session of their own, so they outlive the shell or job that started them
  if ! timeout 5 ctr --address /run/containerd/containerd.sock version >/dev/null 2>&1; then
    setsid containerd >/var/log/containerd.log 2>&1 < /dev/null &
    for _ in $(seq 30); do timeout 5 ctr --address /run/containerd/containerd.sock version >/dev/null 2>&1 && break; sleep 1; done
  fi
  setsid dockerd --containerd=/run/containerd/containerd.sock >/var/log/dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
fi
# kind's known-issues page: many pods per node need more inotify instances than the default 128
sysctl -qw fs.inotify.max_user_instances=512 fs.inotify.max_user_watches=524288
docker info --format 'docker {{.ServerVersion}}, cgroup v{{.CgroupVersion}}, driver {{.Driver}}'
