#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flujo.airflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: render_files
short_description: Write rendered manifests into a directory of the controller
version_added: "0.1.0"
author:
  - flujo.airflow contributors (@flujo)
description:
  - Writes each file of O(files) into O(dest) on the controller, in the controller's process (an
    action plugin; no module runs on a host). A file whose content is already that is left alone.
  - Render mode (C(airflow_render_dir)) writes every manifest with it.
options:
  dest:
    description: An existing directory of the controller.
    type: path
    required: true
  files:
    description: The files to write.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: File name, without a directory.
        type: str
        required: true
      content:
        description: Its content.
        type: str
        required: true
  mode:
    description: Permissions of the files written.
    type: str
    default: "0644"
notes:
  - Reports V(changed) when a file was written (or, in check mode, would be). Supports check mode.
"""

EXAMPLES = r"""
- name: Write two manifests
  flujo.airflow.render_files:
    dest: /tmp/manifests
    files:
      - {name: 00-namespace.yaml, content: "{{ namespace | to_nice_yaml }}"}
      - {name: 01-configmap.yaml, content: "{{ configmap | to_nice_yaml }}"}
"""

RETURN = r"""
written:
  description: Names of the files written (or, in check mode, to be written).
  returned: always
  type: list
  elements: str
  sample: [00-base-00-namespace-airflow.yaml]
dest:
  description: The directory.
  returned: always
  type: str
"""
