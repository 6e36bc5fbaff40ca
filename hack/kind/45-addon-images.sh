#!/bin/bash
# Images of the add-ons the roles can deploy beside Airflow: the StatsD exporter that turns
# Airflow's metrics into a Prometheus endpoint (roles/airflow_metrics). Compiled from the Go module
# proxy like 10-go-builds.sh, put over the static base of 40-node-image.sh; a binary or image that
# is there already is kept. (Its own file: lib.sh and 40's inputs name the node image's cache key.)
source "$(dirname "$0")/lib.sh"
STATSD_EXPORTER_VERSION=${STATSD_EXPORTER_VERSION:-v0.31.0}
STATSD_EXPORTER_IMAGE=local/statsd-exporter:$STATSD_EXPORTER_VERSION
out=$BIN_DIR/statsd-exporter-$STATSD_EXPORTER_VERSION
if [ ! -f "$out/.done" ]; then
  mkdir -p "$out"
  GOBIN=$out go install -ldflags "-s -w" "github.com/prometheus/statsd_exporter@$STATSD_EXPORTER_VERSION"
  touch "$out/.done"; log "built statsd-exporter-$STATSD_EXPORTER_VERSION"
fi
have_image "$STATIC_IMAGE" || { log "$STATIC_IMAGE is missing: run 40-node-image.sh first"; exit 1; }
hash=$( { sha256sum "$out/statsd_exporter"; docker image inspect -f '{{.Id}}' "$STATIC_IMAGE"; } | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{index .Config.Labels "flujo.inputs"}}' "$STATSD_EXPORTER_IMAGE" 2>/dev/null)" = "$hash" ]; then
  log "$STATSD_EXPORTER_IMAGE cached"; exit 0; fi
ctx=$(mktemp -d); cp "$out/statsd_exporter" "$ctx/"
printf 'FROM %s\nCOPY statsd_exporter /usr/local/bin/\nUSER 65534:65534\nENTRYPOINT ["/usr/local/bin/statsd_exporter"]\n' \
  "$STATIC_IMAGE" > "$ctx/Dockerfile"
docker build -q --label "flujo.inputs=$hash" -t "$STATSD_EXPORTER_IMAGE" "$ctx" >/dev/null; rm -rf "$ctx"
log "image $STATSD_EXPORTER_IMAGE ($(docker image inspect -f '{{.Size}}' "$STATSD_EXPORTER_IMAGE" | numfmt --to=iec))"
