# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.flujo.airflow.plugins.filter.input_checks import input_errors
from ansible_collections.flujo.airflow.plugins.filter.airflow import config_env, image_pull_policy, image_ref, secret_checksum

GOOD = {
    "airflow_image": {"repository": "apache/airflow", "tag": "3.3.2", "pull_policy": "IfNotPresent"},
    "airflow_worker_image": {"repository": "registry.example.com:5000/team/airflow", "tag": "3.3.2-python3.12"},
    "airflow_redis_image": {"repository": "redis", "tag": "7", "digest": "sha256:" + "a1" * 32},
    "airflow_worker_replicas": 3,
    "airflow_logs_storage": {"size": "5Gi", "access_mode": "ReadWriteMany", "storage_class": "nfs-client"},
    "airflow_worker_resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
    "airflow_namespace": "airflow",
    "airflow_base_url": "https://airflow.example.com/sub",
    "airflow_api_server_node_port": 30080,
    "airflow_api_server_service_type": "NodePort",
}


# the roles' defaults: a mapping set in the inventory replaces them whole
FULL = {"airflow_database": {"host": "", "port": 5432, "name": "airflow", "user": "airflow", "query": ""},
        "airflow_redis": {"host": "", "port": 6379, "db": 0}}


def full(setting, **values):
    return dict(FULL[setting], **values)


def test_good_input_has_no_errors():
    assert input_errors(GOOD) == []
    # -e name=value on the command line passes numbers as strings
    assert input_errors({"airflow_worker_replicas": "2", "airflow_api_server_node_port": "30080"}) == []


