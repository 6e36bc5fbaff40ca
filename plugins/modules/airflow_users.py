#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flujo.airflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: airflow_users
short_description: Reconcile the users and roles of Airflow's FAB auth manager
version_added: "0.2.0"
author:
  - flujo.airflow contributors (@flujo)
description:
  - Makes the users (and optionally the roles) of the FAB auth manager what the inventory declares.
    A missing user is created, a user whose names, email, roles or password differ is updated, a user
    with O(users[].state=absent) is removed, and with O(exclusive=true) so is every user nobody declared.
  - The work is done by a program (O(program)) in a running, ready pod of the api-server, with FAB's
    security manager, in one process. Its input, passwords included, goes to the program's stdin
    only, never into its command line, the exec request or the environment.
  - Passwords are read from Kubernetes Secrets by this module and compared with FAB's stored hashes,
    so an unchanged password costs no write. Nothing is written unless something differs.
  - Returns names only, never a password.
options:
  namespace:
    description: Namespace of the api-server pods and of the Secrets.
    type: str
    required: true
  pod_selector:
    description: Label selectors of the api-server pods; the first running and ready one is used.
    type: list
    elements: str
    required: true
  container:
    description: The api-server container of that pod.
    type: str
    required: true
  program:
    description: The source of the program run as C(python -c) in the container (the role's C(files/fab_users.py)).
    type: str
    required: true
  users:
    description: The users to reconcile.
    type: list
    elements: dict
    default: []
    suboptions:
      username:
        description: User name.
        type: str
        required: true
      email:
        description: Email address (FAB requires one, unique).
        type: str
      first_name:
        description: First name.
        type: str
      last_name:
        description: Last name.
        type: str
      roles:
        description: Names of the user's roles (exactly these).
        type: list
        elements: str
        default: []
      state:
        description: V(absent) removes the user.
        type: str
        choices: [present, absent]
        default: present
      password_secret:
        description: The Secret holding the user's password.
        type: str
      password_key:
        description: The key of the password in O(users[].password_secret).
        type: str
  roles:
    description: Custom roles with exactly these permissions (built-in roles are FAB's own).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Role name.
        type: str
        required: true
      permissions:
        description: "C({action, resource}) pairs with FAB's names, for example C({action: can_read, resource: DAGs})."
        type: list
        elements: dict
        default: []
      state:
        description: V(absent) removes the role.
        type: str
        choices: [present, absent]
        default: present
  exclusive:
    description: Also remove every user that O(users) does not name (except those in O(keep)).
    type: bool
    default: false
  keep:
    description: Users never removed by O(exclusive).
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for the program.
    type: int
    default: 120
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - flujo.airflow.light_connection
notes:
  - Supports check mode exactly (the program plans against the live database and writes nothing).
    When no api-server pod is ready yet (an empty cluster), check mode predicts that every declared
    present user and role will be created.
  - Supports diff mode (names and the fields that change, never a password).
requirements:
  - python >= 3.9
  - kubernetes >= 31.0.0, < 38 (the Python client)
  - the kubernetes.core collection (>= 2.4.0, as galaxy.yml says)
"""

EXAMPLES = r"""
- name: The admin and a viewer
  flujo.airflow.airflow_users:
    namespace: airflow
    pod_selector: [app.kubernetes.io/component=api-server]
    container: api-server
    program: "{{ lookup('ansible.builtin.file', 'fab_users.py') }}"
    users:
      - {username: admin, email: admin@example.com, first_name: admin, last_name: admin, roles: [Admin],
         password_secret: airflow-secrets, password_key: AIRFLOW_ADMIN_PASSWORD}
      - {username: ana, email: ana@example.com, first_name: Ana, last_name: Lima, roles: [Viewer],
         password_secret: airflow-users, password_key: ana}
"""

RETURN = r"""
created:
  description: Users created (or, in check mode, to be created).
  returned: always
  type: list
  elements: str
updated:
  description: Per updated user, the fields that changed (C(password) when only that did).
  returned: always
  type: dict
removed:
  description: Users removed.
  returned: always
  type: list
  elements: str
roles_created:
  description: Roles created.
  returned: always
  type: list
  elements: str
roles_updated:
  description: Roles whose permissions changed.
  returned: always
  type: list
  elements: str
roles_removed:
  description: Roles removed.
  returned: always
  type: list
  elements: str
pod:
  description: The pod the program ran in (empty when none was ready in check mode).
  returned: always
  type: str
"""

import base64
import copy
import json

from ansible_collections.flujo.airflow.plugins.module_utils._k8s_api import ApiError, connect, run_in_pod
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule

MARKER = "flujo.airflow/users: "
REPORT_KEYS = ("created", "updated", "removed", "roles_created", "roles_updated", "roles_removed")


def ready_pod(api, namespace, selectors):
    pods = api.request("GET", "/api/v1/namespaces/%s/pods" % namespace, query={"labelSelector": ",".join(selectors)})
    for pod in pods.get("items") or []:
        status = pod.get("status") or {}
        conditions = dict((c.get("type"), c.get("status")) for c in status.get("conditions") or [])
        if status.get("phase") == "Running" and conditions.get("Ready") == "True" and not pod["metadata"].get("deletionTimestamp"):
            return pod["metadata"]["name"]
    return None


def run_program(api, namespace, pod, container, program, line, timeout):
    """Run `python -c program` in the pod, write line to its stdin; (rc, stdout, stderr)."""
    return run_in_pod(api, namespace, pod, container, ["python", "-c", program], line, timeout)


def read_passwords(module, api, name, username):
    """The decoded data of a Secret of passwords; in check mode {} when it does not exist yet."""
    namespace = module.params["namespace"]
    try:
        obj = api.request("GET", "/api/v1/namespaces/%s/secrets/%s" % (namespace, name))
    except ApiError as exc:
        if exc.status == 404 and module.check_mode:
            return {}  # the secret module creates it in the real run
        module.fail_json(msg="Cannot read Secret %s in namespace %s (password of user %s): %s"
                         % (name, namespace, username, exc))
    return dict((k, base64.b64decode(v).decode("utf-8")) for k, v in (obj.get("data") or {}).items())


def predicted_without_pod(params):
    """Check mode on an empty cluster: every present user and role is to be created."""
    report = dict((k, [] if k != "updated" else {}) for k in REPORT_KEYS)
    report["created"] = [u["username"] for u in params["users"] if u["state"] == "present"]
    report["roles_created"] = [r["name"] for r in params["roles"] if r["state"] == "present"]
    return report


def main():
    argument_spec = copy.deepcopy(AUTH_ARG_SPEC)
    argument_spec.update(
        namespace=dict(type="str", required=True),
        pod_selector=dict(type="list", elements="str", required=True),
        container=dict(type="str", required=True),
        program=dict(type="str", required=True),
        users=dict(type="list", elements="dict", default=[], options=dict(
            username=dict(type="str", required=True),
            email=dict(type="str"),
            first_name=dict(type="str"),
            last_name=dict(type="str"),
            roles=dict(type="list", elements="str", default=[]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            password_secret=dict(type="str", no_log=False),
            password_key=dict(type="str", no_log=False),
        )),
        roles=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True),
            permissions=dict(type="list", elements="dict", default=[]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        )),
        exclusive=dict(type="bool", default=False),
        keep=dict(type="list", elements="str", default=[], no_log=False),
        timeout=dict(type="int", default=120),
    )
    # check_k8s/check_pyyaml import the kubernetes package (0.5-1 s): connect() needs it only for what the light path cannot do
    module = AnsibleK8SModule(argument_spec=argument_spec, supports_check_mode=True, check_k8s=False, check_pyyaml=False)
    params = module.params
    no_log_values = module._module.no_log_values
    api = connect(module)

    namespace = params["namespace"]
    try:
        pod = ready_pod(api, namespace, params["pod_selector"])
    except ApiError as exc:
        module.fail_json(msg="Cannot list the api-server pods in namespace %s: %s" % (namespace, exc))
    if pod is None:
        if module.check_mode:
            report = predicted_without_pod(params)
            module.exit_json(changed=any(report.values()), pod="", **report)
        module.fail_json(msg="No running and ready api-server pod (%s) in namespace %s to manage the users in"
                         % (",".join(params["pod_selector"]), namespace))

    secrets = {}
    users = []
    for user in params["users"]:
        entry = dict((k, user[k]) for k in ("username", "email", "first_name", "last_name", "roles", "state"))
        if user["state"] == "present":
            name, key = user["password_secret"], user["password_key"]
            if name not in secrets:
                secrets[name] = read_passwords(module, api, name, user["username"])
                no_log_values.update(v for v in secrets[name].values() if v)
            if key in secrets[name]:
                entry["password"] = secrets[name][key]
            elif module.check_mode:
                entry["password"] = None  # generated by the secret module in the real run: a change
            else:
                module.fail_json(msg="Secret %s in namespace %s has no key %s (password of user %s)"
                                 % (name, namespace, key, user["username"]))
        users.append(entry)
    roles = [{"name": r["name"], "state": r["state"],
              "permissions": [[p["action"], p["resource"]] for p in r["permissions"]]} for r in params["roles"]]
    line = json.dumps({"users": users, "roles": roles, "exclusive": params["exclusive"], "keep": params["keep"],
                       "check": module.check_mode})
    try:
        rc, out, err = run_program(api, namespace, pod, params["container"], params["program"], line, params["timeout"])
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="Cannot run the users program in pod %s: %s: %s" % (pod, exc.__class__.__name__, exc))
    results = [ln[len(MARKER):] for ln in out.splitlines() if ln.startswith(MARKER)]
    report = json.loads(results[-1]) if results else {}
    if rc != 0 or "error" in report or not results:
        module.fail_json(msg="Managing the FAB users in pod %s failed (rc %s): %s" % (
            pod, rc, report.get("error") or (err.strip().splitlines() or ["no output"])[-1]))
    result = dict((k, report.get(k, {} if k == "updated" else [])) for k in REPORT_KEYS)
    if module._diff:
        # a copy: a result that contained itself made exit_json's no_log pass grow without end
        result["diff"] = dict(before={}, after=dict(result))
    module.exit_json(changed=bool(report.get("changed")), pod=pod, **result)


if __name__ == "__main__":
    main()
