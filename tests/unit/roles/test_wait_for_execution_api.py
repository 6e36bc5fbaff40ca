# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""roles/airflow_worker/files/wait_for_execution_api.py: only the Execution API's own healthy
answer lets the worker start (not a 404 from whatever holds a stale endpoint), against a real
local HTTP server, and the file run the way the worker container runs it."""

import importlib.util
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "airflow_worker" / "files" / "wait_for_execution_api.py"
spec = importlib.util.spec_from_file_location("wait_for_execution_api", str(SCRIPT))
wfa = importlib.util.module_from_spec(spec)
spec.loader.exec_module(wfa)


@pytest.fixture
def server():
    """A local server answering /execution/health with what the test sets (status, body)."""
    answer = {"status": 404, "body": b"404 page not found"}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status = answer["status"] if self.path == "/execution/health" else 404
            self.send_response(status)
            self.end_headers()
            self.wfile.write(answer["body"])

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d/execution/" % httpd.server_port, answer
    httpd.shutdown()


def test_a_404_or_another_service_is_not_the_api(server):
    url, answer = server
    assert wfa.healthy(url + "health")[0] is False
    answer.update(status=200, body=b'{"ok": true}')
    assert wfa.healthy(url + "health") == (False, "unexpected answer")
    answer.update(status=200, body=json.dumps({"status": "healthy"}).encode())
    assert wfa.healthy(url + "health")[0] is True


def test_nothing_listening_is_not_healthy():
    ok, why = wfa.healthy("http://127.0.0.1:9/execution/health", timeout=1)
    assert not ok and "URLError" in why


def test_wait_polls_until_healthy_and_gives_up_after_the_timeout():
    answers = iter([(False, "HTTPError: 404"), (False, "HTTPError: 404"), (True, "")])
    now = [0.0]
    assert wfa.wait("u", 60, check=lambda url: next(answers), clock=lambda: now[0],
                    sleep=lambda s: now.__setitem__(0, now[0] + s)) is None
    failure = wfa.wait("u", 10, check=lambda url: (False, "URLError: refused"), clock=lambda: now[0],
                       sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert failure.startswith("the Execution API at u did not answer healthy within 10 s (URLError: refused)")


def test_run_as_the_container_runs_it_execs_the_worker_once_healthy(server):
    url, answer = server
    answer.update(status=200, body=b'{"status": "healthy"}')
    run = subprocess.run([sys.executable, "-c", SCRIPT.read_text(), "5", sys.executable, "-c", "print('worker')"],
                         env={"AIRFLOW__CORE__EXECUTION_API_SERVER_URL": url}, capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0 and run.stdout.splitlines()[-1] == "worker", run


def test_run_as_the_container_runs_it_fails_when_the_api_never_answers(server):
    url, dummy = server
    run = subprocess.run([sys.executable, "-c", SCRIPT.read_text(), "1", sys.executable, "-c", "print('worker')"],
                         env={"AIRFLOW__CORE__EXECUTION_API_SERVER_URL": url}, capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 1 and "worker" not in run.stdout and "did not answer healthy" in run.stderr, run