@pytest.mark.parametrize("name, value, words", [
    ("airflow_worker_replicas", -1, ">= 0"),
    ("airflow_worker_replicas", "three", ">= 0"),
    ("airflow_worker_replicas", "-2", ">= 0"),
    ("airflow_image", {"repository": "Apache/Airflow", "tag": "3"}, "repository"),
    ("airflow_image", {"repository": "apache/airflow", "tag": "3.3.2 "}, "tag"),
    ("airflow_image", {"repository": "apache/airflow", "tag": "x", "pull_policy": "Sometimes"}, "pull_policy"),
    ("airflow_image", {"repository": "apache/airflow", "tag": "x", "digest": "sha256:abc"}, "digest"),
    ("airflow_logs_storage", {"size": "5 GB"}, "quantity"),
    ("airflow_logs_storage", {"size": "5Gi", "access_mode": "RWX"}, "access_mode"),
    ("airflow_worker_resources", {"requests": {"memory": "lots"}}, "quantity"),
    ("airflow_worker_resources", {"request": {"memory": "1Gi"}}, "unknown key"),
    ("airflow_namespace", "Airflow_Prod", "Kubernetes name"),
    ("airflow_config_name", "x" * 64, "Kubernetes name"),
    ("airflow_base_url", "airflow.example.com", "http(s) URL"),
    ("airflow_api_server_node_port", 8080, "30000"),
    ("airflow_api_server_service_type", "Ingress", "ClusterIP"),
    ("airflow_worker_concurrency", 0, ">= 1"),
    ("airflow_wait_timeout", -5, ">= 1"),
    ("airflow_fernet_key", "not-a-fernet-key", "Fernet"),
    ("airflow_config", "parallelism=3", "mapping of sections"),
    ("airflow_config", {"core": "parallelism=3"}, "mapping of sections"),
    ("airflow_worker_extra_env", "A=1", "mapping"),
    ("airflow_extra_secret_env", {"MY VAR": "x"}, "not a valid environment variable name"),
    ("airflow_extra_secret_env", {"AIRFLOW_CONN_X": {"host": "h"}}, "single value, not a mapping"),
    ("airflow_extra_env_from", [{"secret": "a", "config_map": "b"}], "exactly one of secret or config_map"),
    ("airflow_extra_env_from", [{"secret": "Not_A_Name"}], "Kubernetes name"),
    ("airflow_ca_bundle", {"pem": "/etc/ssl/certs/ca.crt"}, "no PEM certificate"),
    ("airflow_ca_bundle", {"pem": "-----BEGIN CERTIFICATE-----", "config_map": "ca"}, "not both"),
    ("airflow_tolerations", "all", "list"),
    ("airflow_remote_logging", "s3://logs", "must be a mapping"),
    ("airflow_remote_logging", {"enabled": True}, "must be s3://BUCKET"),
    ("airflow_remote_logging", {"enabled": True, "base_log_folder": "logs/airflow"}, "must be s3://BUCKET"),
    ("airflow_remote_logging", {"enabled": True, "base_log_folder": "s3://Logs_Bucket/x"}, "not a bucket name"),
    ("airflow_remote_logging", {"enabled": True, "base_log_folder": "s3://logs", "endpoint_url": "seaweed:8333"},
     "http(s) URL"),
    ("airflow_remote_logging", {"enabled": True, "base_log_folder": "s3://logs", "access_key_id": "AKIA"},
     "together, or neither"),
    ("airflow_remote_logging", {"enabled": True, "base_log_folder": "s3://logs", "connection_id": "my-logs"},
     "not a connection id"),
    ("airflow_remote_logging", {"enabled": False, "bucket": "logs"}, "no such setting"),
    ("airflow_worker_pools", {"name": "gpu"}, "must be a list"),
    ("airflow_worker_pools", [{"name": "GPU", "queues": ["gpu"]}], "not a pool name"),
    ("airflow_worker_pools", [{"name": "gpu", "queues": "gpu"}], "queues: must be a list"),
    ("airflow_worker_pools", [{"name": "gpu", "queues": ["gpu,io"]}], "queues: must be a list"),
    ("airflow_worker_pools", [{"name": "gpu", "queues": ["gpu"]}, {"name": "gpu", "queues": ["x"]}], "names two pools"),
    ("airflow_worker_pools", [{"name": ["gpu"], "queues": ["gpu"]}], "not a pool name"),
    ("airflow_worker_pools", [{"name": "gpu", "queues": ["gpu"], "replica": 2}], "no such setting (did you mean 'replicas'?)"),
    ("airflow_worker_pools", [{"name": "gpu", "queues": ["gpu"], "concurrency": 0}], ">= 1"),
    ("airflow_worker_pools", [{"name": "gpu", "queues": ["gpu"], "resources": {"limits": {"nvidia.com/gpu": "one"}}}], "quantity"),
    ("airflow_pgbouncer_extra_settings", "server_idle_timeout=120", "mapping of [pgbouncer] settings"),
    ("airflow_pgbouncer_extra_settings", {"Server-Idle": 1}, "not a PgBouncer setting name"),
    ("airflow_pgbouncer_extra_settings", {"listen_port": 5432}, "set by the role"),
    ("airflow_pgbouncer_extra_settings", {"server_reset_query": "DISCARD ALL;\nSELECT 1"}, "single-line value"),
    ("airflow_pgbouncer_metadata_pool_size", 0, ">= 1"),
    ("airflow_pgbouncer_max_client_conn", "many", ">= 1"),
    ("airflow_worker_autoscaling", "keda", "must be a mapping"),
    ("airflow_worker_autoscaling", {"enabled": True, "max_replica": 3}, "no such setting (did you mean 'max_replicas'?)"),
    ("airflow_worker_autoscaling", {"enabled": True, "engine": "vpa"}, "must be keda (queue depth) or hpa (CPU)"),
    ("airflow_worker_autoscaling", {"enabled": True, "engine": "hpa", "min_replicas": 0}, ">= 1"),
    ("airflow_worker_autoscaling", {"enabled": True, "min_replicas": 4, "max_replicas": 2}, "min_replicas (4) is above max_replicas (2)"),
    ("airflow_worker_autoscaling", {"enabled": True, "polling_interval": 0}, ">= 1"),
    ("airflow_worker_autoscaling", {"enabled": True, "keda_namespace": "KEDA"}, "not a valid Kubernetes name"),
])
def test_each_bad_value_is_named(name, value, words):
    errors = input_errors(dict(GOOD, **{name: value}))
    assert len(errors) == 1, errors
    assert errors[0].startswith(name) and words in errors[0]


