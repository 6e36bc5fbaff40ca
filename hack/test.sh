#!/bin/bash
# Everything CI runs, with the duration of each stage (README: `make test`).
# Installs what it needs: Python tools (venv), Debian packages (chromium, shellcheck), Docker and
# the offline kind cluster (hack/kind). Stages can be chosen: hack/test.sh lint sanity units ...
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd); cd "$top"
VENV=${VENV:-$top/.venv}
# kubectl and kind as built by hack/kind (the tests call kubectl: testinfra, port-forward)
KIND_BIN=$(bash -c 'source hack/kind/lib.sh; echo "$BIN_DIR/k8s-$K8S_VERSION:$BIN_DIR/kind-$KIND_VERSION"')
export PATH=$VENV/bin:$KIND_BIN:$PATH
# By default the checks that need no cluster (lint sanity units render build) run beside the cluster
# and Molecule, at the lowest CPU priority: Molecule mostly waits on pods and DAG runs, and the
# checks take its idle cores instead of 12 minutes of their own. Their output follows Molecule's.
STAGES=${*:-setup checks-start cluster molecule checks-wait}
CHECK_STAGES="lint sanity units render build"
TIMES=${TEST_TIMES:-$top/.cache/test-times.txt}; mkdir -p .cache; : > "$TIMES"
CHECKS_LOG=$top/.cache/test-checks.log CHECKS_TIMES=$top/.cache/test-times-checks.txt CHECKS_PID=""
# every failed integration test appends a line to the first (tests/integration/conftest.py), the
# scenarios' output goes to the second; the molecule stage empties both when it starts
export FLUJO_TEST_FAILURES=$top/.cache/test-failures.txt MOLECULE_LOG=$top/.cache/test-molecule.log
MULTINODE_LOG=$top/.cache/test-molecule-multinode.log MULTINODE_PID=""

# Each stage runs with `set -e` in force (never inside an `||`, where bash would ignore it), so the
# first failing command of any stage fails the whole run; the EXIT trap reports where. What failed
# comes last: a CI log cut to its tail still names the stage, the scenario and the failed tests.
CURRENT=""
report() {
  local rc=$?
  if [ -n "$CHECKS_PID" ]; then   # stopped before checks-wait: the checks' output so far
    kill_tree "$CHECKS_PID"
    echo "--- checks (stopped)"; tail -n 100 "$CHECKS_LOG"
  fi
  if [ -n "$MULTINODE_PID" ]; then   # a single-node scenario failed while multinode ran beside it
    kill_tree "$MULTINODE_PID"
    echo "--- multinode (stopped)"; tail -n 40 "$MULTINODE_LOG"
  fi
  echo "--- durations"; cat "$TIMES"
  if [ $rc -ne 0 ] && [ -n "$CURRENT" ]; then
    echo "--- stage $CURRENT FAILED (exit $rc)"
    if [ -s "$FLUJO_TEST_FAILURES" ]; then
      echo "failed tests ($(wc -l < "$FLUJO_TEST_FAILURES")):"; head -n 12 "$FLUJO_TEST_FAILURES"
    elif [ -s "$MOLECULE_LOG" ]; then   # a playbook failed: its task errors, without colours
      sed 's/\x1b\[[0-9;]*m//g' "$MOLECULE_LOG" | grep -E 'fatal:|FAILED!|ERROR|CRITICAL' | tail -n 8 | cut -c1-400 || true
    fi
  fi
  exit $rc
}
trap report EXIT

kill_tree() {  # kill_tree PID: that process and every process under it
  local child
  for child in $(pgrep -P "$1"); do kill_tree "$child"; done
  kill "$1" 2>/dev/null || true
}

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
  command -v promtool >/dev/null || missing+=(prometheus)   # the metrics tests' real Prometheus and promtool
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
  bash hack/link-collection.sh
}

lint() {
  ANSIBLE_COLLECTIONS_PATH=$top/.cache/collections ansible-lint --offline --profile production
  antsibull-changelog lint                       # changelogs/fragments/*.yml
  antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
  # plugin and role docs: markup, references, argument specs (needs ansible-doc on PATH). Our
  # module takes kubernetes.core's doc fragment: the linter sees exactly ours and kubernetes.core
  # (its own copy of a dependency comes out empty; "all" refs of the whole venv take minutes)
  local docs=$top/.cache/docs-lint/ansible_collections
  mkdir -p "$docs/flujo" "$docs/kubernetes"
  ln -sfn "$top" "$docs/flujo/airflow"
  ln -sfn "$VENV/lib/python3.11/site-packages/ansible_collections/kubernetes/core" "$docs/kubernetes/core"
  ANSIBLE_COLLECTIONS_PATH=$top/.cache/docs-lint \
    antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs=all .
}

