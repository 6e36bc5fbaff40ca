#!/usr/bin/env bash
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Side-by-side reference for our own benchmarks: the official Apache Airflow Helm chart (1.18.0)
# deployed on the same kind cluster, in its own namespace (airflow-chart), with the same local images
# as our deployment and CeleryExecutor. It measures
#   - the cold install: a plain PostgreSQL StatefulSet applied and waited Ready, then
#     `helm install --wait`; both times are recorded, and their sum;
#   - N no-op `helm upgrade --wait` runs with byte-identical values (default N=3), each timed, and
#     whether any pod was replaced by them;
# and writes bench/results/chart.json (runs and medians).
#
# The chart is NOT part of this repository: it is unpacked outside the repo (CHART_DIR) and must never
# be committed; helm is built separately (HELM). Neither is installed by this script.
#
#   bench/chart_bench.sh [run]      cold install + N no-op upgrades, writes the JSON (RUNS=N)
#   bench/chart_bench.sh upgrade    one no-op `helm upgrade --wait` (what farm-bench --vs times)
#   bench/chart_bench.sh values     print the values file used
#   bench/chart_bench.sh uninstall  remove the release and the namespace
set -euo pipefail

HELM=${HELM:-/root/.cache/flujo-kind/bin/helm-v3.22.0/helm}
CHART_DIR=${CHART_DIR:-/root/.cache/flujo-bench/airflow-chart-1.18.0}
KUBE_CONTEXT=${KUBE_CONTEXT:-kind-flujo}
NS=${CHART_NS:-airflow-chart}
RELEASE=${CHART_RELEASE:-airflow-chart}
RUNS=${RUNS:-3}
TIMEOUT=${CHART_TIMEOUT:-15m}
AIRFLOW_IMAGE=${AIRFLOW_IMAGE:-local/airflow:3.3.2}
POSTGRES_IMAGE=${POSTGRES_IMAGE:-local/postgres:15}
REDIS_IMAGE=${REDIS_IMAGE:-local/redis:7}
STATSD_IMAGE=${STATSD_IMAGE:-local/statsd-exporter:v0.31.0}
PULL_POLICY=${PULL_POLICY:-Never}
OUT=${OUT:-$(cd "$(dirname "$0")" && pwd)/results/chart.json}

# Fixed, throw-away credentials: a no-op upgrade must render exactly what the install rendered (the
# chart makes up random keys for every secret value left empty, on every render).
DB_PASSWORD=chart-bench-db-password
REDIS_PASSWORD=chart-bench-redis-password
FERNET_KEY=Y2hhcnQtYmVuY2gtZmVybmV0LWtleS0zMi1ieXRlcyE=   # urlsafe base64 of 32 bytes
JWT_SECRET=chart-bench-jwt-secret-0123456789abcdef
API_SECRET_KEY=chart-bench-api-secret-key-0123456789
WEBSERVER_SECRET_KEY=chart-bench-webserver-secret-key-0123

case "$NS" in airflow | default | kube-*) echo "refusing to use namespace $NS" >&2; exit 2 ;; esac

