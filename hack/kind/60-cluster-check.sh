#!/bin/bash
# Prove the cluster gives the deployment what it needs: node Ready, CoreDNS, a Service routing to
# a pod, a PVC bound through local-path and writable by uid 50000, NetworkPolicy enforced, and the
# local Airflow image running `airflow version` as a pod; with worker nodes, pod traffic between
# them and a ReadWriteMany volume shared by two nodes. Fails loudly on any miss.
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
[ "$allowed" = CONNECTED ] && [ "$denied" = REFUSED ] && [ "$pvc" = Bound ] && [ "$written" = ok ] \
  && [ -n "$version" ] || { echo "cluster check FAILED"; exit 1; }

# With worker nodes: a pod on one worker reaches a pod on another (through the Service, so by
# DNS, routing and kube-proxy), and a shared-rwx volume written on one node is read on the other.
mapfile -t workers < <($K get nodes -l '!node-role.kubernetes.io/control-plane' -o name | sed 's#node/##')
if [ ${#workers[@]} -ge 2 ]; then
  on_node() {  # on_node NAME NODE CLAIM SCRIPT: a pod pinned to NODE, the claim mounted at /shared
    $K -n $NS apply -f - >/dev/null <<EOF
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "$1", "labels": {"role": "allowed"}},
 "spec": {"nodeName": "$2", "restartPolicy": "Never",
   "securityContext": {"runAsUser": 50000, "runAsGroup": 0},
   "containers": [{"name": "c", "image": "local/net:bookworm", "imagePullPolicy": "Never",
                   "command": ["bash", "-c", "$4"], "volumeMounts": [{"name": "s", "mountPath": "/shared"}]}],
   "volumes": [{"name": "s", "persistentVolumeClaim": {"claimName": "$3"}}]}}
EOF
  }
  $K -n $NS apply -f - >/dev/null <<EOF
{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "shared"},
 "spec": {"storageClassName": "shared-rwx", "accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}}}
EOF
  # the reader on another node than the server, the writer on another node than the reader
  server_node=$($K -n $NS get pod server -o jsonpath='{.spec.nodeName}')
  reader_node=${workers[0]}; [ "$reader_node" != "$server_node" ] || reader_node=${workers[1]}
  writer_node=${workers[0]}; [ "$writer_node" != "$reader_node" ] || writer_node=${workers[1]}
  on_node writer "$writer_node" shared 'hostname > /shared/from; echo ok'
  $K -n $NS wait --for=jsonpath='{.status.phase}'=Succeeded pod/writer --timeout=120s >/dev/null
  on_node reader "$reader_node" shared 'cat /shared/from; for i in $(seq 15); do timeout 3 bash -c \"exec 3<>/dev/tcp/server/5432 && head -1 <&3\" >/dev/null 2>&1 && { echo CONNECTED; exit; }; sleep 1; done; echo REFUSED'
  $K -n $NS wait --for=jsonpath='{.status.phase}'=Succeeded pod/reader --timeout=120s >/dev/null
  mapfile -t read_back < <($K -n $NS logs reader)
  echo "rwx (shared-rwx): written on $writer_node, read on $reader_node: ${read_back[0]:-nothing}"
  echo "pod network: $reader_node -> server on $server_node: ${read_back[1]:-nothing}"
  [ "${read_back[0]:-}" = writer ] && [ "${read_back[1]:-}" = CONNECTED ] || { echo "cluster check FAILED"; exit 1; }
fi
$K delete namespace $NS --wait=false >/dev/null
echo "cluster $CLUSTER_NAME: all checks passed"
