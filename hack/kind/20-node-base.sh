#!/bin/bash
# kind's base image, assembled from Debian packages plus kind's own base files (entrypoint,
# systemd units, containerd config), read from the kind module in the Go module cache at build
# time. ≈ 5 min cold, ≈ 300 MB.
source "$(dirname "$0")/lib.sh"
have_image "$NODE_BASE_IMAGE" && { log "$NODE_BASE_IMAGE cached"; exit 0; }
R=$CACHE_DIR/rootfs/node-base; KF=$(kind_module_dir)/images/base/files
# kind's base package list, minus nfs/iscsi, plus Debian's containerd, runc and CNI plugins
debootstrap_rootfs "$R" systemd systemd-sysv dbus conntrack iptables nftables iproute2 ethtool \
  util-linux mount kmod libseccomp2 pigz fuse-overlayfs e2fsprogs bash ca-certificates curl jq \
  procps containerd runc containernetworking-plugins socat ipset
mkdir -p "$R/kind/bin" "$R/etc/containerd" "$R/etc/systemd/system/kubelet.service.d" "$R/opt/cni" \
  "$R/etc/kubernetes/manifests" "$R/etc/cni/net.d"
install -m755 "$KF"/usr/local/bin/* "$R/usr/local/bin/"
install -m755 "$KF"/kind/bin/* "$R/kind/bin/"
install -m644 "$KF/etc/crictl.yaml" "$R/etc/"
install -m644 "$KF/etc/default/kubelet" "$R/etc/default/"
install -m644 "$KF"/etc/sysctl.d/* "$R/etc/sysctl.d/"
install -m644 "$KF"/etc/systemd/system/*.service "$KF"/etc/systemd/system/*.slice "$R/etc/systemd/system/"
install -m644 "$KF"/etc/systemd/system/kubelet.service.d/* "$R/etc/systemd/system/kubelet.service.d/"
# This VM lacks CAP_SYS_RESOURCE, so containerd must not lower oom_score_adj. The key already
# exists in the cri table; flip it in place (a second table header would break the TOML).
sed 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' \
  "$KF/etc/containerd/config.toml" > "$R/etc/containerd/config.toml"
grep -q 'restrict_oom_score_adj = true' "$R/etc/containerd/config.toml"
# kind's units start /usr/local/bin/containerd; Debian puts CNI plugins in /usr/lib/cni
for b in containerd ctr containerd-shim-runc-v2; do ln -sf "/usr/bin/$b" "$R/usr/local/bin/$b"; done
ln -sfn /usr/lib/cni "$R/opt/cni/bin"
chroot "$R" sh -euc '
  find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
  rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \
        /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \
        /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
  echo ReadKMsg=no >> /etc/systemd/journald.conf
  systemctl enable kubelet.service containerd.service undo-mount-hacks.service
  systemctl mask systemd-binfmt.service'
chroot "$R" ctr oci spec | jq '.hooks.createContainer += [{"path": "/kind/bin/mount-product-files.sh"}]
  | del(.process.rlimits)' > "$R/etc/containerd/cri-base.json"
# Pod network without kindnetd (its module is not served here): a ptp + host-local conflist for
# the single node's /24 of kind's default pod subnet. NetworkPolicy comes from kube-router.
cat > "$R/etc/cni/net.d/10-ptp.conflist" <<'J'
{"cniVersion": "0.4.0", "name": "podnet", "plugins": [
  {"type": "ptp", "ipMasq": true, "mtu": 1500,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
J
tar -C "$R" -c . | docker import -c 'ENV container=docker' -c 'STOPSIGNAL SIGRTMIN+3' \
  -c 'ENTRYPOINT ["/usr/local/bin/entrypoint","/sbin/init"]' - "$NODE_BASE_IMAGE"
rm -rf "$R"
