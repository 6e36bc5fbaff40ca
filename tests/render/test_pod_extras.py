# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""airflow_pod_extras without a cluster: what `all` sets reaches every Airflow pod (Deployments,
StatefulSets, the migration Job, the CronJobs), a component's key adds to it (mappings merged,
lists appended, values replaced) and reaches that component alone, pod_spec_override is merged in
last, the selectors never change, and PostgreSQL and Redis are left as they are. A wrong shape is
refused by the argument spec, naming the variable."""

import json

import yaml

from helpers import REPO, render_site, run_playbook

SIDECAR = {"name": "proxy", "image": "example.org/proxy:1", "args": ["--port", "9000"]}
EXTRAS = {
    "all": {
        "labels": {"team": "data"},
        "annotations": {"example.org/owner": "data"},
        "priority_class_name": "airflow-normal",
        "host_aliases": [{"ip": "10.0.0.10", "hostnames": ["git.internal"]}],
        "dns_config": {"options": [{"name": "ndots", "value": "2"}]},
        "extra_volumes": [{"name": "ca", "configMap": {"name": "corporate-ca"}}],
        "extra_volume_mounts": [{"name": "ca", "mountPath": "/etc/ssl/corporate", "readOnly": True}],
    },
    "worker": {
        "labels": {"pool": "default"},
        "priority_class_name": "airflow-high",
        "topology_spread_constraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                         "whenUnsatisfiable": "ScheduleAnyway",
                                         "labelSelector": {"matchLabels": {"app.kubernetes.io/component": "worker"}}}],
        "extra_containers": [SIDECAR],
        "extra_init_containers": [{"name": "warm-cache", "image": "example.org/warm:1"}],
        "pod_spec_override": {"terminationGracePeriodSeconds": 900, "enableServiceLinks": False},
    },
}


def pods(out):
    """{(kind, name): (object, its pod spec, its pod metadata)} of every rendered workload (the
    migration Job as airflow-migrate: its name is a hash of its spec)."""
    found = {}
    for path in out.glob("*.yaml"):
        obj = yaml.safe_load(path.read_text())
        template = {"CronJob": lambda o: o["spec"]["jobTemplate"]["spec"]["template"]}.get(
            obj["kind"], lambda o: (o.get("spec") or {}).get("template"))(obj)
        if template:
            name = "airflow-migrate" if obj["metadata"]["name"].startswith("airflow-migrate-") else obj["metadata"]["name"]
            found[(obj["kind"], name)] = (obj, template["spec"], template["metadata"])
    return found


def test_extras_reach_every_airflow_pod_and_a_component_adds_to_them(tmp_path, plain_render):
    out = tmp_path / "m"
    extras = tmp_path / "extras.json"
    extras.write_text(json.dumps({"airflow_pod_extras": EXTRAS,
                                  "airflow_service_account_annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/airflow"}}))
    render_site(out, "kind", "-e", "@%s" % extras)
    plain = pods(plain_render("kind")[0])
    rendered = pods(out)
    assert set(rendered) == set(plain)
    airflow = {key for key, (obj, spec, meta) in plain.items() if meta["labels"].get("app.kubernetes.io/name") == "airflow"}
    assert {name for kind, name in airflow} >= {"airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                                                "airflow-worker", "airflow-migrate", "airflow-db-clean", "airflow-log-groomer"}
    for key in airflow:
        obj, spec, meta = rendered[key]
        plain_obj, plain_spec, plain_meta = plain[key]
        worker = key == ("StatefulSet", "airflow-worker")
        assert meta["labels"] == dict(plain_meta["labels"], team="data", **({"pool": "default"} if worker else {})), key
        assert meta["annotations"]["example.org/owner"] == "data"
        assert obj["spec"].get("selector") == plain_obj["spec"].get("selector")   # selectors never move
        assert spec["priorityClassName"] == ("airflow-high" if worker else "airflow-normal")
        assert spec["hostAliases"] == EXTRAS["all"]["host_aliases"] and spec["dnsConfig"] == EXTRAS["all"]["dns_config"]
        assert spec["volumes"] == plain_spec["volumes"] + EXTRAS["all"]["extra_volumes"]
        main = spec["containers"][0]
        assert main["volumeMounts"] == plain_spec["containers"][0]["volumeMounts"] + EXTRAS["all"]["extra_volume_mounts"]
        assert main == dict(plain_spec["containers"][0], volumeMounts=main["volumeMounts"])  # nothing else changed
        if worker:
            assert spec["containers"][1:] == [SIDECAR]
            assert [c["name"] for c in spec["initContainers"]] == ["wait-for-migrations", "warm-cache"]
            assert spec["topologySpreadConstraints"] == EXTRAS["worker"]["topology_spread_constraints"]
            assert spec["terminationGracePeriodSeconds"] == 900 and spec["enableServiceLinks"] is False
            assert spec["securityContext"] == plain_spec["securityContext"]   # merged, not replaced
        else:
            assert len(spec["containers"]) == len(plain_spec["containers"])
            assert spec.get("initContainers") == plain_spec.get("initContainers")
            # the default soft spread of every Airflow pod, which the worker's own replaced
            assert spec.get("topologySpreadConstraints") == plain_spec.get("topologySpreadConstraints")
            assert "enableServiceLinks" not in spec
    for key in set(plain) - airflow:   # PostgreSQL, Redis, the exporter: not Airflow pods
        assert rendered[key] == plain[key], key
    account = yaml.safe_load(next(out.glob("*-serviceaccount-airflow.yaml")).read_text())
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/airflow"}


def test_a_wrong_shape_is_refused_naming_the_variable(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"airflow_pod_extras": {"worker": {"extra_containers": {"name": "not-a-list"}}}}))
    run = run_playbook("site.yml", "-e", "airflow_render_dir=%s" % (tmp_path / "m"), "-e", "@%s" % bad,
                       inventory=str(REPO / "inventory" / "kind"), timeout=300)
    assert run.returncode != 0
    assert "extra_containers" in run.output and "airflow_pod_extras" in run.output, run.output[-2000:]
    assert not list((tmp_path / "m").glob("*.yaml"))


def test_a_ca_bundle_reaches_every_airflow_container(tmp_path, plain_render):
    pem = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
    variables = tmp_path / "ca.json"
    variables.write_text(json.dumps({"airflow_ca_bundle": {"pem": pem}}))
    out = tmp_path / "m"
    render_site(out, "kind", "-e", "@%s" % variables)
    bundle = yaml.safe_load(next(out.glob("*-configmap-airflow-ca-bundle.yaml")).read_text())
    assert bundle["data"] == {"ca.crt": pem}
    settings = yaml.safe_load(next(out.glob("*-configmap-airflow-config.yaml")).read_text())["data"]
    assert settings["SSL_CERT_FILE"] == settings["REQUESTS_CA_BUNDLE"] == "/etc/ssl/airflow-ca/ca.crt"
    plain = pods(plain_render("kind")[0])
    mount = {"name": "ca-bundle", "mountPath": "/etc/ssl/airflow-ca", "readOnly": True}
    for key, (obj, spec, meta) in pods(out).items():
        if meta["labels"].get("app.kubernetes.io/name") != "airflow":
            assert (obj, spec, meta) == plain[key], key
            continue
        assert {"name": "ca-bundle", "configMap": {"name": "airflow-ca-bundle", "items": [{"key": "ca.crt", "path": "ca.crt"}]}} in spec["volumes"]
        for container in spec["containers"][:1] + spec.get("initContainers", []):
            assert mount in container["volumeMounts"], (key, container["name"])

    # a ConfigMap of the user's instead: none of ours, theirs is mounted
    variables.write_text(json.dumps({"airflow_ca_bundle": {"config_map": "corporate-ca", "key": "bundle.pem"}}))
    out = tmp_path / "m2"
    render_site(out, "kind", "-e", "@%s" % variables)
    assert not list(out.glob("*-configmap-airflow-ca-bundle.yaml"))
    spec = pods(out)[("Deployment", "airflow-scheduler")][1]
    assert {"name": "ca-bundle", "configMap": {"name": "corporate-ca", "items": [{"key": "bundle.pem", "path": "ca.crt"}]}} in spec["volumes"]


def test_remote_logging_reaches_the_pods_that_write_or_read_logs_and_the_migration_checks_it(tmp_path, plain_render):
    variables = tmp_path / "remote.json"
    variables.write_text(json.dumps({"airflow_remote_logging": {
        "enabled": True, "base_log_folder": "s3://airflow-logs/kind", "endpoint_url": "http://seaweedfs.s3:8333",
        "access_key_id": "AKIAFLUJO", "secret_access_key": "not-in-any-manifest"}}))
    out = tmp_path / "m"
    render_site(out, "kind", "-e", "@%s" % variables)
    assert "not-in-any-manifest" not in "".join(p.read_text() for p in out.glob("*.yaml"))
    # not in the shared ConfigMap: the pods that take the connection take the settings with it
    settings = yaml.safe_load(next(out.glob("*-configmap-airflow-config.yaml")).read_text())["data"]
    assert not [k for k in settings if k.startswith("AIRFLOW__LOGGING__REMOTE")]
    connection = {"name": "AIRFLOW_CONN_FLUJO_REMOTE_LOGS", "valueFrom": {"secretKeyRef": {
        "name": "airflow-remote-logging", "key": "AIRFLOW_CONN_FLUJO_REMOTE_LOGS"}}}
    remote_env = [{"name": "AIRFLOW__LOGGING__REMOTE_LOGGING", "value": "True"},
                  {"name": "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER", "value": "s3://airflow-logs/kind"},
                  {"name": "AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID", "value": "flujo_remote_logs"},
                  {"name": "AIRFLOW__LOGGING__DELETE_LOCAL_LOGS", "value": "False"}, connection]
    rendered, plain = pods(out), pods(plain_render("kind")[0])
    takes = {name for (kind, name), (obj, spec, meta) in rendered.items()
             if spec["containers"][0].get("env", [])[-len(remote_env):] == remote_env}
    assert takes == {"airflow-api-server", "airflow-dag-processor", "airflow-triggerer", "airflow-worker", "airflow-migrate"}
    for key in set(rendered) - {("Job", "airflow-migrate")}:
        if key[1] not in takes:   # the scheduler, the CronJobs, PostgreSQL, Redis: as without it
            assert rendered[key] == plain[key], key
    job, spec, _ = rendered[("Job", "airflow-migrate")]
    check = [c for c in spec["initContainers"] if c["name"] == "check-remote-logging"]
    assert len(check) == 1 and check[0]["command"][-2:] == ["s3://airflow-logs/kind", "flujo_remote_logs"]
    assert connection in check[0]["env"]
    assert [c["name"] for c in spec["initContainers"]] == ["wait-for-database", "check-remote-logging"]
    assert job["spec"]["podFailurePolicy"]["rules"][0]["onExitCodes"] == {
        "containerName": "check-remote-logging", "operator": "In", "values": [3]}
