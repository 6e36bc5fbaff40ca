#!/bin/bash
# One command for the whole offline cluster: Docker, Go builds, images, kind cluster, checks.
# The Go builds (CPU-bound, ≈ 36 min cold) run beside the Debian/PyPI image builds (network-bound).
source "$(dirname "$0")/lib.sh"
t0=$SECONDS
step docker bash "$HACK_DIR/00-docker.sh"
step go-builds bash "$HACK_DIR/10-go-builds.sh" & go_pid=$!
step node-base bash "$HACK_DIR/20-node-base.sh"
# the newest Airflow plus an older 3.x release for the upgrade scenario (molecule/upgrade)
step app-images bash "$HACK_DIR/30-app-images.sh" ${AIRFLOW_VERSIONS:-3.3.2 3.3.1}
wait $go_pid
step node-image bash "$HACK_DIR/40-node-image.sh"
step addon-images bash "$HACK_DIR/45-addon-images.sh"
step cluster bash "$HACK_DIR/50-cluster.sh"
step cluster-check bash "$HACK_DIR/60-cluster-check.sh"
tail -n 5 "$CACHE_DIR/logs/cluster-check.log" >&2
log "offline kind cluster '$CLUSTER_NAME' up in $((SECONDS - t0)) s (cache: $CACHE_DIR, $(du -sh "$CACHE_DIR" | cut -f1))"