kc() { kubectl --context "$KUBE_CONTEXT" "$@"; }
hm() { "$HELM" --kube-context "$KUBE_CONTEXT" "$@"; }
now() { date +%s.%N; }
secs() { python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$1" "$2"; }
repo_of() { echo "${1%:*}"; }
tag_of() { echo "${1##*:}"; }

need() {
  [ -x "$HELM" ] || { echo "helm not found at HELM=$HELM" >&2; exit 2; }
  [ -f "$CHART_DIR/Chart.yaml" ] || { echo "chart not found at CHART_DIR=$CHART_DIR" >&2; exit 2; }
}

# The chart's liveness/startup probes and log groomers call /entrypoint and /clean-logs, two scripts of
# the apache/airflow image that our image does not have; the same checks are given without them.
values() {
  local check='AIRFLOW__LOGGING__LOGGING_LEVEL=ERROR exec airflow jobs check --local --job-type'
  local groom='while true; do find "$AIRFLOW_HOME/logs" -type f -name "*.log" -mtime +"$AIRFLOW__LOG_RETENTION_DAYS" -delete 2>/dev/null || true; sleep $((AIRFLOW__LOG_CLEANUP_FREQUENCY_MINUTES * 60)); done'
  cat <<EOF
executor: CeleryExecutor
airflowVersion: "$(tag_of "$AIRFLOW_IMAGE")"
defaultAirflowRepository: $(repo_of "$AIRFLOW_IMAGE")
defaultAirflowTag: "$(tag_of "$AIRFLOW_IMAGE")"
images:
  airflow: {repository: $(repo_of "$AIRFLOW_IMAGE"), tag: "$(tag_of "$AIRFLOW_IMAGE")", pullPolicy: $PULL_POLICY}
  redis: {repository: $(repo_of "$REDIS_IMAGE"), tag: "$(tag_of "$REDIS_IMAGE")", pullPolicy: $PULL_POLICY}
  statsd: {repository: $(repo_of "$STATSD_IMAGE"), tag: "$(tag_of "$STATSD_IMAGE")", pullPolicy: $PULL_POLICY}
postgresql: {enabled: false}
pgbouncer: {enabled: false}
statsd: {enabled: true}
data:
  metadataConnection:
    user: airflow
    pass: $DB_PASSWORD
    protocol: postgresql
    host: postgres.$NS.svc.cluster.local
    port: 5432
    db: airflow
    sslmode: disable
fernetKey: $FERNET_KEY
jwtSecret: $JWT_SECRET
apiSecretKey: $API_SECRET_KEY
webserverSecretKey: $WEBSERVER_SECRET_KEY
redis: {password: $REDIS_PASSWORD}
# plain Jobs instead of post-install hooks, or --wait would wait for pods that wait for the migration;
# kept after they finish, so a later no-op upgrade does not re-create and re-run them
migrateDatabaseJob: {enabled: true, useHelmHooks: false, ttlSecondsAfterFinished: null}
createUserJob: {useHelmHooks: false, ttlSecondsAfterFinished: null}
webserver:
  defaultUser: {enabled: true}
scheduler:
  livenessProbe: {command: [sh, -c, "$check SchedulerJob"]}
  startupProbe: {command: [sh, -c, "$check SchedulerJob"]}
  logGroomerSidecar: {args: [bash, -c, '$groom']}
triggerer:
  livenessProbe: {command: [sh, -c, "$check TriggererJob"]}
  logGroomerSidecar: {args: [bash, -c, '$groom']}
dagProcessor:
  livenessProbe: {command: [sh, -c, "$check DagProcessorJob"]}
  logGroomerSidecar: {args: [bash, -c, '$groom']}
workers:
  livenessProbe:
    command: [sh, -c, 'exec python -m celery --app airflow.providers.celery.executors.celery_executor.app inspect ping -d celery@\$(hostname)']
  logGroomerSidecar: {args: [bash, -c, '$groom']}
EOF
}

postgres_manifest() {
  cat <<EOF
apiVersion: v1
kind: Secret
metadata: {name: postgres, namespace: $NS}
stringData: {password: $DB_PASSWORD}
---
apiVersion: v1
kind: Service
metadata: {name: postgres, namespace: $NS}
spec:
  selector: {app: chart-bench-postgres}
  ports: [{name: postgresql, port: 5432, targetPort: 5432}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: postgres, namespace: $NS}
spec:
  serviceName: postgres
  replicas: 1
  selector: {matchLabels: {app: chart-bench-postgres}}
  template:
    metadata: {labels: {app: chart-bench-postgres}}
    spec:
      securityContext: {runAsUser: 999, runAsGroup: 999, fsGroup: 999}
      containers:
        - name: postgres
          image: $POSTGRES_IMAGE
          imagePullPolicy: $PULL_POLICY
          # the image has no entrypoint script: create the cluster, the role and the database on the
          # first start, then run the server
          command:
            - sh
            - -ec
            - |
              if [ ! -s "\$PGDATA/PG_VERSION" ]; then
                initdb -D "\$PGDATA" -U postgres -E UTF8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
                echo "host all all all scram-sha-256" >> "\$PGDATA/pg_hba.conf"
                printf "CREATE ROLE airflow LOGIN PASSWORD '%s';\nCREATE DATABASE airflow OWNER airflow;\n" "\$DB_PASSWORD" \\
                  | postgres --single -D "\$PGDATA" postgres >/dev/null
              fi
              exec postgres -D "\$PGDATA" -c listen_addresses='*'
          env:
            - {name: PGDATA, value: /var/lib/postgresql/data/pgdata}
            - name: DB_PASSWORD
              valueFrom: {secretKeyRef: {name: postgres, key: password}}
          ports: [{containerPort: 5432}]
          readinessProbe:
            exec: {command: [pg_isready, -q, -h, 127.0.0.1, -U, airflow, -d, airflow]}
            periodSeconds: 2
            timeoutSeconds: 5
          volumeMounts:
            - {name: data, mountPath: /var/lib/postgresql/data}
            - {name: run, mountPath: /var/run/postgresql}
      volumes:
        - {name: run, emptyDir: {}}
  volumeClaimTemplates:
    - metadata: {name: data}
      spec:
        accessModes: [ReadWriteOnce]
        resources: {requests: {storage: 1Gi}}
EOF
}

# pod name+uid list, to tell whether an upgrade replaced anything
pod_ids() { kc -n "$NS" get pods -o jsonpath='{range .items[*]}{.metadata.name}/{.metadata.uid}{"\n"}{end}' | sort; }

# "ready/total" over the pods that should be running (finished Job pods are not counted)
pods_ready() {
  kc -n "$NS" get pods -o json | python3 -c '
import json, sys
pods = [p for p in json.load(sys.stdin)["items"] if p["status"].get("phase") != "Succeeded"]
ready = [p for p in pods if any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))]
print(f"{len(ready)}/{len(pods)}")'
}

