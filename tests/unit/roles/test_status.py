# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""roles/airflow_status/files/status.py: the document it prints from a real (sqlite) database,
a real HTTP health endpoint and real directories, run the way the status playbook runs it
(`python -c <content> <wait_for_migrations.py source> <health URL> <path>...`)."""

import http.server
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROLES = Path(__file__).resolve().parents[3] / "roles"
SCRIPT = ROLES / "airflow_status" / "files" / "status.py"
WFM = ROLES / "airflow" / "files" / "wait_for_migrations.py"
HEALTH = {"metadatabase": {"status": "healthy"},
          "scheduler": {"status": "unhealthy", "latest_scheduler_heartbeat": "2026-01-01T00:00:00+00:00"}}


@pytest.fixture
def sa():
    return pytest.importorskip("sqlalchemy")


@pytest.fixture
def versions(tmp_path):
    """Two alembic version files: the head is bbbb00000002."""
    directory = tmp_path / "versions"
    directory.mkdir()
    (directory / "0001_first.py").write_text('revision = "aaaa00000001"\ndown_revision = None\n')
    (directory / "0002_second.py").write_text('revision = "bbbb00000002"\ndown_revision = "aaaa00000001"\n')
    return directory


def database(sa, tmp_path, revision, states):
    url = "sqlite:///%s" % (tmp_path / "airflow.db")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})
        conn.execute(sa.text("CREATE TABLE task_instance (id INTEGER PRIMARY KEY, state VARCHAR(20))"))
        for state in states:
            conn.execute(sa.text("INSERT INTO task_instance (state) VALUES (:s)"), {"s": state})
    engine.dispose()
    return url


@pytest.fixture
def health_url():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server API)
            body = json.dumps(HEALTH).encode()
            self.send_response(200 if self.path == "/api/v2/monitor/health" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d/api/v2/monitor/health" % server.server_address[1]
    server.shutdown()


def run(url, args, versions):
    """The script as the playbook runs it, with the migration files of versions."""
    code = SCRIPT.read_text().replace("versions_dir or wfm[", "%r or wfm[" % str(versions))
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url} if url else {}
    out = subprocess.run([sys.executable, "-c", code, WFM.read_text()] + args, env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_at_head_with_counts_health_and_volumes(sa, tmp_path, versions, health_url):
    url = database(sa, tmp_path, "bbbb00000002", ["queued", "queued", "running", "success", "failed"])
    doc = run(url, [health_url, str(tmp_path)], versions)
    assert doc["schema"] == {"current": ["bbbb00000002"], "head": "bbbb00000002", "at_head": True}
    assert doc["tasks"] == {"queued": 2, "running": 1, "scheduled": 0, "deferred": 0, "up_for_retry": 0}
    assert doc["health"] == HEALTH
    (volume,) = doc["volumes"]
    assert volume["path"] == str(tmp_path) and volume["size_bytes"] > volume["used_bytes"] > 0
    assert 0 < volume["used_percent"] < 100


def test_behind_head_and_unreadable_parts_are_reported_not_raised(sa, tmp_path, versions):
    url = database(sa, tmp_path, "aaaa00000001", [])
    doc = run(url, ["http://127.0.0.1:9/api/v2/monitor/health", str(tmp_path / "missing")], versions)
    assert doc["schema"]["at_head"] is False and doc["schema"]["current"] == ["aaaa00000001"]
    assert doc["tasks"]["queued"] == 0
    assert doc["health"]["error"].startswith("URLError")
    assert doc["volumes"][0]["path"] == str(tmp_path / "missing")
    assert doc["volumes"][0]["error"].startswith("FileNotFoundError")


def test_without_a_database_url_every_database_part_says_so(tmp_path, versions):
    doc = run("", ["http://127.0.0.1:9/x"], versions)
    assert doc["schema"] == doc["tasks"] == {"error": "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN is not set"}
    assert doc["volumes"] == []


def test_volume_arithmetic():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import status
    finally:
        sys.path.pop(0)

    class St:
        f_blocks, f_bfree, f_frsize = 1000, 250, 4096
    assert status.volume("/x", statvfs=lambda p: St) == {
        "path": "/x", "size_bytes": 4096000, "used_bytes": 3072000, "used_percent": 75.0}
