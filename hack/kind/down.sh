#!/bin/bash
# Delete the kind cluster (the cache of built images and binaries is kept).
source "$(dirname "$0")/lib.sh"
"$BIN_DIR/kind-$KIND_VERSION/kind" delete cluster --name "$CLUSTER_NAME"
