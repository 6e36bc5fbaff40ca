#!/bin/bash
# Everything CI runs, in order, with the duration of each stage (README: `make test`).
# Installs what it needs: Python tools (venv), Debian packages (chromium, shellcheck), Docker and
# the offline kind cluster (hack/kind). Stages can be chosen: hack/test.sh lint sanity units ...
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd); cd "$top"
VENV=${VENV:-$top/.venv}
# kubectl and kind as built by hack/kind (the tests call kubectl: testinfra, port-forward)
KIND_BIN=$(bash -c 'source hack/kind/lib.sh; echo "$BIN_DIR/k8s-$K8S_VERSION:$BIN_DIR/kind-$KIND_VERSION"')
export PATH=$VENV/bin:$KIND_BIN:$PATH
STAGES=${*:-setup lint sanity units render build cluster molecule}
TIMES=$top/.cache/test-times.txt; mkdir -p .cache; : > "$TIMES"

# Each stage runs with `set -e` in force (never inside an `||`, where bash would ignore it), so the
# first failing command of any stage fails the whole run; the EXIT trap reports where.
CURRENT=""
report() {
  local rc=$?
  [ $rc -ne 0 ] && [ -n "$CURRENT" ] && echo "stage $CURRENT FAILED"
  echo "--- durations"; cat "$TIMES"
  exit $rc
}
trap report EXIT

stage() {  # stage NAME FUNCTION
  local t0=$SECONDS; CURRENT=$1; echo "=== $1"
  "$2"
  printf '%-10s %5d s\n' "$1" $((SECONDS - t0)) | tee -a "$TIMES"
  CURRENT=""
}

setup() {
  if [ ! -x "$VENV/bin/ansible-playbook" ] || ! cmp -s requirements-test.txt "$VENV/.requirements"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r requirements-test.txt
    cp requirements-test.txt "$VENV/.requirements"
  fi
  local missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v shellcheck >/dev/null || missing+=(shellcheck)
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
  bash hack/link-collection.sh
}

lint() {
  ANSIBLE_COLLECTIONS_PATH=$top/.cache/collections ansible-lint --offline --profile production
}

# ansible-test wants the collection under ansible_collections/<ns>/<name> and sees git-tracked
# files only; its per-test venvs bootstrap pip from a host that is unreachable here, so a stand-in
# that uses ensurepip + the package index goes where ansible-test looks first.
ansible_test_copy() {
  local dest=$top/.cache/ansible-test/ansible_collections/flujo/airflow
  rm -rf "$dest"; mkdir -p "$dest"
  # what the built collection holds (galaxy.yml's build_ignore: hack/, molecule/, .ci/, .config/ stay out)
  git ls-files -z -- . ':!hack' ':!molecule' ':!.ci' ':!.config' ':!bench' | xargs -0 cp --parents -t "$dest"
  (cd "$dest" && git init -q && git add -A && git -c user.email=ci@flujo -c user.name=ci commit -qm snapshot)
  mkdir -p "$HOME/.ansible/test/cache"
  cat > "$HOME/.ansible/test/cache/get_pip_24_2.py" <<'PY'
import subprocess, sys
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
PY
  echo "$dest"
}

sanity() {
  local dest; dest=$(ansible_test_copy)
  (cd "$dest" && ansible-test sanity --local --python 3.11 --requirements --color no)
}

units() {
  local dest; dest=$(ansible_test_copy)
  (cd "$dest" && ansible-test units --local --python 3.11 --requirements --color no)
}

render() {
  pytest -q -p no:cacheprovider tests/render
}

build() {
  # build the artifact, install it offline where nothing else is, and render the production
  # example from the installed copy alone (outside this checkout, no ansible.cfg of ours)
  local out=$top/.cache/build; rm -rf "$out"; mkdir -p "$out"
  ansible-galaxy collection build --output-path "$out" .
  printf '[defaults]\n' > "$out/ansible.cfg"   # this empty config, not the checkout's
  (cd "$out" && ansible-galaxy collection install --offline --force --no-deps \
     -p "$out/collections" "$out"/flujo-airflow-*.tar.gz)
  (cd "$out" && ANSIBLE_COLLECTIONS_PATH=$out/collections:$VENV/lib/python3.11/site-packages \
     ansible-playbook flujo.airflow.site -i "$top/inventory/production" -e airflow_render_dir="$out/manifests" >/dev/null)
  local n; n=$(find "$out/manifests" -name '*.yaml' | wc -l)
  echo "manifests rendered by the installed collection: $n"; [ "$n" -gt 10 ]
}

cluster() {
  bash hack/kind/up.sh
}

molecule_test() {
  export MOLECULE_GLOB='molecule/*/molecule.yml' FLUJO_SKIP_CLUSTER=1
  molecule test -s default
  molecule test -s fernet_rotation
  molecule test -s upgrade
  molecule test -s day2
}

for s in $STAGES; do
  fn=$s; [ "$s" = molecule ] && fn=molecule_test
  stage "$s" "$fn"
done
