# The ReadWriteMany StorageClass of the multi-node cluster (50-cluster.sh, KIND_WORKERS > 0): a
# second local-path-provisioner in its shared-filesystem mode, whose volumes are directories of
# ${SHARED_NODE_PATH}, the one host directory kind mounts into every node. A pod on any node sees
# the same files, as with NFS: a stand-in for a real RWX class (NFS, EFS, CephFS), which this
# kernel cannot mount (it has no NFS client). No quota, no fencing: for tests only.
apiVersion: v1
kind: Namespace
metadata: {name: shared-storage}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: shared-path-provisioner, namespace: shared-storage}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: shared-path-provisioner, namespace: shared-storage}
rules:
- apiGroups: [""]
  resources: [pods]                   # its helper pods make and remove the volume directories
  verbs: [get, list, watch, create, patch, update, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: shared-path-provisioner, namespace: shared-storage}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: shared-path-provisioner}
subjects: [{kind: ServiceAccount, name: shared-path-provisioner, namespace: shared-storage}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: shared-path-provisioner}
rules:
- apiGroups: [""]
  resources: [nodes, persistentvolumeclaims, configmaps, pods, pods/log]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [persistentvolumes]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [storage.k8s.io]
  resources: [storageclasses]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: shared-path-provisioner}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: shared-path-provisioner}
subjects: [{kind: ServiceAccount, name: shared-path-provisioner, namespace: shared-storage}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: shared-path-config, namespace: shared-storage}
data:
  config.json: '{"sharedFileSystemPath": "${SHARED_NODE_PATH}"}'
  # directories open to every uid, as the single node's class makes them (Airflow runs as 50000)
  setup: |-
    #!/bin/sh
    set -eu
    mkdir -m 0777 -p "$VOL_DIR"
  teardown: |-
    #!/bin/sh
    set -eu
    rm -rf "$VOL_DIR"
  helperPod.yaml: |-
    apiVersion: v1
    kind: Pod
    metadata: {name: shared-path-helper}
    spec:
      tolerations: [{operator: Exists}]
      containers: [{name: helper-pod, image: ${NET_IMAGE}, imagePullPolicy: IfNotPresent}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: shared-path-provisioner, namespace: shared-storage}
spec:
  selector: {matchLabels: {app: shared-path-provisioner}}
  template:
    metadata: {labels: {app: shared-path-provisioner}}
    spec:
      serviceAccountName: shared-path-provisioner
      tolerations: [{key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}]
      containers:
      - name: provisioner
        image: ${LOCAL_PATH_IMAGE}
        imagePullPolicy: IfNotPresent
        command: [local-path-provisioner, start, --provisioner-name, flujo.local/shared-path,
                  --configmap-name, shared-path-config, --service-account-name, shared-path-provisioner,
                  --helper-image, "${NET_IMAGE}", --config, /etc/config/config.json]
        env: [{name: POD_NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}]
        volumeMounts: [{name: config, mountPath: /etc/config/}]
      volumes: [{name: config, configMap: {name: shared-path-config}}]
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: shared-rwx}
provisioner: flujo.local/shared-path
volumeBindingMode: Immediate
reclaimPolicy: Delete
