# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One way to reach the cluster: every task, kubernetes.core's and the airflow_secret module alike,
follows the play's module_defaults of group/flujo.airflow.k8s and, without them, kubernetes.core's
order (K8S_AUTH_KUBECONFIG before ~/.kube/config)."""

import re
import subprocess

import yaml

from helpers import CONTEXT, run_playbook

DECOY = {
    "apiVersion": "v1", "kind": "Config", "current-context": "decoy",
    "clusters": [{"name": "decoy", "cluster": {"server": "https://127.0.0.1:9"}}],
    "users": [{"name": "decoy", "user": {"token": "decoy"}}],
    "contexts": [{"name": "decoy", "context": {"cluster": "decoy", "user": "decoy"}}],
}


def kubeconfigs(tmp_path, monkeypatch):
    """The cluster's kubeconfig as a file of its own, and a HOME whose ~/.kube/config is the decoy."""
    real = tmp_path / "real-kubeconfig"
    view = ["kubectl", "config", "view", "--raw", "--minify", "--flatten"] + (["--context", CONTEXT] if CONTEXT else [])
    real.write_text(subprocess.run(view, check=True, capture_output=True, text=True).stdout)
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text(yaml.safe_dump(DECOY))
    monkeypatch.setenv("HOME", str(home))
    return real, home


def test_k8s_auth_kubeconfig_alone_reaches_every_task(tmp_path, monkeypatch):
    # the cluster's kubeconfig as its own file, and a ~/.kube/config that points nowhere: a task
    # that ignored K8S_AUTH_KUBECONFIG would go to the decoy and fail
    real, home = kubeconfigs(tmp_path, monkeypatch)
    monkeypatch.setenv("K8S_AUTH_KUBECONFIG", str(real))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("K8S_AUTH_CONTEXT", raising=False)

    # no airflow_kubeconfig and no context: only the environment says where the cluster is
    run = run_playbook("site.yml", "-e", '{"airflow_kube_context": null, "airflow_kubeconfig": null}')
    assert run.returncode == 0, run.output[-3000:]
    recap = re.search(r"ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", run.output)
    assert recap and recap.group(1) == "0", run.output[-3000:]   # the same, converged deployment
    assert "Generate missing secrets, keep existing ones" in run.output   # the module ran, against it

    # and the decoy alone is refused by every cluster task: the first one fails, naming nothing secret
    monkeypatch.setenv("K8S_AUTH_KUBECONFIG", str(home / ".kube" / "config"))
    run = run_playbook("site.yml", "--check", "-e", '{"airflow_kube_context": null, "airflow_kubeconfig": null}')
    assert run.returncode != 0
    assert "127.0.0.1" in run.output, run.output[-3000:]


def test_kubeconfig_alone_reaches_every_task(tmp_path, monkeypatch):
    # the variable kubectl users set: the preflight's check and every task read the same file
    real, home = kubeconfigs(tmp_path, monkeypatch)
    monkeypatch.setenv("KUBECONFIG", str(real))
    for name in ("K8S_AUTH_KUBECONFIG", "K8S_AUTH_CONTEXT"):
        monkeypatch.delenv(name, raising=False)
    run = run_playbook("site.yml", "-e", '{"airflow_kube_context": null, "airflow_kubeconfig": null}')
    assert run.returncode == 0, run.output[-3000:]
    recap = re.search(r"ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", run.output)
    assert recap and recap.group(1) == "0", run.output[-3000:]

    # a KUBECONFIG naming a file that is not there is named by the preflight, before any cluster task
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    run = run_playbook("site.yml", "-e", '{"airflow_kube_context": null, "airflow_kubeconfig": null}')
    assert run.returncode != 0
    assert "airflow_kubeconfig: no kubeconfig at '%s' (from KUBECONFIG)" % (tmp_path / "missing") in run.output, run.output[-3000:]
