# One control-plane node, plus KIND_WORKERS worker nodes with the shared directory mounted in every
# node (50-cluster.sh fills WORKER_NODES and SHARED_MOUNT; both are empty for one node). No default
# CNI (the node image carries a ptp conflist for one node; kindnetd is not buildable here), and the
# patches this VM needs: containerd must not lower oom_score_adj (no CAP_SYS_RESOURCE), kubelet
# allowed on cgroup v1, and the etcd/CoreDNS tags actually built (kubeadm 1.35.4 asks for versions
# the Go proxy does not serve).
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  disableDefaultCNI: true
nodes:
- role: control-plane
  image: ${NODE_IMAGE}
  # the api-server Service is a NodePort on kind: this makes the UI reachable from the host
  extraPortMappings:
  - containerPort: ${UI_NODE_PORT}
    hostPort: ${UI_HOST_PORT}
    listenAddress: "127.0.0.1"
${SHARED_MOUNT}
${WORKER_NODES}
containerdConfigPatches:
- |-
  [plugins."io.containerd.grpc.v1.cri"]
    restrict_oom_score_adj = true
kubeadmConfigPatches:
- |
  kind: KubeletConfiguration
  failCgroupV1: false
- |
  kind: ClusterConfiguration
  etcd:
    local:
      imageTag: ${ETCD_TAG}
  dns:
    imageTag: ${COREDNS_VERSION}
