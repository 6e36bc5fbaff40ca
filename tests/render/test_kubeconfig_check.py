# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight's kubeconfig check follows kubernetes.core's order in a pod too (an execution
environment, AWX): with no kubeconfig given and no context named, the modules connect in-cluster
and a KUBECONFIG naming a missing file is not refused; a named context makes the modules load the
kubeconfig, and then the preflight names the missing file. No cluster: this is no pod (no service
account token), so the first cluster task fails after the check."""

import re

import pytest

from helpers import run_playbook



@pytest.fixture
def in_a_pod(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "9")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("K8S_AUTH_KUBECONFIG", "K8S_AUTH_CONTEXT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "missing"


def check_outcome(run):
    """ok or fatal: the outcome of the preflight's kubeconfig check (its block of the output)"""
    block = [b for b in run.output.split("\nTASK [") if "Check that a kubeconfig is there" in b.split("\n")[0]]
    assert len(block) == 1, run.output[-3000:]
    outcomes = re.findall(r"^(ok|fatal): \[", block[0], re.M)
    assert len(outcomes) == 1, block[0]
    return outcomes[0]


def test_in_a_pod_without_a_context_the_check_passes(in_a_pod):
    run = run_playbook("site.yml", "--check", "-e", '{"airflow_kube_context": null, "airflow_kubeconfig": null}', timeout=300)
    assert check_outcome(run) == "ok", run.output[-3000:]
    assert run.returncode != 0   # not really in a pod: a later task fails
    assert "no kubeconfig at" not in run.output


def test_in_a_pod_a_named_context_needs_the_kubeconfig(in_a_pod):
    run = run_playbook("site.yml", "--check", "-e", '{"airflow_kube_context": "prod", "airflow_kubeconfig": null}', timeout=300)
    assert check_outcome(run) == "fatal", run.output[-3000:]
    assert "airflow_kubeconfig: no kubeconfig at '%s' (from KUBECONFIG)" % in_a_pod in run.output, run.output[-3000:]
