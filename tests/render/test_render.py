# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render mode: every manifest written without a cluster, valid against the Kubernetes 1.35 schemas."""


import pytest
import yaml

from helpers import render_site, validate_schemas


def render(tmp_path, inventory, *extra):
    out = tmp_path / "manifests"
    render_site(out, inventory, *extra)
    return sorted(out.glob("*.yaml"))


@pytest.mark.parametrize("inventory", ["kind", "production"])
def test_rendered_manifests_validate_against_the_schemas(plain_render, inventory):
    files = sorted(plain_render(inventory)[0].glob("*.yaml"))
    kinds = {yaml.safe_load(f.read_text())["kind"] for f in files}
    assert {"Deployment", "StatefulSet", "Job", "ConfigMap", "PersistentVolumeClaim", "Service"} <= kinds
    assert "Secret" not in kinds  # secrets only ever come from the airflow_secret module
    run = validate_schemas(files)
    assert run.returncode == 0, run.stdout + run.stderr


def test_production_example_renders_ingress_and_external_settings(tmp_path):
    files = render(tmp_path, "production", "-e", '{"airflow_postgresql_enabled": false, '
                   '"airflow_database": {"host": "pg.example.internal", "port": 5432, "name": "airflow", '
                   '"user": "airflow", "query": "sslmode=require"}}')
    names = [f.name for f in files]
    assert any("ingress-airflow-api-server" in n for n in names)
    assert not any("airflow-postgresql" in n for n in names)
    config = yaml.safe_load(next(f for f in files if "configmap-airflow-config" in f.name).read_text())["data"]
    assert config["AIRFLOW__API__BASE_URL"] == "https://airflow.example.com"
    assert config["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == \
        "http://airflow-api-server.airflow.svc.cluster.local:8080/execution/"
    assert config["AIRFLOW__CORE__PARALLELISM"] == "64"


def test_components_roll_when_config_changes(tmp_path, plain_render):
    def annotations(files):
        return {f.name: yaml.safe_load(f.read_text())["spec"]["template"]["metadata"].get("annotations", {})
                for f in files if ("deployment" in f.name and "airflow-statsd" not in f.name)  # the exporter has no Airflow config
                or "statefulset-airflow-worker" in f.name}
    before = annotations(sorted(plain_render("kind")[0].glob("*.yaml")))
    after = annotations(render(tmp_path, "kind", "-e", '{"airflow_config": {"core": {"parallelism": 7}}}'))
    for name, value in before.items():
        assert value["checksum/config"] != after[name]["checksum/config"], name


def test_an_image_digest_pins_every_airflow_container(tmp_path):
    digest = "sha256:" + "5e" * 32
    files = render(tmp_path, "production", "-e", '{"airflow_image": {"repository": "apache/airflow", '
                   '"tag": "3.3.2", "digest": "%s"}}' % digest)
    images = {}
    for f in files:
        doc = yaml.safe_load(f.read_text())
        if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
            spec = doc["spec"]["template"]["spec"]
            for c in spec["containers"] + spec.get("initContainers", []):
                images[(doc["metadata"]["name"], c["name"])] = c["image"]
    airflow = {k: v for k, v in images.items() if "apache/airflow" in v}
    assert len(airflow) >= 10 and set(airflow.values()) == {"apache/airflow:3.3.2@" + digest}, airflow


def test_a_scheduler_scaled_to_zero_renders_and_says_so_at_the_end(tmp_path):
    out = tmp_path / "manifests"
    run = render_site(out, "kind", "-e", "airflow_scheduler_replicas=0", "-e", "airflow_worker_replicas=2")
    replicas = {yaml.safe_load(f.read_text())["metadata"]["name"]: yaml.safe_load(f.read_text())["spec"].get("replicas")
                for f in out.glob("*.yaml") if "deployment" in f.name or "statefulset" in f.name}
    assert replicas["airflow-scheduler"] == 0 and replicas["airflow-worker"] == 2  # numbers, also from -e
    last_task = run.output.split("TASK [")[-1]
    assert "no scheduler: no task will be scheduled until airflow_scheduler_replicas > 0" in last_task


def test_with_a_scheduler_nothing_is_said_about_it(plain_render):
    run = plain_render("kind")[1]
    assert "no scheduler:" not in run.output
