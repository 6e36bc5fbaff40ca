# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the render tests share: a render of an inventory as it is (no extra variables), made once
per session. A render costs a whole playbook run; several tests only read the defaults' output."""

import pytest

from helpers import render_site


@pytest.fixture(scope="session")
def plain_render(tmp_path_factory):
    """plain_render(inventory) -> (directory of manifests, the playbook run), rendered once."""
    done = {}

    def get(inventory):
        if inventory not in done:
            out = tmp_path_factory.mktemp("render-" + inventory) / "manifests"
            done[inventory] = (out, render_site(out, inventory))
        return done[inventory]
    return get
