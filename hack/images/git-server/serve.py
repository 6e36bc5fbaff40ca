"""Smart-HTTP git server: every request but /healthz needs HTTP basic auth with the user and password
of GIT_SERVER_USER / GIT_SERVER_PASSWORD, then goes to `git http-backend` (a CGI program) which
serves clones, fetches and pushes of the bare repositories under GIT_PROJECT_ROOT.
GIT_SERVER_REPOS (comma-separated names) are made at start when missing, with pushes allowed.
Written for the tests of flujo.airflow; not a production server (no TLS: put it behind one)."""
import base64
import hmac
import os
import shutil
import subprocess
import sys
import tempfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.environ.get("GIT_PROJECT_ROOT", "/srv/git")
USER = os.environ["GIT_SERVER_USER"]
PASSWORD = os.environ["GIT_SERVER_PASSWORD"]
EXPECTED = "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()


def make_repos():
    for name in filter(None, (r.strip() for r in os.environ.get("GIT_SERVER_REPOS", "").split(","))):
        path = os.path.join(ROOT, name if name.endswith(".git") else name + ".git")
        if not os.path.isdir(path):
            subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=main", path], check=True)
            print("made repository %s" % path, flush=True)
        # pushes over HTTP are allowed (http-backend refuses them to an anonymous user by default;
        # every request here is authenticated anyway)
        subprocess.run(["git", "-C", path, "config", "http.receivepack", "true"], check=True)


class Handler(BaseHTTPRequestHandler):
    server_version = "flujo-git-server"

    def log_message(self, fmt, *args):  # one line per request, never the Authorization header
        sys.stdout.write("%s %s\n" % (self.address_string(), fmt % args))
        sys.stdout.flush()

    def do_GET(self):
        self.handle_git()

    def do_POST(self):
        self.handle_git()

    def read_body(self, sink):
        # git sends large pushes chunked; small requests with a Content-Length
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                sink.write(self.rfile.read(size))
                self.rfile.readline()
        else:
            length = int(self.headers.get("Content-Length") or 0)
            while length > 0:
                chunk = self.rfile.read(min(length, 65536))
                if not chunk:
                    break
                sink.write(chunk)
                length -= len(chunk)
        sink.flush()
        sink.seek(0)

    def handle_git(self):
        path, _, query = self.path.partition("?")
        if path == "/healthz":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok\n")
            return
        if not hmac.compare_digest(self.headers.get("Authorization", ""), EXPECTED):
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.end_headers()
            return
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
            "GIT_PROJECT_ROOT": ROOT, "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path,
            "QUERY_STRING": query, "REQUEST_METHOD": self.command, "REMOTE_USER": USER,
            "REMOTE_ADDR": self.client_address[0], "SERVER_PROTOCOL": self.request_version,
            "GATEWAY_INTERFACE": "CGI/1.1", "CONTENT_TYPE": self.headers.get("Content-Type", ""),
        }
        for header, variable in (("Content-Encoding", "HTTP_CONTENT_ENCODING"), ("Git-Protocol", "GIT_PROTOCOL")):
            if self.headers.get(header):
                env[variable] = self.headers[header]
        with tempfile.TemporaryFile() as body:
            self.read_body(body)
            size = body.seek(0, os.SEEK_END)
            body.seek(0)
            env["CONTENT_LENGTH"] = str(size)
            proc = subprocess.Popen(["git", "http-backend"], stdin=body, stdout=subprocess.PIPE, env=env)
            status, headers = 200, []
            while True:  # the CGI headers, up to the empty line
                line = proc.stdout.readline().rstrip(b"\r\n").decode("latin-1")
                if not line:
                    break
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.split()[0])
                else:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()  # HTTP/1.0: the body ends when the connection closes
            shutil.copyfileobj(proc.stdout, self.wfile)
            proc.wait()


if __name__ == "__main__":
    make_repos()
    server = ThreadingHTTPServer(("", int(os.environ.get("PORT", "8080"))), Handler)
    print("serving %s on :%s" % (ROOT, server.server_address[1]), flush=True)
    server.serve_forever()
