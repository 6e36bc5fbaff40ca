#!/bin/bash
# Make this checkout importable as the flujo.airflow collection (ansible.cfg's collections_path).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$top/.cache/collections/ansible_collections/flujo"
ln -sfn "$top" "$top/.cache/collections/ansible_collections/flujo/airflow"
