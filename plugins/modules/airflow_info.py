#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flujo.airflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: airflow_info
short_description: List the objects of one kind in a namespace, by label
version_added: "0.1.0"
author:
  - flujo.airflow contributors (@flujo)
description:
  - Lists the objects of O(kind) in O(namespace) that carry every label of O(label_selectors), with one
    request and the same client as M(flujo.airflow.airflow_apply) (no discovery of the API groups, which
    costs P(kubernetes.core.k8s_info#module) most of a second per call).
  - A namespace that does not exist has no objects.
  - Never changes anything; runs in check mode too.
options:
  api_version:
    description: API version of the kind.
    type: str
    default: v1
  kind:
    description: The kind, for example V(Pod).
    type: str
    required: true
  namespace:
    description: The namespace.
    type: str
    required: true
  label_selectors:
    description: Label selectors (C(key=value), C(key!=value), C(key)), all of which must match.
    type: list
    elements: str
    default: []
  volume_nodes:
    description:
      - With O(kind=Pod), also say which listed pods that are not ready cannot run because a claim they mount is bound
        to a volume only nodes that cannot take them can mount (cordoned, NotReady, gone, or outside the pod's
        nodeSelector or tolerations). That is a node-local ReadWriteOnce volume after a drain or the loss of its node.
      - Reads claims, volumes and the nodes only for pods that are not ready; says nothing when the account may not
        read volumes or nodes.
    type: bool
    default: false
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - flujo.airflow.light_connection
notes:
  - "Belongs to the action group C(flujo.airflow.k8s), as M(flujo.airflow.airflow_apply) does."
requirements:
  - python >= 3.9
  - kubernetes >= 31.0.0, < 38 (the Python client)
  - the kubernetes.core collection (>= 2.4.0, as galaxy.yml says), whose client configuration and authentication options are used
"""

EXAMPLES = r"""
- name: The Airflow pods of one deployment
  flujo.airflow.airflow_info:
    kind: Pod
    namespace: airflow
    label_selectors:
      - app.kubernetes.io/name=airflow
      - app.kubernetes.io/instance=airflow
  register: pods
"""

RETURN = r"""
resources:
  description: The objects, as the API server lists them (with C(kind) and C(apiVersion) added).
  returned: always
  type: list
  elements: dict
namespace_exists:
  description: Whether O(namespace) exists (read with one more request only when nothing was listed; false when
    the account may not read namespaces).
  returned: always
  type: bool
volume_node_problems:
  description: With O(volume_nodes), one entry per pod and claim held back by its volume's node.
  returned: when O(volume_nodes) is true
  type: list
  elements: dict
  contains:
    pod:
      description: The pod.
      type: str
    component:
      description: Its C(app.kubernetes.io/component) label.
      type: str
    claim:
      description: The PersistentVolumeClaim.
      type: str
    volume:
      description: The PersistentVolume it is bound to.
      type: str
    nodes:
      description: The nodes the volume can be mounted on, each with why it cannot run the pod (keys C(name) and C(reasons)).
      type: list
      elements: dict
    text:
      description: All of it in one sentence, with what to do.
      type: str
"""

import copy

from ansible_collections.flujo.airflow.plugins.module_utils._k8s_api import ApiError, connect
from ansible_collections.flujo.airflow.plugins.module_utils._volume_nodes import volume_node_problems
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule


def main():
    argument_spec = copy.deepcopy(AUTH_ARG_SPEC)
    argument_spec.update(
        api_version=dict(type="str", default="v1"),
        kind=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        label_selectors=dict(type="list", elements="str", default=[]),
        volume_nodes=dict(type="bool", default=False),
    )
    # check_k8s/check_pyyaml import the kubernetes package (0.5-1 s): connect() needs it only for what the light path cannot do
    module = AnsibleK8SModule(argument_spec=argument_spec, supports_check_mode=True, check_k8s=False, check_pyyaml=False)
    params = module.params
    api = connect(module)
    query = {"labelSelector": ",".join(params["label_selectors"])} if params["label_selectors"] else {}
    try:
        listed = api.request("GET", api.path(params["api_version"], params["kind"], params["namespace"]), query=query)
    except ApiError as exc:
        if exc.status != 404:  # 404: no such namespace, nothing in it
            module.fail_json(msg="Cannot list the %ss of namespace %s: %s%s" % (
                params["kind"], params["namespace"], exc, (": " + exc.message) if exc.message else ""))
        listed = {}
    resources = listed.get("items") or []
    for item in resources:
        item.update(kind=params["kind"], apiVersion=params["api_version"])  # the items of a list name neither
    extra = {}
    if params["volume_nodes"] and params["kind"] == "Pod":
        try:
            extra["volume_node_problems"] = volume_node_problems(api, params["namespace"], resources)
        except ApiError as exc:
            module.fail_json(msg="Cannot read the volumes of the pods of namespace %s: %s%s" % (
                params["namespace"], exc, (": " + exc.message) if exc.message else ""))
    module.exit_json(changed=False, resources=resources,
                     namespace_exists=bool(resources) or namespace_exists(module, api, params["namespace"]), **extra)


def namespace_exists(module, api, namespace):
    try:
        api.request("GET", "/api/v1/namespaces/%s" % namespace)
    except ApiError as exc:
        if exc.status in (403, 404):  # 403: a namespace-scoped account may not read namespaces; said as absent
            return False
        module.fail_json(msg="Cannot read the namespace %s: %s%s" % (namespace, exc, (": " + exc.message) if exc.message else ""))
    return True


if __name__ == "__main__":
    main()
