# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A component role in a playbook of the user's own (docs/architecture.md): after airflow_preflight,
airflow_base and airflow_secrets it renders its objects as site.yml does; without them it fails
with a message naming the role that is missing, before its own objects are rendered."""

import pytest

from helpers import REPO, rendered_objects, run_playbook

PLAY = """- name: A playbook of the user's own
  hosts: airflow
  gather_facts: false
  roles:
%s"""


def own_playbook(tmp_path, out, *roles):
    playbook = tmp_path / "own.yml"
    playbook.write_text(PLAY % "".join("    - flujo.airflow.%s\n" % role for role in roles))
    return run_playbook(str(playbook), "-e", "airflow_render_dir=%s" % out,
                        inventory=str(REPO / "inventory" / "kind"), timeout=300)


def test_a_component_role_after_the_roles_it_needs_renders_its_pod(tmp_path):
    out = tmp_path / "m"
    run = own_playbook(tmp_path, out, "airflow_preflight", "airflow_base", "airflow_secrets", "airflow_scheduler")
    assert run.returncode == 0, run.output[-3000:]
    objects = rendered_objects(out)
    scheduler = objects[("Deployment", "airflow-scheduler")]
    annotations = scheduler["spec"]["template"]["metadata"]["annotations"]
    assert annotations["checksum/config"], annotations
    # the scheduler's own objects and what the roles before it render; no other component
    assert ("ConfigMap", "airflow-config") in objects
    assert not [name for kind, name in objects if name.startswith(("airflow-api-server", "airflow-worker"))], sorted(objects)


ROLES_BEFORE = "import airflow_preflight, airflow_base and airflow_secrets before this role"


# alone, the first value the pod template misses is the Secrets' checksum: the message names
# airflow_secrets and, like every such message, the three roles to import
@pytest.mark.parametrize("roles", [("airflow_scheduler",), ("airflow_preflight", "airflow_base", "airflow_scheduler")],
                         ids=["alone", "without airflow_secrets"])
def test_a_component_role_without_them_fails_naming_the_missing_role(tmp_path, roles):
    out = tmp_path / "m"
    run = own_playbook(tmp_path, out, *roles)
    assert run.returncode != 0, run.output[-3000:]
    assert "need flujo.airflow.airflow_secrets earlier in the play" in run.output, run.output[-3000:]
    assert ROLES_BEFORE in run.output, run.output[-3000:]
    assert ("Deployment", "airflow-scheduler") not in (rendered_objects(out) if out.exists() else {})
