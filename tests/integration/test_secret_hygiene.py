# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets are generated once, never change on a re-run, and never appear anywhere but the Secrets."""

from conftest import NAMESPACE, REDIS_SECRET, SECRET, playbook_ok, read_secret


def secret_values(core):
    values = set()
    for name in (SECRET, REDIS_SECRET):
        for key, value in read_secret(core, name).items():
            if key != "AIRFLOW_DB_USER":  # the user name is not a secret
                values.add(value)
                values.update(part for part in value.split(",") if len(part) > 8)
    return values


def test_a_verbose_rerun_changes_no_secret_and_prints_no_value(core):
    before = {n: core.read_namespaced_secret(n, NAMESPACE).metadata for n in (SECRET, REDIS_SECRET)}
    output = playbook_ok("site.yml", "-vvv", timeout=900).output
    leaked = [v for v in secret_values(core) if v in output]
    assert not leaked, "%d secret value(s) appear in the -vvv output" % len(leaked)
    for name, meta in before.items():
        after = core.read_namespaced_secret(name, NAMESPACE).metadata
        assert (after.uid, after.resource_version) == (meta.uid, meta.resource_version), name


def test_no_secret_in_configmaps_annotations_or_managed_fields(core, apps):
    values = secret_values(core)
    texts = [str(cm.data) for cm in core.list_namespaced_config_map(NAMESPACE).items]
    for name in (SECRET, REDIS_SECRET):
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
