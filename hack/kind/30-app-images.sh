#!/bin/bash
# The application images the deployment runs on kind: Airflow, PostgreSQL and Redis from Debian
# and PyPI, over a debootstrap base (no registry to pull from). Each image carries a label with the
# hash of its build inputs; an image whose inputs did not change is kept.
# Usage: 30-app-images.sh [AIRFLOW_VERSION...]   (default: $AIRFLOW_VERSION or 3.3.2)
source "$(dirname "$0")/lib.sh"
IMAGES_DIR=$REPO_DIR/hack/images
BOOKWORM_BASE=local/bookworm-base:1
AIRFLOW_VERSIONS=${*:-${AIRFLOW_VERSION:-3.3.2}}

if ! have_image "$BOOKWORM_BASE"; then
  R=$CACHE_DIR/rootfs/bookworm-base; debootstrap_rootfs "$R"
  mirror=$(debian_mirror); sec=${mirror%/debian}/debian-security
  printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
    "$mirror" "$DEBIAN_SUITE" "$mirror" "$DEBIAN_SUITE" "$sec" "$DEBIAN_SUITE" > "$R/etc/apt/sources.list"
  tar -C "$R" -c . | docker import - "$BOOKWORM_BASE"; rm -rf "$R"
fi

# build TAG DIR [--build-arg K=V...]: skipped when the image's input hash label matches
build() {
  local tag=$1 dir=$2; shift 2; local ctx hash
  # the Dockerfile, then any other file of the directory (scripts it copies), then the arguments
  hash=$( { cat "$dir/Dockerfile"; find "$dir" -type f ! -name Dockerfile | sort | xargs -r cat; printf '%s\n' "$@"; } \
    | sha256sum | cut -c1-16)
  if [ "$(docker image inspect -f '{{index .Config.Labels "flujo.inputs"}}' "$tag" 2>/dev/null)" = "$hash" ]; then
    log "$tag cached"; return; fi
  ctx=$(mktemp -d); cp -r "$dir"/. "$ctx/"; mkdir -p "$ctx/certs"
  cp /usr/local/share/ca-certificates/*.crt "$ctx/certs/" 2>/dev/null || true
  log "building $tag"
  docker build -q --label "flujo.inputs=$hash" --build-arg "BASE_IMAGE=$BOOKWORM_BASE" "$@" -t "$tag" "$ctx" >/dev/null
  rm -rf "$ctx"; log "built $tag ($(docker image inspect -f '{{.Size}}' "$tag" | numfmt --to=iec))"
}
build local/postgres:15 "$IMAGES_DIR/postgres"
build local/redis:7 "$IMAGES_DIR/redis"
# for the LDAP login test only (tests/integration/test_ldap.py)
build local/openldap:1 "$IMAGES_DIR/openldap"
# PgBouncer and its exporter (airflow_pgbouncer; tests/integration/test_pgbouncer.py)
build local/pgbouncer:1 "$IMAGES_DIR/pgbouncer"
# a git server with basic auth, for the DAG bundle test (tests/integration/test_dag_bundles.py)
build local/git-server:1 "$IMAGES_DIR/git-server"
for v in $AIRFLOW_VERSIONS; do build "local/airflow:$v" "$IMAGES_DIR/airflow" --build-arg "AIRFLOW_VERSION=$v"; done