# one no-op upgrade with the values of the install; prints its wall seconds
noop_upgrade() {
  local vf t0 t1
  vf=$(mktemp --suffix=.yaml); values > "$vf"
  t0=$(now)
  hm upgrade "$RELEASE" "$CHART_DIR" -n "$NS" -f "$vf" --wait --timeout "$TIMEOUT" >/dev/null
  t1=$(now); rm -f "$vf"
  secs "$t0" "$t1"
}

run() {
  need
  if hm status "$RELEASE" -n "$NS" >/dev/null 2>&1; then
    echo "release $RELEASE already installed in $NS: run '$0 uninstall' first for a cold install" >&2; exit 2
  fi
  if kc get namespace "$NS" >/dev/null 2>&1; then
    echo "namespace $NS exists: run '$0 uninstall' first for a cold install" >&2; exit 2
  fi
  local vf load0 t0 t_pg t_inst t_jobs before after s replaced runs=()
  vf=$(mktemp --suffix=.yaml); values > "$vf"

  load0=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(now)
  kc create namespace "$NS" >/dev/null
  postgres_manifest | kc apply -f - >/dev/null
  kc -n "$NS" rollout status statefulset/postgres --timeout=5m >/dev/null
  t_pg=$(now)
  hm install "$RELEASE" "$CHART_DIR" -n "$NS" -f "$vf" --wait --timeout "$TIMEOUT" >/dev/null
  t_inst=$(now)
  echo "postgres ready $(secs "$t0" "$t_pg") s, helm install $(secs "$t_pg" "$t_inst") s" >&2
  # --wait does not wait for Jobs; let them finish (not timed as install) before the no-ops
  kc -n "$NS" wait --for=condition=complete job --all --timeout=10m >/dev/null
  t_jobs=$(now); rm -f "$vf"

  for i in $(seq 1 "$RUNS"); do
    before=$(pod_ids)
    s=$(noop_upgrade)
    after=$(pod_ids)
    replaced=false; [ "$before" = "$after" ] || replaced=true
    echo "no-op upgrade $i: $s s (pods replaced: $replaced)" >&2
    runs+=("$s:$replaced")
  done

  mkdir -p "$(dirname "$OUT")"
  python3 - "$OUT" "$(secs "$t0" "$t_pg")" "$(secs "$t_pg" "$t_inst")" "$(secs "$t_inst" "$t_jobs")" \
    "$(pods_ready)" "$load0 $(cut -d' ' -f1 /proc/loadavg)" "$("$HELM" version --short)" "$(hm status "$RELEASE" -n "$NS" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')" \
    "${runs[@]}" <<PY
import json, statistics, sys, time
out, pg, inst, jobs, ready, load, helm_version, revision, *runs = sys.argv[1:]
runs = [{"wall_s": float(r.split(":")[0]), "pods_replaced": r.split(":")[1] == "true"} for r in runs]
json.dump({
    "what": "official Apache Airflow Helm chart: cold helm install --wait, then no-op helm upgrade --wait",
    "chart": "airflow 1.18.0", "chart_dir": "$CHART_DIR", "helm": "$HELM", "helm_version": helm_version,
    "namespace": "$NS", "release": "$RELEASE", "release_revision": int(revision),
    "images": {"airflow": "$AIRFLOW_IMAGE", "postgres": "$POSTGRES_IMAGE", "redis": "$REDIS_IMAGE",
               "statsd": "$STATSD_IMAGE", "pull_policy": "$PULL_POLICY"},
    "cold": {"postgres_ready_s": float(pg), "helm_install_s": float(inst),
             "total_s": round(float(pg) + float(inst), 2), "jobs_done_after_install_s": float(jobs)},
    "runs": runs,
    "median_noop_s": statistics.median(r["wall_s"] for r in runs) if runs else None,
    "pods_ready": ready,
    "loadavg_1m": dict(zip(("start", "end"), map(float, load.split()))),  # 2 cores; other work on the machine shows here
    "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
}, open(out, "w"), indent=2)
open(out, "a").write("\n")
PY
  echo "pods ready: $(pods_ready); wrote $OUT" >&2
}

uninstall() {
  hm uninstall "$RELEASE" -n "$NS" --timeout 5m 2>/dev/null || true
  # the chart gives Redis a 600 s grace period that its `sh -c redis-server` never ends early: the
  # data here is throw-away, so do not wait for it
  kc -n "$NS" delete pods --all --grace-period=5 --wait=false --ignore-not-found >/dev/null 2>&1 || true
  kc delete namespace "$NS" --ignore-not-found --wait=true --timeout=5m
}

case "${1:-run}" in
  run) run ;;
  upgrade) need; s=$(noop_upgrade); echo "no-op helm upgrade: $s s" >&2 ;;
  values) values ;;
  uninstall) uninstall ;;
  *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
