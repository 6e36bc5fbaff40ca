"""Run inside the dag-processor pod after the bundles were parsed: exit 1 with the file and the
error of each import error of the given bundles; else print, per bundle, the commit it is at and
its DAGs (from /api/v2/dags).
Usage: python -c "<this file>" BUNDLE..."""
import json
import os
import sys
import urllib.request

bundles = sys.argv[1:]
base = os.environ["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].rsplit("/execution", 1)[0]


def call(path, body=None, token=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


token = call("/auth/token", {"username": os.environ["AIRFLOW_ADMIN_USER"],
                             "password": os.environ["AIRFLOW_ADMIN_PASSWORD"]})["access_token"]
errors = [e for e in call("/api/v2/importErrors?limit=1000", token=token)["import_errors"]
          if e.get("bundle_name") in bundles]
for error in errors:
    print("import error in bundle %s, %s:\n%s" % (error["bundle_name"], error["filename"], error["stack_trace"]))
if errors:
    sys.exit(1)
dags = call("/api/v2/dags?limit=1000", token=token)["dags"]
report = []
for bundle in bundles:
    mine = sorted((d for d in dags if d.get("bundle_name") == bundle), key=lambda d: d["dag_id"])
    versions = sorted({(d.get("bundle_version") or "?")[:12] for d in mine}) or ["no DAG yet"]
    report.append("%s at %s: %s" % (bundle, ", ".join(versions), ", ".join(d["dag_id"] for d in mine) or "-"))
print("; ".join(report))