def test_remote_logging_is_checked_only_when_on_and_never_names_a_key():
    good = {"enabled": True, "base_log_folder": "s3://airflow-logs/prod", "endpoint_url": "https://s3.example.com",
            "access_key_id": "AKIAEXAMPLE", "secret_access_key": "wJalr/K7MDENG+bPxRfiCY"}
    assert input_errors(dict(GOOD, airflow_remote_logging=good)) == []
    assert input_errors(dict(GOOD, airflow_remote_logging={"enabled": False, "base_log_folder": ""})) == []
    errors = input_errors(dict(GOOD, airflow_remote_logging=dict(good, access_key_id="", base_log_folder="s3://x")))
    assert len(errors) == 2 and not [e for e in errors if "wJalr" in e]


@pytest.mark.parametrize("route, words", [
    ({"enabled": True, "parent_refs": []}, "parent_refs: must list the Gateways"),
    ({"enabled": True, "parent_refs": [{"namespace": "gateways"}]}, "parent_refs: must list the Gateways"),
    ({"enabled": True, "parent_refs": [{"name": "public"}], "hostnames": ["bad host", "airflow.example.com"]}, "not a host name"),
    ({"enabled": True, "parent_refs": [{"name": "public"}], "hostnames": ["other.example.com"]},
     "the host of airflow_base_url (airflow.example.com) is not among them"),
    ({"enabled": True, "parent_refs": [{"name": "public"}], "hostnames": ["*.example.com", "Airflow.example.com"]},
     "not a host name the Gateway API takes"),
    ({"enabled": True, "parent_refs": [{"name": "public"}], "hostnames": ["*.example.com", "10.0.0.1"]},
     "not a host name the Gateway API takes"),
    ({"enabled": True, "parent_refs": [{"name": "public"}], "annotations": "a=b"}, "annotations: must be a mapping"),
])
def test_a_route_names_its_gateways_and_the_base_url_host(route, words):
    errors = input_errors(dict(GOOD, airflow_http_route=route))
    assert len(errors) == 1 and errors[0].startswith("airflow_http_route.") and words in errors[0], errors
    good = {"enabled": True, "parent_refs": [{"name": "public"}], "hostnames": ["airflow.example.com", "*.example.org"]}
    assert input_errors(dict(GOOD, airflow_http_route=good)) == []
    # a wildcard covers the base URL's host
    assert input_errors(dict(GOOD, airflow_http_route=dict(good, hostnames=["*.example.com"]))) == []
    assert input_errors(dict(GOOD, airflow_http_route={"enabled": False, "parent_refs": []})) == []


def test_config_env_spells_airflow_variables():
    assert config_env({"core": {"parallelism": 64, "load_examples": False}, "celery": {"x": [1]}}) == {
        "AIRFLOW__CORE__PARALLELISM": "64", "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CELERY__X": "[1]"}


def test_secret_checksum_follows_only_the_chosen_keys():
    result = {"secrets": {"s": {"uid": "u1", "key_revisions": {"A": 1, "B": 1}}}}
    bumped = {"secrets": {"s": {"uid": "u1", "key_revisions": {"A": 1, "B": 2}}}}
    assert secret_checksum(result, "s", ["A"]) == secret_checksum(bumped, "s", ["A"])
    assert secret_checksum(result, "s") != secret_checksum(bumped, "s")
    recreated = {"secrets": {"s": {"uid": "u2", "key_revisions": {"A": 1, "B": 1}}}}
    assert secret_checksum(result, "s") != secret_checksum(recreated, "s")
    assert secret_checksum({}, "s") == ""


