# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets are generated once, never change on a re-run, never appear anywhere but the Secrets,
and reach only the pods that use them: the JWT signing key only the api-server and the scheduler."""

import base64
import subprocess
from pathlib import Path

from helpers import (ALL_SECRETS, CONTEXT, JWT_KEY, JWT_SECRET, NAMESPACE, SECRET, Api, admin_password,
                     assert_secrets_unchanged, playbook_ok, pod_of, read_secret, secret_values, secret_versions)

DAGS = Path(__file__).resolve().parent / "dags"
SIGNERS = {"api-server", "scheduler"}


def test_a_verbose_rerun_changes_no_secret_and_prints_no_value(core):
    before = secret_versions(core)
    output = playbook_ok("site.yml", "-vvv", timeout=900).output
    leaked = [v for v in secret_values(core) if v in output]
    assert not leaked, "%d secret value(s) appear in the -vvv output" % len(leaked)
    assert_secrets_unchanged(core, before)


def test_no_secret_in_configmaps_annotations_or_managed_fields(core, apps):
    values = secret_values(core)
    texts = [str(cm.data) for cm in core.list_namespaced_config_map(NAMESPACE).items]
    for name in ALL_SECRETS:
        meta = core.read_namespaced_secret(name, NAMESPACE).metadata
        assert "kubectl.kubernetes.io/last-applied-configuration" not in (meta.annotations or {})
        texts.append(str(meta.annotations))
        texts.append(str(meta.managed_fields))
    for obj in apps.list_namespaced_deployment(NAMESPACE).items + apps.list_namespaced_stateful_set(NAMESPACE).items:
        texts.append(str(obj.metadata.annotations))
        texts.append(str(obj.spec.template.metadata.annotations))
        texts.append(str([c.env for c in obj.spec.template.spec.containers]))
    joined = "\n".join(texts)
    assert not [v for v in values if v in joined]


def test_no_secret_in_pod_logs(core):
    values = secret_values(core)
    for pod in core.list_namespaced_pod(NAMESPACE, label_selector="app.kubernetes.io/part-of=airflow").items:
        for c in pod.spec.containers:
            log = core.read_namespaced_pod_log(pod.metadata.name, NAMESPACE, container=c.name, tail_lines=2000)
            assert not [v for v in values if v in log], "%s/%s logs a secret" % (pod.metadata.name, c.name)


def references(pod_spec, secret):
    """Where a pod spec refers to a Secret: envFrom, env valueFrom, volumes (also projected)."""
    found = []
    for c in (pod_spec.init_containers or []) + pod_spec.containers:
        found += ["%s envFrom" % c.name for e in c.env_from or [] if e.secret_ref and e.secret_ref.name == secret]
        found += ["%s env %s" % (c.name, e.name) for e in c.env or []
                  if e.value_from and e.value_from.secret_key_ref and e.value_from.secret_key_ref.name == secret]
    for v in pod_spec.volumes or []:
        if v.secret and v.secret.secret_name == secret:
            found.append("volume %s" % v.name)
        for source in (v.projected.sources if v.projected else []):
            if source.secret and source.secret.name == secret:
                found.append("projected volume %s" % v.name)
    return found


def test_only_the_api_server_and_the_scheduler_refer_to_the_signing_key(core, apps):
    assert JWT_KEY not in read_secret(core, SECRET), "the signing key is still in %s" % SECRET
    templates = {}
    for obj in apps.list_namespaced_deployment(NAMESPACE).items + apps.list_namespaced_stateful_set(NAMESPACE).items:
        templates[obj.spec.template.metadata.labels["app.kubernetes.io/component"]] = obj.spec.template
    assert SIGNERS <= set(templates) and {"worker", "triggerer", "dag-processor"} <= set(templates)
    for component, template in templates.items():
        refs = references(template.spec, JWT_SECRET)
        if component in SIGNERS:
            assert refs == ["%s envFrom" % component], (component, refs)  # not even the init container
            assert template.metadata.annotations.get("checksum/jwt-secret"), component
        else:
            assert refs == [], (component, refs)
            assert "checksum/jwt-secret" not in (template.metadata.annotations or {}), component


def pod_bytes(pod, container, script):
    """The stdout of a shell script in a pod, as bytes (kept in memory, never printed)."""
    cmd = ["kubectl"] + (["--context", CONTEXT] if CONTEXT else []) + [
        "-n", NAMESPACE, "exec", pod, "-c", container, "--", "sh", "-c", script]
    return subprocess.run(cmd, capture_output=True, check=True, timeout=120).stdout


def test_worker_triggerer_and_dag_processor_hold_no_signing_key(core):
    key = read_secret(core, JWT_SECRET)[JWT_KEY].encode()
    forms = [key, base64.b64encode(key), JWT_KEY.encode()]
    for component in ("worker", "triggerer", "dag-processor"):
        pod = pod_of(core, component)
        # the environment of every process of the pod, and every file where a task or Airflow writes
        environ = pod_bytes(pod, component, "cat /proc/[0-9]*/environ 2>/dev/null; true")
        assert b"AIRFLOW_HOME=" in environ, "no environment read from %s" % component
        files = pod_bytes(pod, component, "tar -cf - /tmp /opt/airflow /home/airflow 2>/dev/null; true")
        assert len(files) > 10240, "nothing read from %s" % component
        # the environment holds neither the value nor the variable; files not the value (a log may name the option)
        assert not [f for f in forms if f in environ], "the signing key is in the environment of %s" % component
        assert not [f for f in forms[:2] if f in files], "the signing key is in the files of %s" % component


def test_tasks_run_on_workers_and_the_triggerer_and_their_logs_read(core, api_url):
    playbook_ok("playbooks/dags.yml", "-e", "airflow_dags_source=%s" % DAGS)
    api = Api(api_url, admin_password(core))
    run = api.trigger("flujo_deferred")
    assert api.wait(run, timeout=300) == "success"
    tis = api.call("GET", run + "/taskInstances")["task_instances"]
    assert {t["task_id"]: t["state"] for t in tis} == {"wait": "success", "after": "success"}
    log = api.raw("GET", run + "/taskInstances/after/logs/1", params={"full_content": "true"}, timeout=60)
    assert log.status_code == 200 and "flujo_deferred resumed after the triggerer" in log.text


def test_a_signing_key_from_an_earlier_release_is_moved_with_its_value(core, api_url):
    """Releases before 0.2.0 kept the key in airflow-secrets: site.yml carries it over unchanged."""
    key = read_secret(core, JWT_SECRET)[JWT_KEY]
    # put the deployment back into the earlier shape: the key in airflow-secrets, no Secret of its own
    core.patch_namespaced_secret(SECRET, NAMESPACE, {"data": {JWT_KEY: base64.b64encode(key.encode()).decode()}})
    core.delete_namespaced_secret(JWT_SECRET, NAMESPACE)
    run = playbook_ok("site.yml", timeout=900, env={"ANSIBLE_CALLBACK_RESULT_FORMAT": "json"})  # unwrapped messages
    assert "%s: moved %s" % (JWT_SECRET, JWT_KEY) in run.output
    assert "removed %s" % JWT_KEY in run.output
    assert read_secret(core, JWT_SECRET)[JWT_KEY] == key
    assert JWT_KEY not in read_secret(core, SECRET)
    api = Api(api_url, admin_password(core))
    assert api.wait(api.trigger("flujo_deferred"), timeout=300) == "success"
    before = secret_versions(core)
    again = playbook_ok("site.yml")
    assert "changed=0" in again.output
    assert_secrets_unchanged(core, before)
