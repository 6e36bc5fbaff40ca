#!/bin/bash
# Prove the cluster gives the deployment what it needs: node Ready, CoreDNS, a Service routing to
# a pod, a PVC bound through local-path and writable by uid 50000, NetworkPolicy enforced, and the
# local Airflow image running `airflow version` as a pod. Fails loudly on any miss.
source "$(dirname "$0")/lib.sh"
export PATH=$BIN_DIR/k8s-$K8S_VERSION:$PATH
K="kubectl --context kind-$CLUSTER_NAME"
NS=cluster-check
AIRFLOW_IMAGE=${AIRFLOW_IMAGE:-local/airflow:${AIRFLOW_VERSION:-3.3.2}}
$K wait --for=condition=Ready node --all --timeout=120s
$K delete namespace $NS --ignore-not-found --wait >/dev/null
$K apply -f "$HACK_DIR/cluster-check.yaml" >/dev/null
$K -n $NS wait --for=condition=Ready pod/server --timeout=120s
client() {  # client NAME LABEL: connect to the Service by DNS name, retrying while policy settles
  $K -n $NS run "$1" --restart=Never --image=local/net:bookworm --image-pull-policy=Never --labels="role=$2" -- \
    bash -c 'getent hosts server.cluster-check.svc.cluster.local >/dev/null || { echo NO-DNS; exit; }
      for i in $(seq 15); do timeout 3 bash -c "exec 3<>/dev/tcp/server/5432 && head -1 <&3" >/dev/null 2>&1 && { echo CONNECTED; exit; }; sleep 1; done
      echo REFUSED' >/dev/null
}
client allowed allowed; client denied other
$K -n $NS run airflow-version --restart=Never --image="$AIRFLOW_IMAGE" --image-pull-policy=Never \
  --command -- airflow version >/dev/null
$K -n $NS wait --for=jsonpath='{.status.phase}'=Succeeded pod/allowed pod/denied pod/airflow-version --timeout=180s
allowed=$($K -n $NS logs allowed | tail -1); denied=$($K -n $NS logs denied | tail -1)
version=$($K -n $NS logs airflow-version | tail -1)
pvc=$($K -n $NS get pvc data -o jsonpath='{.status.phase}')
written=$($K -n $NS exec server -- cat /data/probe)
echo "service+dns (allowed client): $allowed"
echo "networkpolicy (unlabelled client): $denied"
echo "pvc: $pvc, written by uid 50000: $written"
echo "airflow version in a pod of $AIRFLOW_IMAGE: $version"
$K delete namespace $NS --wait=false >/dev/null
[ "$allowed" = CONNECTED ] && [ "$denied" = REFUSED ] && [ "$pvc" = Bound ] && [ "$written" = ok ] \
  && [ -n "$version" ] || { echo "cluster check FAILED"; exit 1; }
echo "cluster $CLUSTER_NAME: all checks passed"
