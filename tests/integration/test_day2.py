# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Day-2 playbooks on a converged deployment (molecule/day2): DAGs delivered from a git repository,
the backup/restore round trip with its refusals, uninstall and reinstall. The tests run in file
order and build on each other. Playbook times go to bench/results/day2.json."""

import hashlib
import json
import re
import secrets
import subprocess
import time

import pytest
from kubernetes.client.rest import ApiException

from helpers import (NAMESPACE, REDIS_SECRET, REPO, SECRET, assert_secrets_unchanged, connection_password, kubectl,
                     namespace_snapshot, playbook_ok, pod_of, read_secret, run_playbook, secret_values, secret_versions)

pytestmark = pytest.mark.day2
GIT_DAG = '''"""Delivered by playbooks/dags.yml from a git repository."""
import pendulum
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def flujo_git():
    @task
    def hello():
        return "delivered from git"

    hello()


flujo_git()
'''
BROKEN_DAG = "from airflow.sdk import dag\n\ndef flujo_broken(:\n    pass\n"


def record(name, run):
    """Add a playbook's time to bench/results/day2.json (kept across runs of single tests)."""
    out = REPO / "bench" / "results" / "day2.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    times = json.loads(out.read_text()) if out.exists() else {}
    times[name] = round(run.seconds, 1)
    out.write_text(json.dumps(times, indent=2) + "\n")
    return run


def recap_changed(output):
    """The changed= counts of the PLAY RECAP."""
    return [int(n) for n in re.findall(r"changed=(\d+)", output.split("PLAY RECAP")[-1])]


def git(cwd, *args):
    subprocess.run(["git", "-c", "user.name=flujo", "-c", "user.email=flujo@example.invalid"] + list(args),
                   cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def dag_repo(tmp_path_factory):
    """A local bare repository: tag v1 holds one DAG, tag broken adds a file with a syntax error."""
    root = tmp_path_factory.mktemp("dag-repo")
    bare, work = root / "dags.git", root / "work"
    git(root, "init", "-q", "--bare", str(bare))
    git(root, "clone", "-q", str(bare), str(work))
    (work / "flujo_git.py").write_text(GIT_DAG)
    git(work, "add", "-A")
    git(work, "commit", "-qm", "flujo_git")
    git(work, "tag", "v1")
    (work / "flujo_broken.py").write_text(BROKEN_DAG)
    git(work, "add", "-A")
    git(work, "commit", "-qm", "a syntax error")
    git(work, "tag", "broken")
    git(work, "push", "-q", "origin", "HEAD", "--tags")
    return bare


def dags_from_git(repo, version, *extra):
    return run_playbook("playbooks/dags.yml", "-e", "airflow_dags_git_repo=%s" % repo,
                        "-e", "airflow_dags_git_version=%s" % version, *extra)


def test_dags_from_a_git_repository_are_listed_and_a_second_sync_changes_nothing(api, dag_repo):
    first = record("dags_git_first_sync", dags_from_git(dag_repo, "v1"))
    assert first.returncode == 0, first.output[-3000:]
    assert api.call("GET", "/api/v2/dags/flujo_git")["dag_id"] == "flujo_git"
    again = record("dags_git_in_sync", dags_from_git(dag_repo, "v1"))
    assert again.returncode == 0 and recap_changed(again.output) == [0], again.output[-3000:]


def test_check_mode_reports_a_new_file_without_copying_it(core, dag_repo):
    check = dags_from_git(dag_repo, "broken", "--check")
    assert check.returncode == 0 and recap_changed(check.output)[0] >= 1, check.output[-3000:]
    assert "flujo_broken.py" not in dags_in_volume(core)


def dags_in_volume(core):
    return kubectl("exec", pod_of(core, "dag-processor"), "-c", "dag-processor", "--",
                   "ls", "/opt/airflow/dags").stdout.split()


def test_a_dag_with_a_syntax_error_fails_the_play_with_its_file_and_message(core, dag_repo):
    broken = dags_from_git(dag_repo, "broken")
    assert broken.returncode != 0
    assert "flujo_broken.py" in broken.output and "SyntaxError" in broken.output, broken.output[-3000:]
    fixed = dags_from_git(dag_repo, "v1", "-e", "airflow_dags_delete=true")
    assert fixed.returncode == 0, fixed.output[-3000:]
    files = dags_in_volume(core)
    assert "flujo_broken.py" not in files and "flujo_git.py" in files


@pytest.fixture
def bad_sources(tmp_path):
    """Sources that must fail before anything is copied; each with the message a user sees."""
    tmp_path = tmp_path.resolve()  # the playbook names the real path
    (tmp_path / "a-file").write_text("not a directory\n")
    (tmp_path / "empty").mkdir()
    (tmp_path / "no-py").mkdir()
    (tmp_path / "no-py" / "README.md").write_text("no DAG here\n")
    missing = tmp_path / "missing"
    relative = "flujo-no-such-dags-%s" % secrets.token_hex(4)  # run_playbook starts ansible-playbook in REPO
    bare, work = tmp_path / "no-py.git", tmp_path / "work"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(tmp_path, "clone", "-q", str(bare), str(work))
    (work / "README.md").write_text("no DAG here\n")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "no DAG")
    git(work, "push", "-q", "origin", "HEAD")
    return {
        "missing": (["-e", "airflow_dags_source=%s" % missing], "airflow_dags_source: %s does not exist" % missing),
        "a file": (["-e", "airflow_dags_source=%s" % (tmp_path / "a-file")],
                   "airflow_dags_source: %s is not a directory" % (tmp_path / "a-file")),
        "empty": (["-e", "airflow_dags_source=%s" % (tmp_path / "empty")],
                  "airflow_dags_source: no .py file in %s" % (tmp_path / "empty")),
        "no .py": (["-e", "airflow_dags_source=%s" % (tmp_path / "no-py")],
                   "airflow_dags_source: no .py file in %s" % (tmp_path / "no-py")),
        "relative": (["-e", "airflow_dags_source=%s" % relative],
                     "airflow_dags_source: %s does not exist (%s is relative, so it is resolved against the "
                     "directory ansible-playbook was started in: %s)" % (REPO / relative, relative, REPO)),
        "git without .py": (["-e", "airflow_dags_git_repo=%s" % bare],
                            "airflow_dags_git_repo: no .py file in %s at HEAD" % bare),
    }


