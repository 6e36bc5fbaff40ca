#!/bin/bash
# Every Kubernetes-side binary, compiled from the Go module proxy (no release downloads, no
# registry). Each tool lands in $BIN_DIR/<tool>-<version>/ and is skipped when already there.
# Measured cold on 2 cores: k8s ≈ 17 min, CoreDNS ≈ 7.5 min, the rest 1–4 min each.
source "$(dirname "$0")/lib.sh"
K8S_CMDS="kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubeadm kubectl"

built() { [ -f "$BIN_DIR/$1/.done" ]; }
mark() { touch "$BIN_DIR/$1/.done"; log "built $1"; }

build_kind() {
  local out=$BIN_DIR/kind-$KIND_VERSION; built "kind-$KIND_VERSION" && return
  mkdir -p "$out"; GOBIN=$out go install "sigs.k8s.io/kind@$KIND_VERSION"; mark "kind-$KIND_VERSION"
}

# k8s.io/kubernetes points its k8s.io/* staging modules at ./staging/..., which a dependent
# module cannot see: a wrapper module replaces each one with its published v0.<minor>.<patch>.
build_kubernetes() {
  local out=$BIN_DIR/k8s-$K8S_VERSION src=$CACHE_DIR/src/k8s-$K8S_VERSION
  built "k8s-$K8S_VERSION" && return
  mkdir -p "$out" "$src"; cd "$src"
  local staging=v0.${K8S_VERSION#v1.} gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | jq -r .GoMod)
  {
    printf 'module local/k8sbuild\n\ngo 1.25.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$K8S_VERSION"
    awk -v v="$staging" '$1 ~ /^k8s.io\// && $2 == "=>" && $3 ~ /^\.\/staging/ {print "\t" $1 " => " $1 " " v}' "$gomod"
    printf ')\n'
  } > go.mod
  { printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for c in $K8S_CMDS; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done; printf ')\n'; } > tools.go
  go mod tidy
  # kubeadm refuses a version skew with binaries that call themselves v0.0.0-master
  local minor ldflags="-s -w" now; minor=$(cut -d. -f2 <<<"$K8S_VERSION"); now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ldflags+=" -X $p.gitTreeState=clean -X $p.gitCommit=0000000000000000000000000000000000000000 -X $p.buildDate=$now"
  done
  go build -ldflags "$ldflags" -o "$out/" $(for c in $K8S_CMDS; do echo "k8s.io/kubernetes/cmd/$c"; done)
  # pause: the C source shipped inside the k8s module, compiled statically
  gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION" -o "$out/pause" \
    "$(go env GOMODCACHE)/k8s.io/kubernetes@$K8S_VERSION/build/pause/linux/pause.c"
  strip "$out/pause"; mark "k8s-$K8S_VERSION"
}

# etcd's server module replaces its sibling modules with ../ paths, so `go install` refuses it;
# required from a wrapper module it builds.
build_etcd() {
  local out=$BIN_DIR/etcd-$ETCD_VERSION src=$CACHE_DIR/src/etcd-$ETCD_VERSION
  built "etcd-$ETCD_VERSION" && return
  mkdir -p "$out" "$src"; cd "$src"; [ -f go.mod ] || go mod init local/etcdbuild
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go build -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3; mark "etcd-$ETCD_VERSION"
}

go_install() {  # go_install NAME VERSION PACKAGE
  local out=$BIN_DIR/$1-$2; built "$1-$2" && return
  mkdir -p "$out"; GOBIN=$out go install -ldflags "-s -w" "$3@$2"; mark "$1-$2"
}

build_kind
build_kubernetes
build_etcd
go_install coredns "$COREDNS_VERSION" github.com/coredns/coredns
go_install local-path-provisioner "$LOCAL_PATH_VERSION" github.com/rancher/local-path-provisioner
go_install kube-router "$KUBE_ROUTER_VERSION" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router
"$BIN_DIR/k8s-$K8S_VERSION/kubeadm" version -o short
