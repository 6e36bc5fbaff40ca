# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The template lookup's disk cache of compiled templates: a second compile of the same text is
read from the cache (Jinja's code generator is not called), renders the same, and a corrupt or
unwritable cache only means compiling as usual; the cache is capped, and Jinja is itself again once
the lookup returns."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import jinja2
import pytest
from ansible._internal._templating._jinja_bits import AnsibleEnvironment
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.flujo.airflow.plugins.lookup import template as lookup

SOURCE = "{% for i in range(n) %}{{ i }},{% endfor %}" + "{# the smallest text cached #}" * 20
EXPECTED = "0,1,2,"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "flujo.airflow" / "jinja"


@pytest.fixture
def generations(monkeypatch):
    """How many times Jinja generated Python code from a template."""
    calls = []
    original = jinja2.Environment._generate

    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)
    monkeypatch.setattr(jinja2.Environment, "_generate", counted)
    return calls


def render(source=SOURCE, **overrides):
    with lookup._compiled_code_cached():
        return plain_render(source, **overrides)


def plain_render(source, **overrides):
    return Templar(loader=DataLoader(), variables={"n": 3}).template(trust_as_template(source), overrides=overrides or None)


def test_the_second_compile_is_read_from_the_cache(cache, generations):
    assert render() == EXPECTED and len(generations) == 1
    assert len(os.listdir(cache)) == 1
    assert render() == EXPECTED and len(generations) == 1


def test_other_settings_are_another_entry(cache, generations):
    render()
    assert render(variable_start_string="{{") == EXPECTED and len(generations) == 1   # the same settings
    render(trim_blocks=False)
    assert len(generations) == 2 and len(os.listdir(cache)) == 2


def test_a_corrupt_entry_is_compiled_again(cache, generations):
    render()
    (entry,) = os.listdir(cache)
    (cache / entry).write_bytes(b"not marshal data")
    assert render() == EXPECTED and len(generations) == 2
    assert render() == EXPECTED and len(generations) == 2   # rewritten


def test_an_unwritable_cache_compiles_as_usual(tmp_path, monkeypatch, generations):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))   # a directory cannot be made under a file
    assert render() == EXPECTED and render() == EXPECTED and len(generations) == 2


def test_short_texts_are_not_cached(cache, generations):
    assert render("{{ n }}") == 3 and not cache.exists()   # a lone expression keeps its type


def test_the_cache_keeps_the_newest_entries(cache, monkeypatch):
    monkeypatch.setattr(lookup, "_MOST_KEPT", 3)
    for n in range(5):
        render(SOURCE + "{# %d #}" % n)
    assert len(os.listdir(cache)) == 3


def test_jinja_compiles_as_usual_outside_the_lookup(cache):
    render()
    assert "compile" not in vars(AnsibleEnvironment)
    plain_render(SOURCE + "{# outside #}")
    assert len(os.listdir(cache)) == 1
