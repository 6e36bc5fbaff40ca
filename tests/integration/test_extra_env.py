# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret environment for every Airflow container: airflow_extra_secret_env (a connection URI, a
token) is kept in the Secret airflow-extra-env by the airflow_secret module, and airflow_extra_env_from
names an existing Secret. Both reach the containers (read with printenv in a worker and the
api-server); the secret values appear in no ConfigMap, no annotation of any object, and not in the
playbook's -vvv output. A changed value rolls the pods and reaches them; removing the variables
takes the environment away and empties the Secret."""

import json
import secrets

import pytest

from helpers import converge_with, kubectl

NAMES = "configmaps,secrets,services,deployments,statefulsets,jobs,cronjobs,pods,serviceaccounts,networkpolicies"


def env_of(target, *names):
    component = target.split("/")[1].replace("airflow-", "")
    out = kubectl("exec", target, "-c", component, "--", "sh", "-c",
                  " ; ".join('printf "%%s\\n" "${%s:-<unset>}"' % n for n in names))
    return out.stdout.splitlines()


@pytest.fixture
def existing_secret():
    kubectl("create", "secret", "generic", "flujo-test-existing", "--from-literal=FLUJO_FROM_EXISTING=from-an-existing-secret")
    yield "flujo-test-existing"
    kubectl("delete", "secret", "flujo-test-existing", "--ignore-not-found")


def test_secret_environment_reaches_the_pods_and_nothing_else(tmp_path, existing_secret):
    token, password = secrets.token_hex(16), secrets.token_hex(12)
    conn = "postgres://warehouse:%s@warehouse.invalid:5432/sales" % password
    run = converge_with(tmp_path, "-vvv", airflow_extra_secret_env={"AIRFLOW_CONN_WAREHOUSE": conn, "FLUJO_TOKEN": token},
                        airflow_extra_env_from=[{"secret": existing_secret}])
    try:
        for value in (token, password):
            assert value not in run.output   # -vvv: module arguments, results, diffs
        objects = json.loads(kubectl("get", NAMES, "-o", "json").stdout)["items"]
        configmaps = [o for o in objects if o["kind"] == "ConfigMap"]
        annotations = json.dumps([o["metadata"].get("annotations") for o in objects]
                                 + [((o.get("spec") or {}).get("template") or {}).get("metadata", {}).get("annotations")
                                    for o in objects])
        for value in (token, password):
            assert value not in json.dumps(configmaps) and value not in annotations
        for target in ("statefulset/airflow-worker", "deployment/airflow-api-server"):
            assert env_of(target, "FLUJO_TOKEN", "AIRFLOW_CONN_WAREHOUSE", "FLUJO_FROM_EXISTING") == [
                token, conn, "from-an-existing-secret"], target

        # a new value is written and the pods roll onto it
        token2 = secrets.token_hex(16)
        run = converge_with(tmp_path, airflow_extra_secret_env={"AIRFLOW_CONN_WAREHOUSE": conn, "FLUJO_TOKEN": token2},
                            airflow_extra_env_from=[{"secret": existing_secret}])
        assert token2 not in run.output
        assert env_of("statefulset/airflow-worker", "FLUJO_TOKEN") == [token2]
    finally:
        # back to the inventory: the environment leaves the pods, the Secret keeps no value
        converge_with(tmp_path)
    assert env_of("statefulset/airflow-worker", "FLUJO_TOKEN", "AIRFLOW_CONN_WAREHOUSE", "FLUJO_FROM_EXISTING") == ["<unset>"] * 3
    assert json.loads(kubectl("get", "secret/airflow-extra-env", "-o", "json").stdout).get("data") in (None, {})