@pytest.mark.parametrize("case", ["missing", "a file", "empty", "no .py", "relative", "git without .py"])
def test_a_source_without_dags_fails_naming_the_variable_and_path_before_anything_is_copied(core, bad_sources, case):
    before = dags_in_volume(core)
    extra, message = bad_sources[case]
    run = run_playbook("playbooks/dags.yml", *extra)
    assert run.returncode != 0, run.output[-3000:]
    flat = " ".join(run.output.split())  # the YAML callback folds long messages
    assert message in flat and "nothing was copied" in flat, run.output[-3000:]
    assert "Find the dag-processor pod" not in run.output  # failed before the first cluster call
    assert dags_in_volume(core) == before


def counts(api):
    paths = {"dag_runs": "/api/v2/dags/~/dagRuns", "task_instances": "/api/v2/dags/~/dagRuns/~/taskInstances",
             "connections": "/api/v2/connections", "variables": "/api/v2/variables"}
    return {name: api.call("GET", path + "?limit=1")["total_entries"] for name, path in paths.items()}


def secret_digests(core):
    return {name: {k: hashlib.sha256(v.encode()).hexdigest() for k, v in read_secret(core, name).items()}
            for name in (SECRET, REDIS_SECRET)}


def wait_namespace_gone(core, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            core.read_namespace(NAMESPACE)
        except ApiException as err:
            if err.status == 404:
                return
            raise
        time.sleep(2)
    raise AssertionError("namespace %s still there after %d s" % (NAMESPACE, timeout))


def test_backup_then_restore_into_an_empty_namespace_keeps_everything(api, core, k8s, tmp_path):
    playbook_ok("playbooks/dags.yml", "-e", "airflow_dags_source=%s" % (REPO / "examples" / "dags"))
    assert api.wait(api.trigger("flujo_hello")) == "success"
    api.call("POST", "/api/v2/connections", json={"connection_id": "flujo_backup", "conn_type": "http",
                                                  "host": "h", "password": "kept-through-restore"})
    api.call("POST", "/api/v2/variables", json={"key": "flujo_backup", "value": "v"})
    before, digests = counts(api), secret_digests(core)
    assert before["dag_runs"] >= 1 and before["task_instances"] >= 2

    vault_secret = secrets.token_urlsafe(24)
    secret_vars = tmp_path / "vault-secret.json"
    secret_vars.write_text(json.dumps({"airflow_backup_vault_secret": vault_secret}))
    archive = tmp_path / "airflow.vault"
    checked = run_playbook("playbooks/backup.yml", "-e", "airflow_backup_file=%s" % archive, "-e", "@%s" % secret_vars,
                           "--check")
    assert checked.returncode == 0 and recap_changed(checked.output)[0] >= 1, checked.output[-3000:]
    assert not archive.exists()
    backup = record("backup", playbook_ok("playbooks/backup.yml", "-e", "airflow_backup_file=%s" % archive,
                                          "-e", "@%s" % secret_vars))
    assert archive.read_text().startswith("$ANSIBLE_VAULT;")
    leaked = [v for v in secret_values(core) | {vault_secret} if v in backup.output]
    assert not leaked, "%d secret value(s) in the backup output" % len(leaked)
    # the status playbook reports the age of this backup, from the record the backup left
    status_file = tmp_path / "status.json"
    status = run_playbook("playbooks/status.yml", "-e", "airflow_status_format=json", "-e",
                          "airflow_status_file=%s" % status_file, "-e", "airflow_status_backup_max_age_hours=1")
    reported = json.loads(status_file.read_text())["backup"]
    assert status.returncode == 0 and reported["file"] == archive.name and reported["age_hours"] < 1, status.output[-2000:]
    assert reported["counts"].startswith("dag_run=")

    # refusals: each fails with its reason before anything changes
    foreign = tmp_path / "foreign.vault"
    foreign.write_text(json.dumps({"hello": "world"}))
    password_file = tmp_path / "password"
    password_file.write_text(vault_secret)
    subprocess.run(["ansible-vault", "encrypt", "--vault-password-file", str(password_file), str(foreign)],
                   check=True, capture_output=True)
    not_vault = tmp_path / "notes.txt"
    not_vault.write_text("not a backup\n")
    untouched = namespace_snapshot(k8s)
    for args, words in [
            (["-e", "airflow_backup_file=%s" % archive, "-e", "airflow_backup_vault_secret=wrong"], "cannot be opened"),
            (["-e", "airflow_backup_file=%s" % not_vault, "-e", "@%s" % secret_vars], "cannot be opened"),
            (["-e", "airflow_backup_file=%s" % foreign, "-e", "@%s" % secret_vars], "is not a flujo.airflow backup"),
            (["-e", "airflow_backup_file=%s" % archive, "-e", "@%s" % secret_vars], "already holds a deployment")]:
        refused = run_playbook("playbooks/restore.yml", *args)
        assert refused.returncode != 0 and words in " ".join(refused.output.split()), refused.output[-3000:]
        assert namespace_snapshot(k8s) == untouched, words
    # check mode changes nothing, not even a forced restore over the live namespace or a purge
    for playbook, args in [("playbooks/restore.yml", ["-e", "airflow_backup_file=%s" % archive, "-e", "@%s" % secret_vars,
                                                      "-e", "airflow_backup_restore_force=true"]),
                           ("playbooks/uninstall.yml", ["-e", "airflow_purge=true"])]:
        checked = run_playbook(playbook, *args, "--check")
        assert checked.returncode == 0, checked.output[-3000:]
        assert namespace_snapshot(k8s) == untouched, playbook

    record("uninstall_purge", playbook_ok("playbooks/uninstall.yml", "-e", "airflow_purge=true"))
    wait_namespace_gone(core)
    record("restore", playbook_ok("playbooks/restore.yml", "-e", "airflow_backup_file=%s" % archive,
                                  "-e", "@%s" % secret_vars))

    assert counts(api) == before
    assert secret_digests(core) == digests
    assert connection_password(core, "flujo_backup") == "kept-through-restore"
    # DAG files are code, delivered from their source, not part of the database backup
    record("dags_after_restore", playbook_ok("playbooks/dags.yml", "-e",
                                             "airflow_dags_source=%s" % (REPO / "examples" / "dags")))
    assert api.wait(api.trigger("flujo_hello")) == "success"


def test_uninstall_keeps_data_and_secrets_and_site_brings_them_back(api, core, apps):
    before = secret_versions(core)
    runs = counts(api)["dag_runs"]
    pvcs = {p.metadata.name for p in core.list_namespaced_persistent_volume_claim(NAMESPACE).items}
    record("uninstall_keep", playbook_ok("playbooks/uninstall.yml"))
    assert not apps.list_namespaced_deployment(NAMESPACE).items
    assert not apps.list_namespaced_stateful_set(NAMESPACE).items
    assert {p.metadata.name for p in core.list_namespaced_persistent_volume_claim(NAMESPACE).items} == pvcs

    record("site_after_uninstall", playbook_ok("site.yml"))
    assert_secrets_unchanged(core, before)
    assert counts(api)["dag_runs"] == runs
    assert api.wait(api.trigger("flujo_hello")) == "success"
