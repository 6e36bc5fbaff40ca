#!/bin/bash
# Manifest security linters on the rendered manifests (kind and production inventories):
# kube-score (Go module proxy) and checkov (PyPI), both installed into ~/.cache/flujo-kind on first use.
# Findings and why each is fixed or accepted: docs/security.md.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd); cd "$top"
source hack/kind/lib.sh
export PATH=$top/.venv/bin:$PATH
KS=$BIN_DIR/kube-score-v1.20.0/kube-score; CK=$CACHE_DIR/checkov/bin/checkov
[ -x "$KS" ] || GOBIN=$(dirname "$KS") go install github.com/zegl/kube-score/cmd/kube-score@v1.20.0
[ -x "$CK" ] || { python3 -m venv "$CACHE_DIR/checkov" && "$CACHE_DIR/checkov/bin/pip" install -q checkov==3.3.30; }
out=$(mktemp -d /tmp/flujo-security.XXXXXX)   # not under a dot-directory: checkov skips those
for inv in kind production; do
  ansible-playbook site.yml -i "inventory/$inv" -e airflow_render_dir="$out/$inv" >/dev/null
  echo "=== kube-score ($inv)"
  "$KS" score --kubernetes-version v1.35 --ignore-test container-image-pull-policy -o ci "$out/$inv"/*.yaml \
    | grep -E '^\[(CRITICAL|WARNING)\]' | sed -E 's/^\[([A-Z]+)\] ([^:]+): /\1 \2: /' | sort | uniq -c || true
  echo "=== checkov ($inv)"
  "$CK" -d "$out/$inv" --framework kubernetes --skip-download --compact --quiet -o cli \
    | grep -E '^(Check: |Passed checks)' | sort | uniq -c || true
done
rm -rf "$out"