def test_sync_plan_copies_only_what_differs_and_lists_removals():
    from ansible_collections.flujo.airflow.plugins.filter.airflow import sync_plan
    plan = sync_plan({"a.py": "1", "b.py": "2", "sub/c.py": "3"}, {"a.py": "1", "b.py": "9", "old.py": "4"})
    assert plan == {"changed": ["b.py", "sub/c.py"], "removed": ["old.py"]}
    assert sync_plan({"a.py": "1"}, {"a.py": "1"}) == {"changed": [], "removed": []}


def test_image_ref_pins_the_digest_and_keeps_the_tag_readable():
    assert image_ref({"repository": "apache/airflow", "tag": "3.3.2"}) == "apache/airflow:3.3.2"
    digest = "sha256:" + "0f" * 32
    assert image_ref({"repository": "apache/airflow", "tag": "3.3.2", "digest": digest}) == \
        "apache/airflow:3.3.2@" + digest
    assert image_ref({"repository": "apache/airflow", "tag": "", "digest": digest}) == "apache/airflow@" + digest


def test_pull_policy_defaults_when_left_out():
    assert image_pull_policy({"repository": "redis", "tag": "7"}) == "IfNotPresent"
    assert image_pull_policy({"repository": "redis", "tag": "7", "pull_policy": "Never"}) == "Never"


# --- checks across variables and against Airflow's own configuration reference -------------------

import json
import os

from ansible_collections.flujo.airflow.plugins.filter.input_checks import (
    config_reference, downgrade_errors, input_warnings, quantity_value)

TOP = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..")
REFERENCE = os.path.join(TOP, "roles", "airflow_preflight", "files", "airflow-3.3.2-config.json")
with open(REFERENCE) as handle:
    REFERENCES = {"3.3.2": json.load(handle)}


def errors_of(**variables):
    return input_errors(dict(dict(GOOD, airflow_version="3.3.2"), **variables), REFERENCES)


def the_error(**variables):
    errors = errors_of(**variables)
    assert len(errors) == 1, errors
    return errors[0]


def test_good_cross_checked_input_has_no_errors():
    assert errors_of(
        airflow_postgresql_enabled=False, airflow_database=full("airflow_database", host="pg.db.svc"),
        airflow_redis_enabled="false", airflow_redis=full("airflow_redis", host="10.0.0.7"),
        airflow_ingress={"enabled": True, "host": "airflow.example.com"},
        airflow_config={"core": {"parallelism": 32, "load_examples": False},
                        "database": {"sql_alchemy_conn_cmd": "cat /x"}, "celery": {"worker_concurrency": 8}},
        airflow_api_server_resources={"requests": {"cpu": "500m", "memory": "512Mi"},
                                      "limits": {"cpu": "1", "memory": "1Gi"}}) == []
    assert errors_of(airflow_database=full("airflow_database", host="fd00::1"), airflow_version="3.0.0rc1") == []


@pytest.mark.parametrize("switch, setting", [("airflow_postgresql_enabled", "airflow_database"),
                                             ("airflow_redis_enabled", "airflow_redis")])
@pytest.mark.parametrize("off", [False, "false", "no"])
def test_an_external_datastore_needs_its_host(switch, setting, off):
    for value in (full(setting, host=""), full(setting, host=None, port=1)):
        error = the_error(**{switch: off, setting: value})
        assert error.startswith(setting + ".host: must be set when " + switch + " is false")
    assert errors_of(**{switch: True, setting: full(setting, host="")}) == []


@pytest.mark.parametrize("setting, host", [
    ("airflow_redis", "http://redis:6379"), ("airflow_database", "pg:5432"), ("airflow_database", "pg/airflow"),
    ("airflow_database", "postgresql://pg"), ("airflow_redis", "redis host"), ("airflow_redis", "[::1]:6379")])
def test_a_host_is_a_name_or_an_address(setting, host):
    error = the_error(**{setting: full(setting, host=host)})
    assert error.startswith(setting + ".host: ") and "DNS name or an IP address" in error
    assert error.endswith("the port goes in %s.port" % setting)


