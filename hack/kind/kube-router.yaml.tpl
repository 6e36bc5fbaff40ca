# kube-router as the NetworkPolicy enforcer (iptables + ipset; this kernel lacks NFT_QUEUE, which
# kindnetd's policy engine needs). On one node pod networking stays with the node's ptp CNI; with
# worker nodes (KUBE_ROUTER_ARGS from 50-cluster.sh) kube-router is the pod network as well: it
# writes each node's podCIDR into the bridge conflist 50-cluster.sh put there and routes the other
# nodes' podCIDRs to them.
apiVersion: v1
kind: ServiceAccount
metadata: {name: kube-router, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kube-router}
rules:
- apiGroups: [""]
  resources: [namespaces, pods, services, nodes, endpoints]
  verbs: [list, get, watch]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [list, get, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, get, watch]
- apiGroups: [""]
  resources: [nodes]
  verbs: [patch, update]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, create, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kube-router}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kube-router}
subjects: [{kind: ServiceAccount, name: kube-router, namespace: kube-system}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kube-router, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: kube-router}}
  template:
    metadata: {labels: {k8s-app: kube-router}}
    spec:
      serviceAccountName: kube-router
      hostNetwork: true
      tolerations: [{operator: Exists}]
      containers:
      - name: kube-router
        image: ${KUBE_ROUTER_IMAGE}
        imagePullPolicy: Never
        args: [${KUBE_ROUTER_ARGS}]
        env:
        - {name: NODE_NAME, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
        - {name: KUBE_ROUTER_CNI_CONF_FILE, value: /etc/cni/net.d/10-kuberouter.conflist}
        securityContext: {privileged: true}
        volumeMounts:
        - {name: lib-modules, mountPath: /lib/modules, readOnly: true}
        - {name: xtables-lock, mountPath: /run/xtables.lock}
        - {name: cni-conf, mountPath: /etc/cni/net.d}
      volumes:
      - {name: lib-modules, hostPath: {path: /lib/modules}}
      - {name: xtables-lock, hostPath: {path: /run/xtables.lock, type: FileOrCreate}}
      - {name: cni-conf, hostPath: {path: /etc/cni/net.d}}
