#!/bin/bash
# The kind node image: the base image + kubeadm/kubelet/kubectl + every image the control plane and
# kind's add-ons need, preloaded into the node's containerd under the exact names kubeadm and
# containerd look for. (`kind build node-image` insists on pulling what it did not build.)
source "$(dirname "$0")/lib.sh"
K8S_BIN=$BIN_DIR/k8s-$K8S_VERSION
inputs=$(cat "$0" "$HACK_DIR/lib.sh" | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{index .Config.Labels "flujo.inputs"}}' "$NODE_IMAGE" 2>/dev/null)" = "$inputs" ]; then
  log "$NODE_IMAGE cached"; exit 0; fi

# Two small bases: one with nothing but passwd/group/tmp for static binaries, one with the
# iptables/ipset tools kube-proxy, kube-router and the local-path helper exec.
if ! have_image "$STATIC_IMAGE"; then
  S=$(mktemp -d); mkdir -p "$S/etc" "$S/tmp"; chmod 1777 "$S/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' > "$S/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' > "$S/etc/group"
  tar -C "$S" -c . | docker import - "$STATIC_IMAGE"; rm -rf "$S"
fi
if ! have_image "$NET_IMAGE"; then
  R=$CACHE_DIR/rootfs/net; debootstrap_rootfs "$R" iptables nftables conntrack ipset iproute2
  tar -C "$R" -c . | docker import - "$NET_IMAGE"; rm -rf "$R"
fi

binary_image() {  # binary_image TAG BASE BINARY-PATH [DOCKERFILE-LINE...]
  local tag=$1 base=$2 bin=$3; shift 3; local ctx; ctx=$(mktemp -d)
  cp "$bin" "$ctx/"
  { echo "FROM $base"; echo "COPY $(basename "$bin") /usr/local/bin/"
    echo "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"; printf '%s\n' "$@"; } > "$ctx/Dockerfile"
  docker build -q -t "$tag" "$ctx" >/dev/null; rm -rf "$ctx"; log "image $tag"
}
for c in kube-apiserver kube-controller-manager kube-scheduler; do
  binary_image "registry.k8s.io/$c:$K8S_VERSION" "$STATIC_IMAGE" "$K8S_BIN/$c"; done
binary_image "registry.k8s.io/kube-proxy:$K8S_VERSION" "$NET_IMAGE" "$K8S_BIN/kube-proxy"
binary_image "registry.k8s.io/etcd:${ETCD_VERSION#v}-0" "$STATIC_IMAGE" "$BIN_DIR/etcd-$ETCD_VERSION/etcd"
binary_image "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" "$STATIC_IMAGE" \
  "$BIN_DIR/coredns-$COREDNS_VERSION/coredns" 'ENTRYPOINT ["/usr/local/bin/coredns"]'
binary_image "registry.k8s.io/pause:$PAUSE_VERSION" "$STATIC_IMAGE" "$K8S_BIN/pause" \
  'USER 65535:65535' 'ENTRYPOINT ["/usr/local/bin/pause"]'
docker tag "registry.k8s.io/pause:$PAUSE_VERSION" registry.k8s.io/pause:3.10   # containerd's sandbox_image
binary_image "$KUBE_ROUTER_IMAGE" "$NET_IMAGE" "$BIN_DIR/kube-router-$KUBE_ROUTER_VERSION/kube-router" \
  'ENTRYPOINT ["/usr/local/bin/kube-router"]'
binary_image "$LOCAL_PATH_IMAGE" "$STATIC_IMAGE" "$BIN_DIR/local-path-provisioner-$LOCAL_PATH_VERSION/local-path-provisioner"

B=flujo-kind-node-build
docker rm -f $B >/dev/null 2>&1 || true
docker run -d --name $B --entrypoint=sleep --security-opt seccomp=unconfined "$NODE_BASE_IMAGE" infinity >/dev/null
for f in kubeadm kubelet kubectl; do docker cp "$K8S_BIN/$f" "$B:/usr/bin/$f"; done
docker exec $B sh -c "printf %s $K8S_VERSION > /kind/version; mkdir -p /kind/manifests"
# kind's default StorageClass (local-path-provisioner, dirs made 0777 so uid 50000 can write),
# read from the kind module at build time with our image names put in.
awk '/^const defaultStorageManifest = `/{f=1;next} f&&/^`$/{f=0} f' "$(kind_module_dir)/pkg/build/nodeimage/const_storage.go" \
  | sed "s#\` + storageProvisionerImage + \`#$LOCAL_PATH_IMAGE#; s#\` + storageHelperImage + \`#$NET_IMAGE#" \
  > "$CACHE_DIR/default-storage.yaml"
grep -q "$LOCAL_PATH_IMAGE" "$CACHE_DIR/default-storage.yaml"
docker cp "$CACHE_DIR/default-storage.yaml" $B:/kind/manifests/default-storage.yaml
docker exec -d $B sh -c 'containerd > /tmp/containerd.log 2>&1'
for _ in $(seq 30); do docker exec $B ctr version >/dev/null 2>&1 && break; sleep 1; done
docker save "registry.k8s.io/kube-apiserver:$K8S_VERSION" "registry.k8s.io/kube-controller-manager:$K8S_VERSION" \
  "registry.k8s.io/kube-scheduler:$K8S_VERSION" "registry.k8s.io/kube-proxy:$K8S_VERSION" \
  "registry.k8s.io/etcd:${ETCD_VERSION#v}-0" "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" \
  "registry.k8s.io/pause:$PAUSE_VERSION" registry.k8s.io/pause:3.10 \
  "$LOCAL_PATH_IMAGE" "$NET_IMAGE" "$KUBE_ROUTER_IMAGE" \
  | docker exec -i $B ctr -n k8s.io images import --all-platforms --no-unpack --digests -
docker exec $B sh -c 'kill $(pidof containerd); sleep 2; rm -rf /tmp/*'
docker commit --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' \
  --change 'STOPSIGNAL SIGRTMIN+3' --change 'ENV container=docker' \
  --change "LABEL flujo.inputs=$inputs" $B "$NODE_IMAGE" >/dev/null
docker rm -f $B >/dev/null; log "node image $NODE_IMAGE ($(docker image inspect -f '{{.Size}}' "$NODE_IMAGE" | numfmt --to=iec))"
