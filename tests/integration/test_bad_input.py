# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Malformed inventories fail with a message naming the problem, and leave the cluster as it was."""

import json
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import namespace_snapshot, run_playbook

CASES = [
    # (id, extra vars, words the failure must contain; no quotes: the output doubles them)
    ("negative replicas", {"airflow_worker_replicas": -1}, "airflow_worker_replicas: must be a whole number >= 0"),
    ("replicas not a number", {"airflow_scheduler_replicas": "three"}, "airflow_scheduler_replicas"),
    ("unknown executor", {"airflow_executor": "KubernetesExecutor"}, "airflow_executor"),
    ("invalid image repository", {"airflow_image": {"repository": "Apache/Airflow", "tag": "3.3.2"}},
     "airflow_image.repository"),
    ("invalid image tag", {"airflow_worker_image": {"repository": "apache/airflow", "tag": "3.3.2 beta"}},
     "airflow_worker_image.tag"),
    ("invalid image digest", {"airflow_image": {"repository": "apache/airflow", "tag": "3.3.2", "digest": "latest"}},
     "airflow_image.digest"),
    ("unknown pull policy", {"airflow_redis_image": {"repository": "redis", "tag": "7", "pull_policy": "Sometimes"}},
     "pull_policy"),
    ("bad storage size", {"airflow_logs_storage": {"size": "5 GB", "access_mode": "ReadWriteOnce"}},
     "airflow_logs_storage.size"),
    ("negative storage size", {"airflow_postgresql_storage": {"size": "-1Gi"}}, "airflow_postgresql_storage.size"),
    ("unknown access mode", {"airflow_dags_storage": {"size": "1Gi", "access_mode": "RWX"}}, "access_mode"),
    ("bad resource quantity", {"airflow_worker_resources": {"requests": {"memory": "lots"}}},
     "airflow_worker_resources.requests.memory"),
    ("invalid fernet key", {"airflow_fernet_key": "not-a-fernet-key"}, "airflow_fernet_key: not a valid Fernet key"),
    ("invalid namespace", {"airflow_namespace": "Airflow_Prod"}, "airflow_namespace"),
    ("name too long", {"airflow_instance": "a" * 70}, "airflow_instance"),
    ("unknown service type", {"airflow_api_server_service_type": "Ingress"}, "airflow_api_server_service_type"),
    ("node port out of range", {"airflow_api_server_node_port": 80}, "airflow_api_server_node_port"),
    ("base url without scheme", {"airflow_base_url": "airflow.example.com"}, "airflow_base_url"),
    ("zero concurrency", {"airflow_worker_concurrency": 0}, "airflow_worker_concurrency"),
    ("config not a mapping", {"airflow_config": "parallelism=3"}, "airflow_config"),
    ("database port not a number", {"airflow_database": {"host": "", "port": "five"}}, "port"),
    ("database port out of range", {"airflow_postgresql_enabled": False, "airflow_database": {
        "host": "pg.example.internal", "port": 70000, "name": "airflow", "user": "airflow", "query": ""}},
     "airflow_database.port: must be a TCP port between 1 and 65535"),
    # refused by the secret module, whose task hides values (no_log): the message still names the variable
    ("empty admin password", {"airflow_admin_password": ""},
     "airflow_admin_password: empty (Secret airflow-secrets, key AIRFLOW_ADMIN_PASSWORD); leave it unset (null)"),
    ("supplied secret differs from the stored one", {"airflow_admin_password": "not-the-stored-Passw0rd-42"},
     "airflow_admin_password (Secret airflow-secrets, key AIRFLOW_ADMIN_PASSWORD): the supplied value differs "
     "from the one stored in the cluster; nothing was written"),
    ("timeout not a number", {"airflow_wait_timeout": "soon"}, "airflow_wait_timeout"),
    ("git bundle URL holding a token", {"airflow_dag_bundles": [{"name": "main", "repo_url": "https://bot:t0ken@git.example.com/d.git"}]},
     "airflow_dag_bundles[0].repo_url: holds a password"),
    ("tolerations not a list", {"airflow_tolerations": "all"}, "airflow_tolerations"),
    ("missing kubeconfig", {"airflow_kubeconfig": "/nonexistent/kubeconfig"}, "airflow_kubeconfig: no kubeconfig"),
    ("external database without host", {"airflow_postgresql_enabled": False},
     "airflow_database.host: must be set when airflow_postgresql_enabled is false"),
    ("external redis without host", {"airflow_redis_enabled": False},
     "airflow_redis.host: must be set when airflow_redis_enabled is false"),
    ("redis host given as a URL", {"airflow_redis": {"host": "http://redis:6379", "port": 6379, "db": 0}},
     "is not a host: give only a DNS name or an IP address (no scheme, port or path); the port goes in airflow_redis.port"),
    ("database host with a port", {"airflow_database": {"host": "pg:5432", "port": 5432, "name": "airflow",
                                                        "user": "airflow", "query": ""}},
     "the port goes in airflow_database.port"),
    ("config value not a scalar", {"airflow_config": {"core": {"parallelism": {"value": 3}}}},
     "airflow_config.core.parallelism: a mapping is not a setting"),
    ("unknown config section", {"airflow_config": {"schedular": {"parsing_processes": 2}}},
     "airflow_config.schedular: Airflow 3.3.2 has no section [schedular] (did you mean"),
    ("unknown config key", {"airflow_config": {"core": {"paralelism": 2}}},
     "airflow_config.core.paralelism: Airflow 3.3.2 has no option paralelism in [core] (did you mean"),
    ("airflow 2 version", {"airflow_version": "2.10.5"}, "airflow_version: 2.10.5 is not supported"),
    # the database is at the schema of Airflow 3.3.x: an older Airflow is refused (its image need not exist)
    ("downgrade below the schema", {"airflow_version": "3.0.0"},
     "airflow_version: 3.0.0 is older than the schema of the metadata database (revision d2f4e1b3c5a7, introduced "
     "by Airflow 3.3.0): Airflow 3.0.0 cannot run on it; nothing was applied."),
    ("malformed version", {"airflow_version": "latest"}, "is not an Airflow version (such as 3.3.2); supported: 3.0.0"),
    ("request above limit", {"airflow_worker_resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}},
     "airflow_worker_resources: requests.cpu 2 is above limits.cpu 1"),
    ("ingress without host", {"airflow_ingress": {"enabled": True, "class_name": "", "host": ""}},
     "airflow_ingress.host: must be set when airflow_ingress.enabled is true"),
    # login settings (issue 17): refused before the Secrets or FAB's tables are touched
    ("unknown auth manager", {"airflow_auth_manager": "keycloak"},
     "value of airflow_auth_manager must be one of: fab, simple, got: keycloak"),  # the argument spec's words
    ("user with an unknown role", {"airflow_users": [{"username": "eve", "email": "eve@flujo.test", "roles": ["Wizard"]}]},
     "airflow_users[0] (eve).roles: unknown role Wizard"),
    ("duplicate username", {"airflow_users": [{"username": "eve", "email": "eve@flujo.test"},
                                              {"username": "Eve", "email": "eve2@flujo.test"}]},
     "airflow_users[1] (Eve): duplicate username, also airflow_users[0]"),
    ("user without email", {"airflow_users": [{"username": "eve", "roles": ["Viewer"]}]},
     "airflow_users[0] (eve).email: FAB needs an email for every user"),
    ("ldap without server uri", {"airflow_ldap": {"enabled": True, "server_uri": "", "search_base": "dc=flujo,dc=test"}},
     "airflow_ldap.server_uri: LDAP is enabled (airflow_ldap.enabled) but no server URI is set"),
    # a misspelled name is only a warning, shown before the preflight's errors (here: the bad replicas)
    ("misspelled variable", {"airflow_worker_replica": 2, "airflow_worker_replicas": -1},
     "[WARNING] airflow_worker_replica: no role of flujo.airflow has this variable, it is ignored (did you mean"),
]


def run_site(extra):
    """Return code and the whole output, whitespace folded (messages wrap)."""
    run = run_playbook("site.yml", "-e", json.dumps(extra), timeout=300)
    return run.returncode, " ".join(run.output.split())


@pytest.fixture(scope="module")
def before(k8s):
    return namespace_snapshot(k8s)


@pytest.fixture(scope="module")
def outcomes(k8s, before):
    """Every case's run, three at a time (a run is mostly Ansible starting up), then the namespace
    as they all left it: {case id: (return code, output)}, snapshot after."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = dict(zip([c[0] for c in CASES], pool.map(run_site, [c[1] for c in CASES])))
    return runs, namespace_snapshot(k8s)


@pytest.mark.parametrize("case, words", [(c[0], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_fails_naming_the_problem_and_changes_nothing(outcomes, before, case, words):
    runs, after = outcomes
    returncode, output = runs[case]
    assert returncode != 0
    assert words in output, output[-2000:]
    assert "changed=0" in output
    assert after == before


def test_an_unreachable_cluster_fails_without_changes(k8s, before, tmp_path):
    kubeconfig = tmp_path / "unreachable"
    kubeconfig.write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: Config
        clusters: [{name: gone, cluster: {server: "https://127.0.0.1:1"}}]
        users: [{name: u, user: {token: t}}]
        contexts: [{name: gone, context: {cluster: gone, user: u}}]
        current-context: gone
        """))
    returncode, output = run_site({"airflow_kubeconfig": str(kubeconfig), "airflow_kube_context": "gone"})
    assert returncode != 0
    assert "127.0.0.1" in output and ("refused" in output.lower() or "Max retries" in output), output[-2000:]
    assert namespace_snapshot(k8s) == before


def test_a_context_that_does_not_exist_is_named(k8s, before):
    returncode, output = run_site({"airflow_kube_context": "no-such-context"})
    assert returncode != 0 and "no-such-context" in output, output[-2000:]
    assert namespace_snapshot(k8s) == before


def test_a_scheduler_scaled_to_zero_is_allowed_and_said(k8s):
    # maintenance is a real use: allowed, but the run's last line says nothing will be scheduled
    # (check mode: the server dry-runs the scale-down, the deployment keeps its scheduler)
    before = namespace_snapshot(k8s)
    run = run_playbook("site.yml", "--check", "-e", "airflow_scheduler_replicas=0", timeout=300)
    assert run.returncode == 0, run.output[-2000:]
    assert "no scheduler: no task will be scheduled until airflow_scheduler_replicas > 0" in run.output
    assert namespace_snapshot(k8s) == before
    assert "no scheduler: no task" not in run_playbook("site.yml", "--check", timeout=300).output
