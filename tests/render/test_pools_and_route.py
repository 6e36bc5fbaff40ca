# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Worker pools and the Gateway API route, without a cluster (one render of both). A pool is the
default worker's pod with its own name, queues and sizing, and the default worker does not change;
the HTTPRoute is valid against the Gateway API's own CRD schema (sigs.k8s.io/gateway-api from the Go
module proxy) and routes the path of airflow_base_url."""

import json

import jsonschema
import pytest
import yaml

from helpers import go_module_dir, render_site, rendered_objects as objects

GATEWAY_API = "sigs.k8s.io/gateway-api@v1.6.3"
POOL = {"name": "io", "queues": ["flujo-io", "bulk"], "replicas": 2, "concurrency": 3,
        "node_selector": {"pool": "io"}, "extra_env": {"IO_POOL": "yes"}}
ROUTE = {"enabled": True, "parent_refs": [{"name": "public", "namespace": "gateways", "sectionName": "https"}],
         "hostnames": ["airflow.example.com"], "annotations": {"example.org/team": "data"}}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pools-route")
    variables = tmp / "vars.json"
    variables.write_text(json.dumps({"airflow_worker_pools": [POOL], "airflow_http_route": ROUTE,
                                     "airflow_base_url": "https://airflow.example.com/airflow"}))
    render_site(tmp / "m", "kind", "-e", "@%s" % variables)
    return objects(tmp / "m")


def test_a_pool_is_the_default_worker_with_its_own_queues_and_sizing(rendered, plain_render):
    plain = objects(plain_render("kind")[0])
    default, pool = rendered[("StatefulSet", "airflow-worker")], rendered[("StatefulSet", "airflow-worker-io")]
    assert default["spec"]["template"]["spec"] == plain[("StatefulSet", "airflow-worker")]["spec"]["template"]["spec"]
    assert pool["spec"]["replicas"] == 2 and pool["spec"]["serviceName"] == "airflow-worker-io"
    assert pool["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "worker-io"
    assert pool["metadata"]["labels"]["flujo.airflow/worker-pool"] == "io"
    spec = pool["spec"]["template"]["spec"]
    container = spec["containers"][0]
    assert container["name"] == "worker" and container["command"][-5:] == ["airflow", "celery", "worker", "--queues", "flujo-io,bulk"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "3" and env["IO_POOL"] == "yes"
    assert spec["nodeSelector"] == {"pool": "io"}
    # otherwise the default worker's pod: same image, probes, volumes, resources, init container
    default_container = default["spec"]["template"]["spec"]["containers"][0]
    for key in ("image", "resources", "volumeMounts", "startupProbe", "livenessProbe", "envFrom"):
        assert container[key] == default_container[key], key
    assert spec["initContainers"] == default["spec"]["template"]["spec"]["initContainers"]
    for kind in ("Service", "PodDisruptionBudget"):
        obj = rendered[(kind, "airflow-worker-io")]
        selector = obj["spec"]["selector"] if kind == "Service" else obj["spec"]["selector"]["matchLabels"]
        assert selector["app.kubernetes.io/component"] == "worker-io"


def gateway_api_schema(kind_file):
    """The openAPIV3Schema of the v1 version of a Gateway API CRD, from the Go module cache."""
    crd = yaml.safe_load(open("%s/config/crd/standard/%s" % (go_module_dir(GATEWAY_API), kind_file)))
    return next(v for v in crd["spec"]["versions"] if v["name"] == "v1")["schema"]["openAPIV3Schema"]


def test_the_route_is_valid_gateway_api_and_follows_the_base_url(rendered):
    route = rendered[("HTTPRoute", "airflow-api-server")]
    schema = gateway_api_schema("gateway.networking.k8s.io_httproutes.yaml")
    jsonschema.validate(route, schema)
    assert route["spec"]["parentRefs"] == ROUTE["parent_refs"] and route["spec"]["hostnames"] == ["airflow.example.com"]
    assert route["spec"]["rules"] == [{"matches": [{"path": {"type": "PathPrefix", "value": "/airflow"}}],
                                       "backendRefs": [{"name": "airflow-api-server", "port": 8080}]}]
    assert route["metadata"]["annotations"] == ROUTE["annotations"]
    # the schema does catch a wrong route (so the check above can fail)
    wrong = json.loads(json.dumps(route))
    wrong["spec"]["rules"][0]["matches"][0]["path"]["type"] = "Prefix"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, schema)
