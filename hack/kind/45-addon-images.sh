#!/bin/bash
# Images of the Go programs that run beside Airflow: the StatsD exporter that turns Airflow's
# metrics into a Prometheus endpoint (roles/airflow_metrics), and, for the remote logging test only
# (tests/integration/test_remote_logging.py), SeaweedFS, an S3-compatible store (Apache-2.0; not
# MinIO, whose AGPL we avoid), and, for the worker autoscaling test only (tests/integration/
# test_autoscaling.py), KEDA's operator and metrics API server. Compiled from the Go module proxy like 10-go-builds.sh, put over the
# static base of 40-node-image.sh; a binary or image that is there already is kept. (Its own file:
# lib.sh and 40's inputs name the node image's cache key.)
source "$(dirname "$0")/lib.sh"
STATSD_EXPORTER_VERSION=${STATSD_EXPORTER_VERSION:-v0.31.0}
# SeaweedFS publishes no module versions, only commits: this one is what the proxy serves here
SEAWEEDFS_VERSION=${SEAWEEDFS_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}
# KEDA's go.mod asks for Go 1.27.4: the go command fetches that toolchain from the proxy
KEDA_VERSION=${KEDA_VERSION:-v2.21.1}
KEDA_TOOLCHAIN=${KEDA_TOOLCHAIN:-go1.27.4}
have_image "$STATIC_IMAGE" || { log "$STATIC_IMAGE is missing: run 40-node-image.sh first"; exit 1; }

# go_binary DIR NAME VERSION MODULE PACKAGE: $BIN_DIR/DIR-VERSION/NAME, built once. Built inside the
# module's own directory, as `go install MODULE/PACKAGE@VERSION` refuses a module with replace
# directives (SeaweedFS has one).
go_binary() {
  local name=$2 version=$3 module=$4 package=$5 out=$BIN_DIR/$1-$3 dir
  if [ ! -f "$out/.done" ]; then
    mkdir -p "$out"
    dir=$(go mod download -json "$module@$version" | jq -r .Dir)
    (cd "$dir" && go build -ldflags "-s -w" -o "$out/$name" "./$package")
    touch "$out/.done"; log "built $name $version"
  fi
  echo "$out/$name"
}

# image TAG BINARY USER: the binary over the static base, as its entrypoint; skipped when the image
# was built from this very binary and base
image() {
  local tag=$1 binary=$2 user=$3 hash ctx
  hash=$( { sha256sum "$binary"; docker image inspect -f '{{.Id}}' "$STATIC_IMAGE"; echo "$user"; } | sha256sum | cut -c1-16)
  if [ "$(docker image inspect -f '{{index .Config.Labels "flujo.inputs"}}' "$tag" 2>/dev/null)" = "$hash" ]; then
    log "$tag cached"; return; fi
  ctx=$(mktemp -d); cp "$binary" "$ctx/"
  printf 'FROM %s\nCOPY %s /usr/local/bin/\nUSER %s\nENTRYPOINT ["/usr/local/bin/%s"]\n' \
    "$STATIC_IMAGE" "$(basename "$binary")" "$user" "$(basename "$binary")" > "$ctx/Dockerfile"
  docker build -q --label "flujo.inputs=$hash" -t "$tag" "$ctx" >/dev/null; rm -rf "$ctx"
  log "image $tag ($(docker image inspect -f '{{.Size}}' "$tag" | numfmt --to=iec))"
}

statsd_exporter=$(go_binary statsd-exporter statsd_exporter "$STATSD_EXPORTER_VERSION" github.com/prometheus/statsd_exporter .)
image "local/statsd-exporter:$STATSD_EXPORTER_VERSION" "$statsd_exporter" 65534:65534
weed=$(go_binary seaweedfs weed "$SEAWEEDFS_VERSION" github.com/seaweedfs/seaweedfs weed)
image local/seaweedfs:1 "$weed" 65534:65534

# KEDA: two programs of one module, and its CRDs (kept beside the binaries for tests/integration/keda_install.py).
# Built in a writable copy of the module: -mod=mod lets go complete go.sum there.
keda_dir=$BIN_DIR/keda-$KEDA_VERSION
if [ ! -f "$keda_dir/.done" ]; then
  mkdir -p "$keda_dir"
  src=$(mktemp -d)
  cp -r "$(GOTOOLCHAIN=$KEDA_TOOLCHAIN go mod download -json "github.com/kedacore/keda/v2@$KEDA_VERSION" | jq -r .Dir)/." "$src"
  chmod -R u+w "$src"
  (cd "$src" && export GOTOOLCHAIN=$KEDA_TOOLCHAIN GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0 &&
   go build -ldflags "-s -w" -o "$keda_dir/keda" ./cmd/operator &&
   go build -ldflags "-s -w" -o "$keda_dir/keda-adapter" ./cmd/adapter)
  cp -r "$src/config/crd/bases" "$keda_dir/crds"
  rm -rf "$src"; touch "$keda_dir/.done"; log "built keda $KEDA_VERSION"
fi
image "local/keda:$KEDA_VERSION" "$keda_dir/keda" 65534:65534
image "local/keda-adapter:$KEDA_VERSION" "$keda_dir/keda-adapter" 65534:65534
