# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PgBouncer without a cluster: what airflow_pgbouncer_enabled adds to a render, and what it does not
(no credential in any manifest; the migration Job still reaches PostgreSQL itself)."""

import json

import pytest

from helpers import render_site, rendered_objects as objects, validate_schemas

SETTINGS = {"airflow_pgbouncer_enabled": True, "airflow_pgbouncer_replicas": 2,
            "airflow_pgbouncer_metadata_pool_size": 7, "airflow_pgbouncer_result_backend_pool_size": 3,
            "airflow_pgbouncer_extra_settings": {"server_idle_timeout": 120},
            "airflow_database": {"host": "", "port": 5432, "name": "airflow", "user": "airflow", "query": "sslmode=require"}}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pgbouncer")
    variables = tmp / "vars.json"
    variables.write_text(json.dumps(SETTINGS))
    render_site(tmp / "m", "kind", "-e", "@%s" % variables)
    return tmp / "m"


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def test_pgbouncer_renders_its_pool_service_policy_and_budget(rendered, plain_render):
    found = objects(rendered)
    assert not [key for key in objects(plain_render("kind")[0]) if key[1] == "airflow-pgbouncer"]
    for kind in ("ConfigMap", "Service", "Deployment", "NetworkPolicy", "PodDisruptionBudget"):
        assert (kind, "airflow-pgbouncer") in found, kind
    ini = found[("ConfigMap", "airflow-pgbouncer")]["data"]["pgbouncer.ini"]
    assert "airflow-metadata = host=airflow-postgresql" in ini and "pool_size=7" in ini and "pool_size=3" in ini
    assert "pool_mode = transaction" in ini and "server_idle_timeout = 120" in ini
    assert "server_tls_sslmode = require" in ini  # carried from airflow_database.query
    pod = found[("Deployment", "airflow-pgbouncer")]["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["pgbouncer", "exporter"]
    for container in pod["containers"]:
        assert container["readinessProbe"] and container["livenessProbe"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["topologySpreadConstraints"]  # two replicas go to different nodes where they can
    service = found[("Service", "airflow-pgbouncer")]
    assert {p["port"] for p in service["spec"]["ports"]} == {6432, 9127}
    run = validate_schemas(rendered.glob("*.yaml"))
    assert run.returncode == 0, run.stdout + run.stderr


def test_no_credential_is_rendered_and_the_auth_file_comes_from_the_secret(rendered):
    found = objects(rendered)
    text = "\n".join(p.read_text() for p in rendered.glob("*.yaml"))
    assert "users.txt" in text and "password" not in found[("ConfigMap", "airflow-pgbouncer")]["data"]["pgbouncer.ini"]
    volumes = {v["name"]: v for v in found[("Deployment", "airflow-pgbouncer")]["spec"]["template"]["spec"]["volumes"]}
    assert volumes["auth"]["secret"]["secretName"] == "airflow-pgbouncer"
    exporter = found[("Deployment", "airflow-pgbouncer")]["spec"]["template"]["spec"]["containers"][1]
    assert env_of(exporter)["PGBOUNCER_EXPORTER_DSN"]["valueFrom"]["secretKeyRef"] == {"name": "airflow-pgbouncer", "key": "exporter-dsn"}


def test_migrations_connect_directly_and_the_components_through_the_pool(rendered):
    found = objects(rendered)
    migrate = next(o for key, o in found.items() if key[0] == "Job" and "migrate" in key[1])
    for container in migrate["spec"]["template"]["spec"]["containers"]:
        direct = env_of(container)["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]["valueFrom"]["secretKeyRef"]
        assert direct == {"name": "airflow-secrets", "key": "AIRFLOW_DB_DIRECT_CONN"}
    scheduler = found[("Deployment", "airflow-scheduler")]["spec"]["template"]["spec"]["containers"][0]
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" not in env_of(scheduler)  # the Secret's pooled URL, by envFrom
    # PostgreSQL's policy admits PgBouncer's pods
    labels = found[("Deployment", "airflow-pgbouncer")]["spec"]["template"]["metadata"]["labels"].items()
    admitted = found[("NetworkPolicy", "airflow-postgresql")]["spec"]["ingress"][0]["from"]
    assert [p for p in admitted if p["podSelector"]["matchLabels"].items() <= labels
            and p["podSelector"]["matchLabels"].get("app.kubernetes.io/name") == "pgbouncer"]
