# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flujo.airflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: template
short_description: ansible.builtin.template's lookup, without a deep copy of every variable per call
version_added: "0.1.0"
author:
  - flujo.airflow contributors (@flujo)
description:
  - Renders template files exactly as the P(ansible.builtin.template#lookup) lookup does (the same
    search path, the same variables, O(template_vars) on top), and returns each result.
  - The builtin lookup deep-copies all the variables of the task before every file it renders. The
    roles of this collection render about thirty manifests per run, while the variables hold the
    manifests rendered so far; those copies were most of the controller's time in a no-op run. This
    lookup gives it a shallow copy instead (a template reads variables, it never changes them).
options:
  _terms:
    description: The template files, found in the C(templates) folders of the search path as for the builtin.
  template_vars:
    description: Variables added to (or overriding) the task's variables for these templates.
    type: dict
    default: {}
  convert_data:
    description: Ignored, as by the builtin lookup since ansible-core 2.19.
    type: bool
    default: true
  jinja2_native:
    description: Ignored, as by the builtin lookup since ansible-core 2.19.
    type: bool
    default: true
  variable_start_string:
    description: The string marking the beginning of a print statement.
    type: str
    default: "{{"
  variable_end_string:
    description: The string marking the end of a print statement.
    type: str
    default: "}}"
  comment_start_string:
    description: The string marking the beginning of a comment.
    type: str
    default: "{#"
  comment_end_string:
    description: The string marking the end of a comment.
    type: str
    default: "#}"
  trim_blocks:
    description: Remove the first newline after a block.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Render a manifest with one extra variable
  ansible.builtin.set_fact:
    pvc: "{{ lookup('flujo.airflow.template', 'pvc.yaml.j2', template_vars={'pvc': {'name': 'data'}}) | from_yaml }}"
"""

RETURN = r"""
_raw:
  description: The rendered text of each template.
  type: list
  elements: raw
"""

from ansible.plugins.lookup.template import LookupModule as BuiltinTemplateLookup


class _CopiedShallow(dict):
    """The task's variables; the builtin lookup's deep copy of them is only a copy of the top level."""

    def __deepcopy__(self, memo):
        return dict(self)


class LookupModule(BuiltinTemplateLookup):

    def run(self, terms, variables=None, **kwargs):
        if type(variables) is dict:  # pylint: disable=unidiomatic-typecheck
            variables = _CopiedShallow(variables)  # a plain dict's top level; any other mapping as the builtin does
        return super(LookupModule, self).run(terms, variables=variables, **kwargs)
