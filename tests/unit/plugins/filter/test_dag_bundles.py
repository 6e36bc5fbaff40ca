# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""airflow_dag_bundles: the plan the roles render, and the input checks (which never show a token)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.flujo.airflow.plugins.filter.airflow import dag_bundles
from ansible_collections.flujo.airflow.plugins.filter.input_checks import input_errors

GIT = "airflow.providers.git.bundles.git.GitDagBundle"
TOKEN = "s3cr3t-t0ken"


def test_no_bundles_keeps_airflow_default_and_the_volume():
    assert dag_bundles([]) == {"config": [], "volume": True, "git": [], "connections": [], "env": []}
    assert dag_bundles(None)["volume"] is True


def test_git_bundle_with_credentials_names_its_connection_not_the_token():
    plan = dag_bundles([{"name": "team-a", "repo_url": "http://git.example/dags.git", "tracking_ref": "prod",
                         "subdir": "dags", "username": "bot", "password": TOKEN, "kwargs": {"submodules": True}}], 30)
    assert plan["volume"] is False and plan["git"] == ["team-a"]
    assert plan["config"] == [{"name": "team-a", "classpath": GIT, "kwargs": {
        "refresh_interval": 30, "submodules": True, "repo_url": "http://git.example/dags.git",
        "tracking_ref": "prod", "subdir": "dags", "git_conn_id": "flujo_dag_bundle_team_a"}}]
    assert plan["connections"] == [{"bundle": "team-a", "index": 0, "conn_id": "flujo_dag_bundle_team_a",
                                    "env": "AIRFLOW_CONN_FLUJO_DAG_BUNDLE_TEAM_A", "username": True}]
    assert plan["env"] == [{"name": "AIRFLOW_CONN_FLUJO_DAG_BUNDLE_TEAM_A", "valueFrom": {"secretKeyRef": {
        "name": "airflow-dag-bundles", "key": "AIRFLOW_CONN_FLUJO_DAG_BUNDLE_TEAM_A"}}}]
    assert TOKEN not in repr(plan)


def test_public_repo_own_connection_and_volume_bundle():
    plan = dag_bundles([{"name": "public", "repo_url": "https://git.example/p.git", "refresh_interval": 600},
                        {"name": "mine", "repo_url": "git@git.example:x.git", "git_conn_id": "my_git"},
                        {"name": "dags-folder", "type": "volume"}], 60)
    assert plan["volume"] is True and plan["connections"] == [] and plan["git"] == ["public", "mine"]
    kwargs = [b["kwargs"] for b in plan["config"]]
    assert kwargs[0] == {"refresh_interval": 600, "repo_url": "https://git.example/p.git", "tracking_ref": "main"}
    assert kwargs[1]["git_conn_id"] == "my_git"
    assert plan["config"][2] == {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                                 "kwargs": {"refresh_interval": 60, "path": "/opt/airflow/dags"}}


def test_good_bundles_pass():
    assert input_errors({"airflow_dag_bundles": [
        {"name": "main", "repo_url": "http://git-server.git.svc:8080/dags.git", "username": "u", "password": TOKEN},
        {"name": "dags-folder", "type": "volume", "refresh_interval": 300}],
        "airflow_dag_bundles_refresh_interval": 60, "airflow_dag_bundles_secret_name": "airflow-dag-bundles"}) == []


def test_bad_bundles_are_named_and_the_token_never_shown():
    errors = input_errors({"airflow_dag_bundles": [
        {"name": "main", "repo_url": "https://bot:%s@git.example/d.git" % TOKEN},
        {"name": "main", "repo_url": "ftp://x"},
        {"name": "a-b", "repo_url": "git@h:x.git", "password": TOKEN},
        {"name": "a_b", "repo_url": "https://h/x.git", "username": "u", "kwargs": {"repo_url": "y"}, "brnach": "x"},
        {"name": "v1", "type": "volume", "repo_url": "https://h/x.git"},
        {"name": "v2", "type": "volume"},
        {"name": "bad name", "repo_url": "https://h/x.git", "refresh_interval": 0, "type": "s3"}],
        "airflow_dag_bundles_refresh_interval": 0})
    text = "\n".join(errors)
    assert TOKEN not in text
    for fragment in ("airflow_dag_bundles[0].repo_url: holds a password",
                     "airflow_dag_bundles[1].name: 'main' is given twice",
                     "airflow_dag_bundles[1].repo_url: must be a git repository URL",
                     "airflow_dag_bundles[2].password: a token authenticates over http(s) only",
                     "airflow_dag_bundles[3].name: 'a_b' names the same connection",
                     "airflow_dag_bundles[3].username: give it with",
                     "airflow_dag_bundles[3].kwargs: repo_url set by the role",
                     "airflow_dag_bundles[3].brnach: no such setting",
                     "airflow_dag_bundles[4]: a bundle of type volume takes only name and refresh_interval, not repo_url",
                     "airflow_dag_bundles: at most one bundle of type volume",
                     "airflow_dag_bundles[6].name: 'bad name' is not a bundle name",
                     "airflow_dag_bundles[6].refresh_interval: must be a whole number >= 1",
                     "airflow_dag_bundles[6].type: must be git",
                     "airflow_dag_bundles_refresh_interval: must be a whole number >= 1"):
        assert fragment in text, fragment


def test_not_a_list_and_not_with_the_raw_setting():
    assert input_errors({"airflow_dag_bundles": {"name": "x"}})[0].startswith("airflow_dag_bundles: must be a list")
    errors = input_errors({"airflow_dag_bundles": [{"name": "m", "repo_url": "https://h/x.git"}],
                           "airflow_config": {"dag_processor": {"dag_bundle_config_list": "[]"}}})
    assert any(e.startswith("airflow_config.dag_processor.dag_bundle_config_list: set by airflow_dag_bundles") for e in errors)
