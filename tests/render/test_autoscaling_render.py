# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""airflow_worker_autoscaling without a cluster: with either engine the worker StatefulSet carries no
replica count (the autoscaler's alone) and its pod is unchanged; KEDA's ScaledObject and
TriggerAuthentication are valid against the CRDs of the KEDA release hack/kind builds (from the Go
module cache), the HPA against the Kubernetes schema; PostgreSQL admits KEDA's operator."""

import json

import jsonschema
import pytest
import yaml

from helpers import go_module_dir, render_site, rendered_objects as objects, validate_schemas

KEDA_MODULE = "github.com/kedacore/keda/v2@v2.21.1"
SETTINGS = {"enabled": True, "min_replicas": 0, "max_replicas": 6, "polling_interval": 15, "cooldown_period": 60}


def render(tmp_path_factory, name, settings):
    tmp = tmp_path_factory.mktemp(name)
    (tmp / "vars.json").write_text(json.dumps({"airflow_worker_autoscaling": settings}))
    render_site(tmp / "m", "kind", "-e", "@%s" % (tmp / "vars.json"))
    return tmp / "m"


@pytest.fixture(scope="module")
def keda(tmp_path_factory):
    return render(tmp_path_factory, "keda", dict(SETTINGS, engine="keda"))


@pytest.fixture(scope="module")
def hpa(tmp_path_factory):
    return render(tmp_path_factory, "hpa", dict(SETTINGS, engine="hpa", min_replicas=2, target_cpu_utilization=65))


def keda_schema(kind_file):
    """The openAPIV3Schema of a KEDA CRD, from the Go module cache (hack/kind downloads that release)."""
    crd = yaml.safe_load(open("%s/config/crd/bases/%s" % (go_module_dir(KEDA_MODULE, "go1.27.4"), kind_file)))
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def test_the_autoscaler_owns_the_replica_count_and_the_pod_is_unchanged(keda, hpa, plain_render):
    plain = objects(plain_render("kind")[0])[("StatefulSet", "airflow-worker")]
    for out in (keda, hpa):
        statefulset = objects(out)[("StatefulSet", "airflow-worker")]
        assert "replicas" not in statefulset["spec"]
        assert statefulset["spec"]["template"] == plain["spec"]["template"]
        # a budget, as up to 6 workers may run
        assert ("PodDisruptionBudget", "airflow-worker") in objects(out)
    assert ("PodDisruptionBudget", "airflow-worker") not in objects(plain_render("kind")[0])


def test_keda_scales_on_the_queue_depth_of_the_default_queue(keda):
    found = objects(keda)
    scaled = found[("ScaledObject", "airflow-worker")]
    jsonschema.validate(scaled, keda_schema("keda.sh_scaledobjects.yaml"))
    auth = found[("TriggerAuthentication", "airflow-worker")]
    jsonschema.validate(auth, keda_schema("keda.sh_triggerauthentications.yaml"))
    spec = scaled["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "airflow-worker"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"], spec["pollingInterval"], spec["cooldownPeriod"]) == (0, 6, 15, 60)
    trigger = spec["triggers"][0]
    assert trigger["type"] == "postgresql" and trigger["authenticationRef"] == {"name": "airflow-worker"}
    # worker slots wanted: queued and running tasks of the default queue / the concurrency (4 on kind)
    assert trigger["metadata"]["query"] == ("SELECT ceil(count(*)::decimal / 4) FROM task_instance WHERE state IN "
                                            "('queued', 'running') AND queue = 'default'")
    assert trigger["metadata"]["targetQueryValue"] == "1"
    assert auth["spec"]["secretTargetRef"] == [{"parameter": "connection", "name": "airflow-keda", "key": "connection"}]
    admitted = found[("NetworkPolicy", "airflow-postgresql")]["spec"]["ingress"][0]["from"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}},
            "podSelector": {"matchLabels": {"app": "keda-operator"}}} in admitted
    assert ("HorizontalPodAutoscaler", "airflow-worker") not in found
    # the schema does catch a wrong object (so the check above can fail)
    wrong = json.loads(json.dumps(scaled))
    wrong["spec"]["minReplicaCount"] = "none"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, keda_schema("keda.sh_scaledobjects.yaml"))


def test_hpa_scales_on_cpu_and_renders_nothing_of_keda(hpa):
    found = objects(hpa)
    spec = found[("HorizontalPodAutoscaler", "airflow-worker")]["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 6)
    assert spec["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                                         "averageUtilization": 65}}}]
    assert not [key for key in found if key[0] in ("ScaledObject", "TriggerAuthentication")]
    assert "keda-operator" not in json.dumps(found[("NetworkPolicy", "airflow-postgresql")])
    run = validate_schemas(hpa.glob("*.yaml"))
    assert run.returncode == 0, run.stdout + run.stderr
