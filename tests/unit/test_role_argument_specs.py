# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flujo.airflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each role's defaults/main.yml and meta/argument_specs.yml agree.

Role argument specs document a role's variables (ansible-doc -t role) and validate them, but the
values a role runs with come from defaults/main.yml: Ansible never applies a spec's default. So
for every role under roles/:

- every variable of defaults/main.yml is an option of an entry point (usually main);
- every option whose spec states a default has that same default in defaults/main.yml (literal
  values; templated ones such as "{{ airflow_image }}" compare as strings);
- every dict or list option that defaults/main.yml sets states that default in the spec, or
  ansible-doc shows "default: null" for a variable that has a value; one that defaults to another
  variable ("{{ airflow_node_selector }}", which a typed spec default cannot hold) names that
  variable in its description;
- no variable of defaults/main.yml starts with "__" (the prefix of internal variables, which
  belong in vars/ or set_fact, not in what users may override).

Runs with plain pytest from a checkout and with ansible-test units from the collection root.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest
import yaml

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES_DIR = os.path.join(COLLECTION_ROOT, "roles")
ROLES = sorted(name for name in os.listdir(ROLES_DIR) if os.path.isdir(os.path.join(ROLES_DIR, name))) \
    if os.path.isdir(ROLES_DIR) else []


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads tagged values (!unsafe, !vault, ...) as the plain value they hold."""


def _untagged(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


_Loader.add_multi_constructor("!", _untagged)


def _load(path):
    if not os.path.isfile(path):
        return None
    with open(path) as handle:
        return yaml.load(handle, Loader=_Loader)


def _defaults(role):
    """defaults/main.yml (or .yaml) of the role; {} when it has none."""
    for name in ("main.yml", "main.yaml"):
        data = _load(os.path.join(ROLES_DIR, role, "defaults", name))
        if data is not None:
            return data
    return {}


def _entry_points(role):
    """{entry point: {option: spec}} from meta/argument_specs.yml (or .yaml)."""
    for name in ("argument_specs.yml", "argument_specs.yaml"):
        data = _load(os.path.join(ROLES_DIR, role, "meta", name))
        if data is not None:
            specs = data.get("argument_specs") or {}
            return dict((entry, (spec or {}).get("options") or {}) for entry, spec in specs.items())
    return None


def _same(left, right):
    """Equal values of the same YAML types (True is not 1, "1" is not 1)."""
    if isinstance(left, dict) and isinstance(right, dict):
        return sorted(left) == sorted(right) and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right))
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return left == right
    return type(left) is type(right) and left == right


def _specs(role):
    entry_points = _entry_points(role)
    if entry_points is None:
        pytest.fail("%s: no meta/argument_specs.yml" % role, pytrace=False)
    return entry_points


def _options(entry_points):
    """Every option of every entry point: {option: [(entry point, spec), ...]}."""
    options = {}
    for entry, opts in sorted(entry_points.items()):
        for name, spec in opts.items():
            options.setdefault(name, []).append((entry, spec or {}))
    return options


def test_roles_are_found():
    assert ROLES, "no role directories under %s" % ROLES_DIR


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_documented(role):
    options = _options(_specs(role))
    missing = sorted(name for name in _defaults(role) if name not in options)
    if missing:
        pytest.fail("%s: defaults/main.yml sets variables that no entry point of meta/argument_specs.yml "
                    "documents: %s" % (role, ", ".join(missing)), pytrace=False)


@pytest.mark.parametrize("role", ROLES)
def test_spec_defaults_match_defaults_file(role):
    defaults = _defaults(role)
    problems = []
    for name, specs in sorted(_options(_specs(role)).items()):
        for entry, spec in specs:
            if "default" not in spec:
                continue
            if name not in defaults:
                problems.append("%s (entry point %s): the spec states default %r, defaults/main.yml does not set it"
                                % (name, entry, spec["default"]))
            elif not _same(spec["default"], defaults[name]):
                problems.append("%s (entry point %s): the spec states default %r, defaults/main.yml sets %r"
                                % (name, entry, spec["default"], defaults[name]))
    if problems:
        pytest.fail("%s:\n  %s" % (role, "\n  ".join(problems)), pytrace=False)


def _as_list(value):
    return value if isinstance(value, list) else [value or ""]


@pytest.mark.parametrize("role", ROLES)
def test_dict_and_list_defaults_are_stated(role):
    defaults = _defaults(role)
    problems = []
    for name, specs in sorted(_options(_specs(role)).items()):
        if name not in defaults or defaults[name] is None:
            continue
        inherited = re.match(r"^\{\{\s*(\w+)\s*\}\}$", defaults[name]) if isinstance(defaults[name], str) else None
        for entry, spec in specs:
            if inherited:
                # a typed spec cannot state a template as its default (antsibull-docs rejects it):
                # its description must name the variable it inherits instead
                if inherited.group(1) not in " ".join(_as_list(spec.get("description"))):
                    problems.append("%s (entry point %s): defaults to %s, which its description does not name"
                                    % (name, entry, inherited.group(1)))
            elif spec.get("type") in ("dict", "list") and "default" not in spec:
                problems.append("%s (entry point %s, type %s): defaults/main.yml sets %r, the spec states no default"
                                % (name, entry, spec["type"], defaults[name]))
    if problems:
        pytest.fail("%s (ansible-doc -t role shows default: null for these):\n  %s"
                    % (role, "\n  ".join(problems)), pytrace=False)


@pytest.mark.parametrize("role", ROLES)
def test_no_internal_variables_in_defaults(role):
    internal = sorted(name for name in _defaults(role) if str(name).startswith("__"))
    if internal:
        pytest.fail("%s: defaults/main.yml sets internal (__-prefixed) variables: %s"
                    % (role, ", ".join(internal)), pytrace=False)
