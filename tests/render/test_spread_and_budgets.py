# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Several replicas of any Airflow component, without a cluster: each gets a PodDisruptionBudget
that selects exactly its pods and lets one go at a time, and its pods a soft spread over nodes
(topology spread on the hostname, on one replica too, so a scale never rolls the pods); one replica
gets no budget, and a spread of the user's own (airflow_pod_extras) replaces ours, [] removes it."""

import json

import pytest

from helpers import render_site, rendered_objects as objects, validate_schemas

TWO_EACH = {"airflow_api_server_replicas": 2, "airflow_scheduler_replicas": 2, "airflow_dag_processor_replicas": 2,
            "airflow_triggerer_replicas": 2, "airflow_worker_replicas": 3}
WORKLOADS = [("Deployment", "airflow-api-server"), ("Deployment", "airflow-scheduler"),
             ("Deployment", "airflow-dag-processor"), ("StatefulSet", "airflow-triggerer"),
             ("StatefulSet", "airflow-worker")]
OWN_SPREAD = [{"maxSkew": 2, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": {"matchLabels": {"app.kubernetes.io/component": "scheduler"}}}]


@pytest.fixture(scope="module")
def replicated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("replicated")
    settings = dict(TWO_EACH, airflow_pod_extras={"scheduler": {"topology_spread_constraints": OWN_SPREAD},
                                                  "dag_processor": {"topology_spread_constraints": []}})
    (tmp / "vars.json").write_text(json.dumps(settings))
    render_site(tmp / "m", "kind", "-e", "@%s" % (tmp / "vars.json"))
    return tmp / "m"


def matches(selector, labels):
    return all(labels.get(key) == value for key, value in selector.items())


def test_every_replicated_component_has_a_budget_of_its_own_pods(replicated):
    found = objects(replicated)
    for kind, name in WORKLOADS:
        pods = found[(kind, name)]["spec"]["template"]["metadata"]["labels"]
        budget = found[("PodDisruptionBudget", name)]
        assert budget["spec"] == {"maxUnavailable": 1, "selector": budget["spec"]["selector"]}
        assert matches(budget["spec"]["selector"]["matchLabels"], pods), name
        # and no other component's pods
        others = [found[w]["spec"]["template"]["metadata"]["labels"] for w in WORKLOADS if w != (kind, name)]
        assert not any(matches(budget["spec"]["selector"]["matchLabels"], o) for o in others), name
    budgets = [p for p in replicated.glob("*.yaml") if "-poddisruptionbudget-" in p.name]
    assert len(budgets) == len(WORKLOADS)
    result = validate_schemas(budgets)
    assert result.returncode == 0, result.stdout + result.stderr


def test_replicas_spread_over_nodes_softly_unless_the_user_says_otherwise(replicated):
    found = objects(replicated)
    for kind, name in WORKLOADS:
        pod = found[(kind, name)]["spec"]["template"]
        if name == "airflow-dag-processor":   # [] of the user's: none
            assert "topologySpreadConstraints" not in pod["spec"]
            continue
        constraints = pod["spec"]["topologySpreadConstraints"]
        if name == "airflow-scheduler":
            assert constraints == OWN_SPREAD
            continue
        assert [(c["topologyKey"], c["whenUnsatisfiable"], c["maxSkew"]) for c in constraints] == \
            [("kubernetes.io/hostname", "ScheduleAnyway", 1)], name
        assert matches(constraints[0]["labelSelector"]["matchLabels"], pod["metadata"]["labels"]), name
        # a Deployment's rollout spreads its new pods among themselves
        assert constraints[0].get("matchLabelKeys") == (["pod-template-hash"] if kind == "Deployment" else None), name


def test_one_replica_has_no_budget_and_the_same_pod(replicated, plain_render):
    found = objects(plain_render("kind")[0])
    assert not [key for key in found if key[0] == "PodDisruptionBudget"]
    # a scale changes the replica count alone: the pods do not roll
    for key in WORKLOADS:
        if key not in (("Deployment", "airflow-scheduler"), ("Deployment", "airflow-dag-processor")):
            assert found[key]["spec"]["template"] == objects(replicated)[key]["spec"]["template"], key