@pytest.mark.parametrize("value, kind", [({"value": 3}, "mapping"), ([1, 2], "list")])
def test_a_config_value_is_a_scalar(value, kind):
    error = the_error(airflow_config={"core": {"parallelism": value}})
    assert error.startswith("airflow_config.core.parallelism: a %s is not a setting" % kind)


def test_an_unknown_config_section_fails_with_the_closest_one():
    assert the_error(airflow_config={"schedular": {"parsing_processes": 2}}) == (
        "airflow_config.schedular: Airflow 3.3.2 has no section [schedular] (did you mean 'scheduler'?)")
    assert "did you mean" not in the_error(airflow_config={"zzzz": {"a": 1}})


def test_an_unknown_config_key_fails_in_airflow_sections():
    assert the_error(airflow_config={"core": {"paralelism": 2}}) == (
        "airflow_config.core.paralelism: Airflow 3.3.2 has no option paralelism in [core] "
        "(did you mean 'parallelism'?)")
    assert "it is an option of [core]" in the_error(airflow_config={"scheduler": {"parallelism": 2}})


def test_an_unknown_key_in_a_provider_section_only_warns():
    variables = dict(GOOD, airflow_version="3.3.2", airflow_config={"celery": {"worker_concurency": 2}})
    assert input_errors(variables, REFERENCES) == []
    warnings = input_warnings(variables, (), REFERENCES)
    assert len(warnings) == 1 and warnings[0].startswith("airflow_config.celery.worker_concurency: ")
    assert "did you mean 'worker_concurrency'?" in warnings[0]


def test_config_is_checked_against_its_version_or_the_newest_with_a_warning():
    assert config_reference({"3.3.2": 1, "3.10.0": 2, "3.9.1": 3}, "3.3.2") == (1, None)
    reference, warning = config_reference({"3.3.2": 1, "3.10.0": 2, "3.9.1": 3}, "3.4.0")
    assert reference == 2 and warning.startswith("airflow_config: ") and "Airflow 3.10.0's" in warning
    warnings = input_warnings({"airflow_version": "3.4.0", "airflow_config": {"core": {"parallelism": 1}}},
                              ("airflow_version", "airflow_config"), REFERENCES)
    assert warnings == ["airflow_config: this collection has no list of Airflow 3.4.0's configuration options; "
                        "checked against Airflow 3.3.2's"]


def test_undeclared_variables_warn_with_the_closest_declared_name():
    known = ("airflow_worker_replicas", "airflow_namespace")
    assert input_warnings({"airflow_worker_replica": 2, "airflow_namespace": "a"}, known) == [
        "airflow_worker_replica: no role of flujo.airflow has this variable, it is ignored "
        "(did you mean 'airflow_worker_replicas'?)"]
    assert input_errors({"airflow_worker_replica": 2}) == []


@pytest.mark.parametrize("version, words", [
    ("2.10.5", "airflow_version: 2.10.5 is not supported"), ("4.0.0", "is not supported"),
    ("latest", "is not an Airflow version"), ("3", "is not an Airflow version"), ("3.x.1", "not an Airflow")])
def test_airflow_version_outside_the_range_fails(version, words):
    error = the_error(airflow_version=version)
    assert error.startswith("airflow_version: ") and words in error and "3.0.0 or later, below 4.0.0" in error


@pytest.mark.parametrize("a, b", [("500m", "1"), ("512Mi", "1Gi"), ("999", "1k"), ("1G", "1Gi"), ("0.5", "600m")])
def test_quantities_compare_by_value(a, b):
    assert quantity_value(a) < quantity_value(b)
    assert quantity_value("1") == quantity_value("1000m") and quantity_value("1Ki") == quantity_value("1024")


