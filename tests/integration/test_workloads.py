# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every workload is up, configured the way the collection promises, and healthy by its own check."""

import hashlib

import pytest

from helpers import JWT_KEY, JWT_SECRET, NAMESPACE, REDIS_SECRET, SECRET, read_secret

DEPLOYMENTS = ["airflow-api-server", "airflow-scheduler", "airflow-dag-processor"]
STATEFULSETS = ["airflow-worker", "airflow-triggerer", "airflow-redis", "airflow-postgresql"]
AIRFLOW_CONTAINERS = {"api-server": "api-server", "scheduler": "scheduler", "dag-processor": "dag-processor",
                      "triggerer": "triggerer", "worker": "worker"}


def digest(value):
    return hashlib.sha256(value.encode()).hexdigest()


def test_every_workload_is_ready(apps):
    for name in DEPLOYMENTS:
        d = apps.read_namespaced_deployment(name, NAMESPACE)
        assert d.spec.replicas >= 1 and d.status.ready_replicas == d.spec.replicas, name
    for name in STATEFULSETS:
        s = apps.read_namespaced_stateful_set(name, NAMESPACE)
        assert s.spec.replicas >= 1 and s.status.ready_replicas == s.spec.replicas, name


def test_migration_job_completed(k8s):
    from kubernetes import client
    jobs = client.BatchV1Api(k8s).list_namespaced_job(NAMESPACE, label_selector="app.kubernetes.io/component=migrate")
    assert any(j.status.succeeded for j in jobs.items)


def test_secrets_hold_every_key_and_derived_values_agree(secrets):
    main, redis = secrets[SECRET], secrets[REDIS_SECRET]
    for key in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY",
                "AIRFLOW_DB_USER", "AIRFLOW_DB_PASSWORD", "AIRFLOW_ADMIN_PASSWORD",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND", "AIRFLOW__CELERY__BROKER_URL"):
        assert main.get(key), key
    assert redis.get("password")
    assert ":%s@" % redis["password"] in main["AIRFLOW__CELERY__BROKER_URL"]
    userinfo = "%s:%s@" % (main["AIRFLOW_DB_USER"], main["AIRFLOW_DB_PASSWORD"])
    assert userinfo in main["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert main["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+" + main["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


def test_every_airflow_pod_sees_the_same_shared_secrets(core, pod_host, secrets):
    """Fernet key, API secret key and DB URL are identical in every component; the JWT signing key
    in the two that sign or check tokens."""
    shared = ["AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert JWT_KEY not in secrets[SECRET]
    expected = {k: digest(secrets[SECRET][k]) for k in shared}
    signing_key = digest(read_secret(core, JWT_SECRET)[JWT_KEY])
    for component in ("api-server", "scheduler"):
        out = pod_host(component).check_output("printf %%s \"$%s\" | sha256sum | cut -d' ' -f1" % JWT_KEY)
        assert out == signing_key, "the JWT signing key differs in %s" % component
    for component, container in AIRFLOW_CONTAINERS.items():
        host = pod_host(component, container)
        for key in shared:
            # compare digests computed in the pod: no value crosses into the test output
            out = host.check_output("printf %%s \"$%s\" | sha256sum | cut -d' ' -f1" % key)
            assert out == expected[key], "%s differs in %s" % (key, component)
    worker = pod_host("worker")
    assert worker.check_output("printf %s \"$REDIS_PASSWORD\" | sha256sum | cut -d' ' -f1") == \
        digest(secrets[REDIS_SECRET]["password"])
    assert worker.check_output("printenv AIRFLOW__CORE__EXECUTION_API_SERVER_URL").endswith("/execution/")


def test_migrations_are_at_head(pod_host):
    assert pod_host("scheduler").run("airflow db check-migrations --migration-wait-timeout=1").rc == 0


@pytest.mark.parametrize("component, container, command", [
    ("api-server", "api-server",
     "python -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:8080/api/v2/version').status)\""),
    ("scheduler", "scheduler",
     "python -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:8974/health').status)\""),
    ("scheduler", "scheduler", "airflow jobs check --job-type SchedulerJob --local"),
    ("dag-processor", "dag-processor", "airflow jobs check --job-type DagProcessorJob --local"),
    ("triggerer", "triggerer", "airflow jobs check --job-type TriggererJob --local"),
    ("worker", "worker", "celery -b \"$AIRFLOW__CELERY__BROKER_URL\" inspect ping -d \"celery@$HOSTNAME\" -t 5"),
    ("metadata-database", "postgresql", "pg_isready -h 127.0.0.1 -U \"$AIRFLOW_DB_USER\""),
    ("celery-broker", "redis", "REDISCLI_AUTH=\"$REDIS_PASSWORD\" redis-cli -h 127.0.0.1 ping | grep -x PONG"),
])
def test_component_health_check_passes_in_its_pod(pod_host, component, container, command):
    result = pod_host(component, container).run(command)
    assert result.rc == 0, result.stderr[-500:]


def test_redis_refuses_a_client_without_the_password(pod_host):
    out = pod_host("celery-broker", "redis").run("redis-cli -h 127.0.0.1 ping")
    assert "NOAUTH" in out.stdout + out.stderr


def test_containers_run_as_non_root_without_privileges(core):
    for pod in core.list_namespaced_pod(NAMESPACE, label_selector="app.kubernetes.io/part-of=airflow").items:
        if pod.status.phase != "Running":
            continue
        assert pod.spec.security_context.run_as_non_root, pod.metadata.name
        for c in pod.spec.containers + (pod.spec.init_containers or []):
            sc = c.security_context
            assert sc.allow_privilege_escalation is False, (pod.metadata.name, c.name)
            assert sc.capabilities.drop == ["ALL"], (pod.metadata.name, c.name)
            assert sc.read_only_root_filesystem, (pod.metadata.name, c.name)
