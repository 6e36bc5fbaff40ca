#!/bin/bash
# Create the kind cluster from the local node image, add kube-router for NetworkPolicy, and load
# the application images. Idempotent: an existing healthy cluster of that name is kept.
# KIND_WORKERS=N adds N worker nodes (`make cluster-multinode`), and what one node never needed:
# kube-router as the pod network between nodes, and a ReadWriteMany StorageClass (shared-rwx) on one
# host directory mounted into every node, a stand-in for NFS/EFS/CephFS (this kernel has no NFS
# client, so no real NFS server or provisioner can be mounted from).
source "$(dirname "$0")/lib.sh"
export PATH=$BIN_DIR/kind-$KIND_VERSION:$BIN_DIR/k8s-$K8S_VERSION:$PATH
export NODE_IMAGE KUBE_ROUTER_IMAGE COREDNS_VERSION ETCD_TAG=${ETCD_VERSION#v}-0
export UI_NODE_PORT=${UI_NODE_PORT:-30080} UI_HOST_PORT=${UI_HOST_PORT:-8080}
KIND_WORKERS=${KIND_WORKERS:-0}
export SHARED_DIR=${SHARED_DIR:-$CACHE_DIR/shared/$CLUSTER_NAME} SHARED_NODE_PATH=/var/local/flujo-shared
export LOCAL_PATH_IMAGE NET_IMAGE
K="kubectl --context kind-$CLUSTER_NAME"

node_entry() {  # node_entry ROLE: a worker's entry in the kind config, or the control plane's mount
  [ "$1" = worker ] && printf -- '- role: worker\n  image: %s\n' "$NODE_IMAGE"
  printf '  extraMounts:\n  - {hostPath: %s, containerPath: %s}\n' "$SHARED_DIR" "$SHARED_NODE_PATH"
}

create_cluster() {
  export SHARED_MOUNT="" WORKER_NODES=""
  if [ "$KIND_WORKERS" -gt 0 ]; then
    mkdir -p "$SHARED_DIR"; chmod 0777 "$SHARED_DIR"
    SHARED_MOUNT=$(node_entry control-plane)
    for _ in $(seq "$KIND_WORKERS"); do WORKER_NODES+="$(node_entry worker)"$'\n'; done
  fi
  envsubst < "$HACK_DIR/kind-config.yaml.tpl" > "$CACHE_DIR/kind-config-$CLUSTER_NAME.yaml"
  local t0=$SECONDS; kind create cluster --name "$CLUSTER_NAME" --config "$CACHE_DIR/kind-config-$CLUSTER_NAME.yaml" --wait 4m
  log "kind create cluster: $((SECONDS - t0)) s"
}

# A new node of a multi-node cluster gets kube-router's bridge conflist instead of the image's ptp
# one (whose single /24 every node would hand out); kube-router adds the node's podCIDR to it when
# it starts. Pods started on the ptp network (CoreDNS, local-path) are restarted onto the new one.
bridge_cni() {
  local node; SWITCHED=0
  for node in $(kind get nodes --name "$CLUSTER_NAME"); do
    docker exec "$node" test -f /etc/cni/net.d/10-ptp.conflist || continue
    docker exec -i "$node" sh -c 'cat > /etc/cni/net.d/10-kuberouter.conflist && rm /etc/cni/net.d/10-ptp.conflist' <<'J'
{"cniVersion": "0.3.0", "name": "kubernetes", "plugins": [
  {"type": "bridge", "bridge": "kube-bridge", "isDefaultGateway": true, "hairpinMode": true, "ipam": {"type": "host-local"}},
  {"type": "portmap", "capabilities": {"portMappings": true, "snat": true}}]}
J
    SWITCHED=1
  done
}

# api_ready SECONDS: poll the API server's /readyz until it answers or the time is up.
api_ready() {
  local deadline=$((SECONDS + $1))
  until kubectl --context "kind-$CLUSTER_NAME" get --raw /readyz >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1; sleep 3
  done
}

# The cluster's node containers, found by kind's label. (Not `kind get clusters | grep -q`: with two
# clusters, grep could stop reading before kind wrote the second name, and under pipefail kind's
# broken pipe made an existing cluster look absent, so `kind create` failed on it.)
node_containers=$(docker ps -aq --filter "label=io.x-k8s.kind.cluster=$CLUSTER_NAME")
if [ -n "$node_containers" ]; then
  # A cluster left from an earlier run: after a Docker (or machine) restart its node container is
  # starting again or stopped, and its API answers only some seconds later. Wait for it; a cluster
  # that does not come back is recreated (its images are cached, so this costs about a minute).
  log "cluster $CLUSTER_NAME exists; waiting for its API server"
  # shellcheck disable=SC2086  # one container ID per word
  docker start $node_containers >/dev/null
  kind export kubeconfig --name "$CLUSTER_NAME" >/dev/null 2>&1
  t0=$SECONDS
  if api_ready 180; then
    log "API server ready after $((SECONDS - t0)) s"
  else
    log "API server of $CLUSTER_NAME not ready after $((SECONDS - t0)) s: recreating the cluster"
    kind delete cluster --name "$CLUSTER_NAME"
    create_cluster
  fi
else
  create_cluster
fi
kubectl config use-context "kind-$CLUSTER_NAME" >/dev/null
$K wait --for=condition=Ready node --all --timeout=180s >/dev/null
export KUBE_ROUTER_ARGS="--run-router=false, --run-firewall=true, --run-service-proxy=false"
if [ "$KIND_WORKERS" -gt 0 ]; then
  KUBE_ROUTER_ARGS="--run-router=true, --enable-cni=true, --run-firewall=true, --run-service-proxy=false"
  bridge_cni
fi
envsubst < "$HACK_DIR/kube-router.yaml.tpl" | $K apply -f - >/dev/null
$K -n kube-system rollout status ds/kube-router --timeout=180s
if [ "$KIND_WORKERS" -gt 0 ]; then
  if [ "$SWITCHED" = 1 ]; then
    $K -n kube-system rollout restart deploy/coredns >/dev/null
    $K -n local-path-storage rollout restart deploy/local-path-provisioner >/dev/null
  fi
  # only these names: the helper scripts' own $VOL_DIR stays as it is
  envsubst '$SHARED_NODE_PATH $NET_IMAGE $LOCAL_PATH_IMAGE' < "$HACK_DIR/shared-storage.yaml.tpl" | $K apply -f - >/dev/null
  $K -n shared-storage rollout status deploy/shared-path-provisioner --timeout=180s
fi
$K -n kube-system rollout status deploy/coredns --timeout=180s
# application images: whatever local/* images were built (Airflow versions, PostgreSQL, Redis, add-ons)
mapfile -t apps < <(docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^local/(airflow|postgres|redis|openldap|pgbouncer|git-server|statsd-exporter|seaweedfs|keda|keda-adapter):' | sort)
[ ${#apps[@]} -gt 0 ] && kind load docker-image --name "$CLUSTER_NAME" "${apps[@]}"
log "cluster $CLUSTER_NAME ready; kubectl context kind-$CLUSTER_NAME; images: ${apps[*]}"