@pytest.mark.parametrize("resources, message", [
    ({"requests": {"cpu": "2"}, "limits": {"cpu": "1"}},
     "airflow_worker_resources: requests.cpu 2 is above limits.cpu 1"),
    ({"requests": {"memory": "2Gi"}, "limits": {"memory": "1500Mi"}},
     "airflow_worker_resources: requests.memory 2Gi is above limits.memory 1500Mi"),
    ({"requests": {"cpu": "1.5x"}}, "airflow_worker_resources.requests.cpu: '1.5x' is not a Kubernetes quantity"),
    ({"requests": "1Gi"}, "airflow_worker_resources.requests: must be a mapping"),
])
def test_resources_kubernetes_would_reject(resources, message):
    assert the_error(airflow_worker_resources=resources).startswith(message)


def test_an_enabled_ingress_needs_a_host():
    assert the_error(airflow_ingress={"enabled": True, "host": ""}).startswith(
        "airflow_ingress.host: must be set when airflow_ingress.enabled is true")
    assert errors_of(airflow_ingress={"enabled": False, "host": ""}) == []


def test_every_role_declares_its_names_to_the_preflight():
    import yaml
    with open(os.path.join(TOP, "roles", "airflow_preflight", "vars", "main.yml")) as handle:
        data = yaml.safe_load(handle)
    listed = set(data["__airflow_preflight_roles"]) | set(data["__airflow_preflight_day2_roles"])
    assert listed == set(os.listdir(os.path.join(TOP, "roles")))


@pytest.mark.parametrize("setting", ["airflow_database", "airflow_redis"])
@pytest.mark.parametrize("port", [0, 70000, "x", None, -1])
def test_datastore_port_out_of_range(setting, port):
    errors = input_errors({setting: full(setting, host="db.example", port=port)})
    assert any(e.startswith(setting + ".port: must be a TCP port") for e in errors), errors


def test_datastore_ports_in_range_pass():
    assert input_errors(FULL) == []


with open(os.path.join(TOP, "roles", "airflow_preflight", "files", "airflow-3.3.2-schema.json")) as handle:
    SCHEMA = json.load(handle)
HEAD_3_3 = "d2f4e1b3c5a7"   # the last revision of Airflow 3.3.0 (3.3.2 adds none)


def test_every_revision_of_the_schema_map_belongs_to_a_release():
    assert SCHEMA["airflow_version"] == "3.3.2" and SCHEMA["revisions"][HEAD_3_3] == "3.3.0"
    assert len(SCHEMA["revisions"]) > 100


@pytest.mark.parametrize("version", ["3.0.0", "3.2.1", "3.3.0rc1"])
def test_a_version_older_than_the_schema_is_refused(version):
    errors = downgrade_errors(version, [SCHEMA], "%s" % HEAD_3_3, ["3.3.2"])
    if version == "3.3.0rc1":   # a pre-release runs the schema of its release
        assert errors == []
        return
    assert len(errors) == 1 and errors[0].startswith("airflow_version: %s is older than the schema" % version), errors
    assert "revision %s, introduced by Airflow 3.3.0" % HEAD_3_3 in errors[0]
    assert "airflow db downgrade --to-version %s" % version in errors[0]
    assert "airflow_allow_downgrade=true" in errors[0]


@pytest.mark.parametrize("version", ["3.3.0", "3.3.1", "3.3.2", "3.4.0"])
def test_the_same_schema_or_an_upgrade_passes(version):
    assert downgrade_errors(version, [SCHEMA], [HEAD_3_3], ["3.3.2"]) == []


def test_a_half_done_migration_may_be_resumed():
    middle = next(rev for rev, release in SCHEMA["revisions"].items() if release == "3.2.0")
    assert downgrade_errors("3.2.0", [SCHEMA], middle) == []
    assert downgrade_errors("3.3.2", [SCHEMA], middle) == []
    assert downgrade_errors("3.1.8", [SCHEMA], middle) != []


def test_an_unknown_revision_is_from_a_newer_airflow_unless_the_version_is_newer_than_the_map():
    assert "which no Airflow up to 3.3.2 has" in downgrade_errors("3.3.2", [SCHEMA], "0ffffffffff0")[0]
    assert downgrade_errors("3.4.0", [SCHEMA], "0ffffffffff0") == []


