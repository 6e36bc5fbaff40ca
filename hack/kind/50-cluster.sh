#!/bin/bash
# Create the kind cluster from the local node image, add kube-router for NetworkPolicy, and load
# the application images. Idempotent: an existing cluster of that name is kept.
source "$(dirname "$0")/lib.sh"
export PATH=$BIN_DIR/kind-$KIND_VERSION:$BIN_DIR/k8s-$K8S_VERSION:$PATH
export NODE_IMAGE KUBE_ROUTER_IMAGE COREDNS_VERSION ETCD_TAG=${ETCD_VERSION#v}-0
export UI_NODE_PORT=${UI_NODE_PORT:-30080} UI_HOST_PORT=${UI_HOST_PORT:-8080}
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
  log "cluster $CLUSTER_NAME exists"
else
  envsubst < "$HACK_DIR/kind-config.yaml.tpl" > "$CACHE_DIR/kind-config.yaml"
  t0=$SECONDS; kind create cluster --name "$CLUSTER_NAME" --config "$CACHE_DIR/kind-config.yaml" --wait 4m
  log "kind create cluster: $((SECONDS - t0)) s"
fi
kubectl config use-context "kind-$CLUSTER_NAME" >/dev/null
envsubst < "$HACK_DIR/kube-router.yaml.tpl" | kubectl apply -f - >/dev/null
kubectl -n kube-system rollout status ds/kube-router --timeout=180s
kubectl -n kube-system rollout status deploy/coredns --timeout=180s
# application images: whatever local/* images were built (Airflow versions, PostgreSQL, Redis)
mapfile -t apps < <(docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^local/(airflow|postgres|redis):' | sort)
[ ${#apps[@]} -gt 0 ] && kind load docker-image --name "$CLUSTER_NAME" "${apps[@]}"
log "cluster $CLUSTER_NAME ready; kubectl context kind-$CLUSTER_NAME; images: ${apps[*]}"