# The collection artifact, built once per stage that needs it: what users install and what
# ansible-test checks.
build_artifact() {  # build_artifact DIR -> prints the path of the tarball
  local out=$1; rm -rf "$out"; mkdir -p "$out"
  ansible-galaxy collection build --output-path "$out" . >&2
  ls "$out"/flujo-airflow-*.tar.gz
}

# Every path of the artifact must be on this allow-list (galaxy.yml says why each is in):
# checkout-only content (bench/, hack/, molecule/, Makefile, ansible.cfg, ...), hidden files and
# caches (.ansible/, .cache/, __pycache__) fail the build stage.
ARTIFACT_ALLOWED='^(MANIFEST\.json|FILES\.json|README\.md|LICENSE|CHANGELOG\.rst|site\.yml|requirements\.txt|requirements\.yml|bindep\.txt|execution-environment\.yml|tests/?|(meta|roles|playbooks|plugins|changelogs|docs|inventory|examples|tests/unit)(/.*)?)$'
ARTIFACT_REQUIRED="MANIFEST.json FILES.json README.md LICENSE CHANGELOG.rst requirements.txt requirements.yml bindep.txt execution-environment.yml meta/runtime.yml changelogs/changelog.yaml changelogs/config.yaml"
check_artifact() {  # check_artifact TARBALL
  local list bad missing=() p
  list=$(tar -tzf "$1")
  bad=$( { grep -vE "$ARTIFACT_ALLOWED" <<<"$list"
            grep -E '(^|/)(\.[^/]+|__pycache__|[^/]+\.pyc)(/|$)' <<<"$list"; } | sort -u || true)
  for p in $ARTIFACT_REQUIRED; do grep -qxF "$p" <<<"$list" || missing+=("$p"); done
  if [ -n "$bad" ] || [ ${#missing[@]} -gt 0 ]; then
    [ -z "$bad" ] || printf 'not allowed in the artifact (see galaxy.yml):\n%s\n' "$bad"
    [ ${#missing[@]} -eq 0 ] || echo "missing from the artifact: ${missing[*]}"
    return 1
  fi
  echo "artifact: $(wc -l <<<"$list") paths, all on the allow-list"
}

# ansible-test runs on the unpacked artifact, so sanity and units check exactly what users get.
# It wants the collection under ansible_collections/<ns>/<name> and, as the module uses
# kubernetes.core's doc fragment and module_utils, kubernetes.core in the same ansible_collections/
# root (the one the ansible package bundles, linked from the venv). It sees git-tracked files only,
# hence the snapshot commit. Its per-test venvs bootstrap pip from a host that is unreachable here,
# so a stand-in that uses ensurepip + the package index goes where ansible-test looks first.
ansible_test_copy() {
  local root=$top/.cache/ansible-test/ansible_collections
  local dest=$root/flujo/airflow tarball
  tarball=$(build_artifact "$top/.cache/ansible-test/artifact")
  rm -rf "$dest"; mkdir -p "$dest" "$root/kubernetes"
  tar -xzf "$tarball" -C "$dest"
  # ansible-test finds the collections ours uses (kubernetes.core: module_utils, doc fragment)
  # only beside it, under the same ansible_collections/ root: link the venv's copy (ansible==12.3.0)
  ln -sfn "$VENV/lib/python3.11/site-packages/ansible_collections/kubernetes/core" "$root/kubernetes/core"
  [ -f "$root/kubernetes/core/MANIFEST.json" ]
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
  # each test is a playbook run or two (CPU-bound templating): one per core
  pytest -q -p no:cacheprovider -n 2 tests/render
}

build() {
  # build the artifact, install it offline where nothing else is, and render the production
  # example from the installed copy alone (outside this checkout, no ansible.cfg of ours)
  local out=$top/.cache/build tarball
  tarball=$(build_artifact "$out")
  check_artifact "$tarball"
  printf '[defaults]\n' > "$out/ansible.cfg"   # this empty config, not the checkout's
  (cd "$out" && ansible-galaxy collection install --offline --force --no-deps \
     -p "$out/collections" "$tarball")
  (cd "$out" && ANSIBLE_COLLECTIONS_PATH=$out/collections:$VENV/lib/python3.11/site-packages \
     ansible-playbook flujo.airflow.site -i "$top/inventory/production" -e airflow_render_dir="$out/manifests" >/dev/null)
  local n; n=$(find "$out/manifests" -name '*.yaml' | wc -l)
  echo "manifests rendered by the installed collection: $n"; [ "$n" -gt 10 ]
}

cluster() {
  # kind's nodes come back with the Docker daemon: another cluster of ours left running (the
  # three-node one and its Airflow) would take half of the two cores from every scenario. Only
  # ours (flujo*): a cluster of someone else's is left alone
  bash hack/kind/00-docker.sh
  rest_other_clusters "${CLUSTER_NAME:-flujo}"
  bash hack/kind/up.sh
}

checks_start() {
  nice -n 19 env TEST_TIMES="$CHECKS_TIMES" bash "$top/hack/test.sh" $CHECK_STAGES > "$CHECKS_LOG" 2>&1 &
  CHECKS_PID=$!
  echo "$CHECK_STAGES: running beside the cluster and Molecule (nice 19), output in $CHECKS_LOG"
}

checks_wait() {
  local rc=0
  wait "$CHECKS_PID" || rc=$?
  CHECKS_PID=""
  echo "--- checks ($CHECK_STAGES)"; cat "$CHECKS_LOG"
  return $rc
}

molecule_test() {
  export MOLECULE_GLOB='molecule/*/molecule.yml' FLUJO_SKIP_CLUSTER=1
  # default makes a new deployment and leaves it; fernet_rotation, day2 and faults verify on it
  # (their sequence has no destroy); upgrade removes it to start from an older release.
  # one round of each fault (pod deletions, a node restart) keeps CI near an hour;
  # `FAULT_ROUNDS=3 molecule test -s faults` is the full run behind bench/results
  export FAULT_ROUNDS=${FAULT_ROUNDS:-1}
  : > "$FLUJO_TEST_FAILURES"; : > "$MOLECULE_LOG"
  local scenario
  for scenario in ${MOLECULE_SCENARIOS:-default fernet_rotation day2 faults upgrade}; do
    CURRENT="molecule, scenario $scenario"
    if [ "$scenario" = multinode ]; then   # alone (make test-multinode): the single-node cluster rests
      rest_cluster "${CLUSTER_NAME:-flujo}"
      multinode_scenario 2>&1 | tee -a "$MOLECULE_LOG"
      continue
    fi
    molecule test -s "$scenario" 2>&1 | tee -a "$MOLECULE_LOG"
    # MOLECULE_BESIDE=multinode (make test-all): the three-node scenario (about 25 min alone) runs
    # beside the ones after default, which mostly wait on pods, DAG runs and faults, as it does. Not in
    # make test: a fresh clone's run with it was still in faults at minute 89 (2 cores, 2026-12-08)
    if [ "$scenario" = default ] && [ "${MOLECULE_BESIDE:-}" = multinode ]; then
      echo "multinode: running beside the single-node scenarios, output in $MULTINODE_LOG"
      # a kubeconfig file of its own: the cluster's create writes it (kind), and such a write must
      # not race the other scenarios' reads of ~/.kube/config
      (export KUBECONFIG=$top/.cache/kubeconfig-flujo-multi; multinode_scenario) > "$MULTINODE_LOG" 2>&1 &
      MULTINODE_PID=$!
    fi
  done
  [ -n "$MULTINODE_PID" ] || return 0
  CURRENT="molecule, scenario multinode (beside the others)"
  local rc=0
  wait "$MULTINODE_PID" || rc=$?
  MULTINODE_PID=""
  echo "--- multinode"; tee -a "$MOLECULE_LOG" < "$MULTINODE_LOG"
  return $rc
}

multinode_scenario() {
  # its create starts the three-node cluster, which `make test` rests: Molecule skips a create
  # it remembers as done, so that memory goes (reset removes Molecule's state only)
  molecule reset -s multinode >/dev/null 2>&1
  molecule test -s multinode
}

# kind labels each node container with its cluster's name; docker finds them without kind
cluster_nodes() {  # cluster_nodes NAME: the running node containers of that kind cluster
  docker ps --filter "label=io.x-k8s.kind.cluster=$1" --format '{{.Names}}'
}

rest_cluster() {  # rest_cluster NAME: stop the node containers of that kind cluster
  local nodes
  docker info >/dev/null 2>&1 || return 0   # no Docker daemon: nothing runs
  nodes=$(cluster_nodes "$1")
  [ -z "$nodes" ] || { echo "resting kind cluster $1 (docker stop)"; xargs docker stop <<<"$nodes" >/dev/null; }
}

rest_other_clusters() {  # rest_other_clusters NAME: rest our other running kind clusters (flujo*)
  local c
  for c in $(docker ps --filter label=io.x-k8s.kind.cluster --format '{{.Label "io.x-k8s.kind.cluster"}}' | sort -u); do
    case $c in "$1") ;; flujo*) rest_cluster "$c" ;; esac
  done
}

for s in $STAGES; do
  case $s in molecule) fn=molecule_test ;; checks-start) fn=checks_start ;; checks-wait) fn=checks_wait ;; *) fn=$s ;; esac
  stage "$s" "$fn"
done
