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
    ("airflow_tolerations", "all", "list"),
])
def test_each_bad_value_is_named(name, value, words):
    errors = input_errors(dict(GOOD, **{name: value}))
    assert len(errors) == 1, errors
    assert errors[0].startswith(name) and words in errors[0]


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
