#!/bin/bash
# Create the kind cluster from the local node image, add kube-router for NetworkPolicy, and load
# the application images. Idempotent: an existing healthy cluster of that name is kept.
source "$(dirname "$0")/lib.sh"
export PATH=$BIN_DIR/kind-$KIND_VERSION:$BIN_DIR/k8s-$K8S_VERSION:$PATH
export NODE_IMAGE KUBE_ROUTER_IMAGE COREDNS_VERSION ETCD_TAG=${ETCD_VERSION#v}-0
export UI_NODE_PORT=${UI_NODE_PORT:-30080} UI_HOST_PORT=${UI_HOST_PORT:-8080}
create_cluster() {
  envsubst < "$HACK_DIR/kind-config.yaml.tpl" > "$CACHE_DIR/kind-config.yaml"
  local t0=$SECONDS; kind create cluster --name "$CLUSTER_NAME" --config "$CACHE_DIR/kind-config.yaml" --wait 4m
  log "kind create cluster: $((SECONDS - t0)) s"
}

# api_ready SECONDS: poll the API server's /readyz until it answers or the time is up.
api_ready() {
  local deadline=$((SECONDS + $1))
  until kubectl --context "kind-$CLUSTER_NAME" get --raw /readyz >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1; sleep 3
  done
}

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
  # A cluster left from an earlier run: after a Docker (or machine) restart its node container is
  # starting again or stopped, and its API answers only some seconds later. Wait for it; a cluster
  # that does not come back is recreated (its images are cached, so this costs about a minute).
  log "cluster $CLUSTER_NAME exists; waiting for its API server"
  docker start "$CLUSTER_NAME-control-plane" >/dev/null
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
kubectl wait --for=condition=Ready node --all --timeout=180s >/dev/null
envsubst < "$HACK_DIR/kube-router.yaml.tpl" | kubectl apply -f - >/dev/null
kubectl -n kube-system rollout status ds/kube-router --timeout=180s
kubectl -n kube-system rollout status deploy/coredns --timeout=180s
# application images: whatever local/* images were built (Airflow versions, PostgreSQL, Redis, add-ons)
mapfile -t apps < <(docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^local/(airflow|postgres|redis|openldap|pgbouncer|statsd-exporter|seaweedfs|keda|keda-adapter):' | sort)
[ ${#apps[@]} -gt 0 ] && kind load docker-image --name "$CLUSTER_NAME" "${apps[@]}"
log "cluster $CLUSTER_NAME ready; kubectl context kind-$CLUSTER_NAME; images: ${apps[*]}"
