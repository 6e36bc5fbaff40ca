#!/bin/bash
# The floor for a cold converge: the same local images started as plain Docker containers in the
# order Airflow needs (PostgreSQL, Redis, migration, then the five components at once), timed until
# every component answers its own health check. Prints one JSON object. Cleans up after itself.
set -euo pipefail
AF=${AIRFLOW_IMAGE:-local/airflow:3.3.2}; PG=${POSTGRES_IMAGE:-local/postgres:15}; RD=${REDIS_IMAGE:-local/redis:7}
N=flujo-floor; t0=$(date +%s.%N)
since() { python3 -c "import sys; print(round($(date +%s.%N) - $t0, 2))"; }
cleanup() { docker rm -f $(docker ps -aq --filter label=$N) >/dev/null 2>&1 || true; docker network rm $N >/dev/null 2>&1 || true; }
cleanup; trap cleanup EXIT
docker network create $N >/dev/null
pw=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
fernet=$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')
env=(-e AIRFLOW__CORE__EXECUTOR=CeleryExecutor -e AIRFLOW_CONFIG=/tmp/airflow.cfg
     -e AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgresql+psycopg2://airflow:$pw@$N-pg:5432/airflow
     -e AIRFLOW__CELERY__BROKER_URL=redis://:$pw@$N-redis:6379/0 -e AIRFLOW__CORE__FERNET_KEY=$fernet
     -e AIRFLOW__API_AUTH__JWT_SECRET=$pw -e AIRFLOW__API__SECRET_KEY=$pw -e AIRFLOW__CORE__LOAD_EXAMPLES=False
     -e AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://$N-api:8080/execution/ -e AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK=True)
run() { local name=$1; shift; docker run -d --label $N --name "$N-$name" --hostname "$N-$name" --network $N "$@" >/dev/null; }
run pg -e PGDATA=/tmp/pgdata -e PW=$pw "$PG" sh -ec 'initdb -D $PGDATA -U postgres --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  echo "host all all all scram-sha-256" >> $PGDATA/pg_hba.conf
  printf "CREATE ROLE airflow LOGIN PASSWORD '"'"'%s'"'"';\nCREATE DATABASE airflow OWNER airflow;\n" "$PW" | postgres --single -D $PGDATA postgres >/dev/null
  exec postgres -D $PGDATA -c listen_addresses="*"'
run redis "$RD" redis-server --requirepass "$pw"
until docker exec $N-pg pg_isready -q -h 127.0.0.1 2>/dev/null; do sleep 0.2; done; t_pg=$(since)
until docker exec $N-redis redis-cli -a "$pw" ping 2>/dev/null | grep -q PONG; do sleep 0.2; done; t_redis=$(since)
docker run --rm --network $N "${env[@]}" "$AF" airflow db migrate >/dev/null 2>&1; t_migrate=$(since)
run api "${env[@]}" "$AF" airflow api-server --port 8080
run scheduler "${env[@]}" "$AF" airflow scheduler
run dagproc "${env[@]}" "$AF" airflow dag-processor
run triggerer "${env[@]}" "$AF" airflow triggerer
run worker "${env[@]}" -e AIRFLOW__CELERY__WORKER_CONCURRENCY=4 "$AF" airflow celery worker
health='import json, urllib.request as u; h = json.load(u.urlopen("http://127.0.0.1:8080/api/v2/monitor/health", timeout=5)); print(all(h[c] and h[c]["status"] == "healthy" for c in ("metadatabase", "scheduler", "triggerer", "dag_processor")))'
until [ "$(docker exec $N-api python -c "$health" 2>/dev/null)" = True ]; do sleep 1; done
until docker exec $N-worker sh -c "celery -b \"\$AIRFLOW__CELERY__BROKER_URL\" inspect ping -d celery@$N-worker -t 2" >/dev/null 2>&1; do sleep 1; done
printf '{"postgres_ready": %s, "redis_ready": %s, "migrated": %s, "all_healthy": %s}\n' "$t_pg" "$t_redis" "$t_migrate" "$(since)"
