# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Fernet rotation runbook keeps data encrypted before it readable (molecule/fernet_rotation)."""

import hashlib

import pytest

from helpers import SECRET, connection_password, playbook_ok, read_secret

pytestmark = pytest.mark.rotation


def test_rotation_keeps_connections_and_variables_readable(core, api, pod_host):
    conn = {"connection_id": "flujo_rotation", "conn_type": "postgres", "host": "db.example",
            "login": "app", "password": "s3cret-before-rotation"}
    api.raw("DELETE", "/api/v2/connections/flujo_rotation")
    assert api.raw("POST", "/api/v2/connections", json=conn).status_code == 201
    api.raw("DELETE", "/api/v2/variables/flujo_rotation")
    assert api.raw("POST", "/api/v2/variables", json={"key": "flujo_rotation", "value": "v-before"}).status_code == 201
    key_before = read_secret(core, SECRET)["AIRFLOW__CORE__FERNET_KEY"]
    assert "," not in key_before

    run = playbook_ok("playbooks/rotate_fernet_key.yml")
    assert key_before not in run.output

    key_after = read_secret(core, SECRET)["AIRFLOW__CORE__FERNET_KEY"]
    assert "," not in key_after and key_after != key_before
    scheduler = pod_host("scheduler")
    # the running pods hold only the new key, and still decrypt what the old key encrypted
    assert connection_password(core, "flujo_rotation") == "s3cret-before-rotation"
    assert scheduler.check_output("airflow variables get flujo_rotation 2>/dev/null") == "v-before"
    new_key_digest = scheduler.check_output("printf %s \"$AIRFLOW__CORE__FERNET_KEY\" | sha256sum | cut -c1-64")
    assert new_key_digest == hashlib.sha256(key_after.encode()).hexdigest()