def test_without_the_database_the_pod_labels_decide():
    error = downgrade_errors("3.0.0", [SCHEMA], "", ["3.3.2", "3.0.0"])
    assert error[0].startswith("airflow_version: 3.0.0 is older than the Airflow 3.3.2 the deployment runs"), error
    assert downgrade_errors("3.3.2", [SCHEMA], "", ["3.3.2"]) == []
    assert downgrade_errors("3.0.0", [SCHEMA], "", []) == []


def test_the_override_allows_a_downgrade():
    assert downgrade_errors("3.0.0", [SCHEMA], HEAD_3_3, ["3.3.2"], allow=True) == []


def test_the_newest_map_is_used():
    ten = {"airflow_version": "3.10.0", "revisions": {HEAD_3_3: "3.3.0"}}
    nine = {"airflow_version": "3.9.0", "revisions": {}}
    # 3.10.0 is newer than 3.9.0 (not by string order): its map knows the revision
    assert downgrade_errors("3.2.0", [nine, ten], HEAD_3_3) != []


def test_a_pool_takes_the_default_worker_and_its_own_settings_win_by_name():
    from ansible_collections.flujo.airflow.plugins.filter.airflow import worker_pool
    base = {"name": "airflow-worker", "component": "worker", "spec": {"replicas": 3, "serviceName": "airflow-worker"},
            "command": ["airflow", "celery", "worker"], "resources": {"limits": {"memory": "1Gi"}},
            "env": [{"name": "AIRFLOW__CELERY__WORKER_CONCURRENCY", "value": "8"}, {"name": "SHARED", "value": "base"},
                    {"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "r", "key": "password"}}}]}
    pool = worker_pool({"name": "io", "queues": ["io", "bulk"], "replicas": None, "concurrency": 2,
                        "extra_env": {"SHARED": "pool", "OWN": True}}, base)
    assert pool["name"] == "airflow-worker-io" and pool["component"] == "worker-io" and pool["container"] == "worker"
    assert pool["spec"] == {"replicas": 1, "serviceName": "airflow-worker-io"}
    assert pool["command"] == ["airflow", "celery", "worker", "--queues", "io,bulk"]
    assert pool["env"] == [{"name": "AIRFLOW__CELERY__WORKER_CONCURRENCY", "value": "2"}, {"name": "SHARED", "value": "pool"},
                           base["env"][2], {"name": "OWN", "value": "True"}]
    assert pool["resources"] == base["resources"] and base["env"][1]["value"] == "base"   # the default untouched


def test_pgbouncer_refuses_a_double_quote_in_the_credentials_without_showing_them():
    quoted = dict(GOOD, airflow_database=full("airflow_database", user='air"flow'), airflow_database_password='pa"ss-secret')
    assert input_errors(quoted) == []  # only PgBouncer's auth file quotes them
    errors = input_errors(dict(quoted, airflow_pgbouncer_enabled=True))
    assert [e.split(":")[0] for e in errors] == ["airflow_database.user", "airflow_database_password"]
    assert not [e for e in errors if "pa\"ss" in e]


@pytest.mark.parametrize("setting", ["airflow_database", "airflow_redis"])
def test_a_datastore_mapping_missing_keys_names_them(setting):
    partial = {"host": "db.example"}
    error = the_error(**{setting: partial})
    missing = [key for key in FULL[setting] if key not in partial]
    assert error.startswith("%s: is missing %s;" % (setting, ", ".join(missing))) and "replaces the default whole" in error


def test_autoscaling_is_checked_only_when_on_and_keda_may_stop_every_worker():
    assert input_errors(dict(GOOD, airflow_worker_autoscaling={"enabled": False, "engine": "vpa", "min_replicas": -1})) == []
    keda = {"enabled": True, "engine": "keda", "min_replicas": 0, "max_replicas": 4, "keda_namespace": "keda"}
    assert input_errors(dict(GOOD, airflow_worker_autoscaling=keda)) == []
