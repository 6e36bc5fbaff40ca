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

import contextlib
import hashlib
import importlib.util
import marshal
import os
import sys
import tempfile

import jinja2
from ansible import __version__ as ansible_version
from ansible.plugins.lookup.template import LookupModule as BuiltinTemplateLookup

try:  # where ansible-core keeps the one compile option that is not on the environment
    from ansible._internal._templating._jinja_bits import AnsibleEnvironment, _TemplateCompileContext
except ImportError:  # another ansible-core: no cache, templates compile as usual
    AnsibleEnvironment = _TemplateCompileContext = None


class _CopiedShallow(dict):
    """The task's variables; the builtin lookup's deep copy of them is only a copy of the top level."""

    def __deepcopy__(self, memo):
        return dict(self)


# what, besides the text, decides the code Jinja generates
_COMPILE_SETTINGS = ("block_start_string", "block_end_string", "variable_start_string", "variable_end_string",
                     "comment_start_string", "comment_end_string", "line_statement_prefix", "line_comment_prefix",
                     "trim_blocks", "lstrip_blocks", "newline_sequence", "keep_trailing_newline", "optimized", "autoescape")
_SMALLEST_CACHED = 512   # characters: a short expression compiles faster than its file is read


def _cache_dir():
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "flujo.airflow", "jinja")


def _cache_path(env, source, name, filename, defer_init):
    compile_context = _TemplateCompileContext.current(optional=True)
    key = repr((importlib.util.MAGIC_NUMBER, sys.version, jinja2.__version__, ansible_version, type(env).__qualname__,
                env.code_generator_class.__qualname__, sorted(env.extensions),
                [getattr(env, setting) for setting in _COMPILE_SETTINGS],
                compile_context.escape_backslashes if compile_context else None, name, filename, defer_init, source))
    return os.path.join(_cache_dir(), hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest())


_MOST_KEPT = 256          # entries; the oldest go when a new one would exceed it (templates change)


def _store(path, data):
    """Write the entry whole (a reader sees all of it or nothing), then drop the oldest beyond _MOST_KEPT."""
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
    entries = [entry for entry in os.scandir(folder) if entry.is_file()]
    if len(entries) > _MOST_KEPT:
        entries.sort(key=lambda entry: entry.stat().st_mtime)
        for entry in entries[:len(entries) - _MOST_KEPT]:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def _compile_with_cache(original):
    def compile_(env, source, name=None, filename=None, raw=False, defer_init=False):
        if raw or not isinstance(source, str) or len(source) < _SMALLEST_CACHED:
            return original(env, source, name, filename, raw, defer_init)
        path = _cache_path(env, source, name, filename, defer_init)
        try:
            with open(path, "rb") as cached:
                return marshal.load(cached)
        except (OSError, ValueError, EOFError, TypeError):
            pass   # not cached yet, or unreadable: compiled as usual
        code = original(env, source, name, filename, raw, defer_init)
        with contextlib.suppress(OSError, ValueError):
            _store(path, marshal.dumps(code))
        return code
    return compile_


@contextlib.contextmanager
def _compiled_code_cached():
    """Jinja's compile served from the disk cache while the templates render."""
    if AnsibleEnvironment is None or "compile" in vars(AnsibleEnvironment):
        yield   # another ansible-core, or already cached (a lookup inside a template)
        return
    AnsibleEnvironment.compile = _compile_with_cache(jinja2.Environment.compile)
    try:
        yield
    finally:
        del AnsibleEnvironment.compile


class LookupModule(BuiltinTemplateLookup):

    def run(self, terms, variables=None, **kwargs):
        if type(variables) is dict:  # pylint: disable=unidiomatic-typecheck
            variables = _CopiedShallow(variables)  # a plain dict's top level; any other mapping as the builtin does
        with _compiled_code_cached():
            return super(LookupModule, self).run(terms, variables=variables, **kwargs)
