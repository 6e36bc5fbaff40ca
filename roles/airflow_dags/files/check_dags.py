"""Run inside the dag-processor pod.
Files copied into the dags volume: exit 1 with the file and the error as soon as
/api/v2/importErrors reports one for a given file; wait until the API lists the DAGs of the files
marked with a leading "+" (the ones just copied).
Git DAG bundles just parsed: exit 1 with the file and the error of each import error of the given
bundles; else print, per bundle, the commit it is at and its DAGs.
Usage: python -c "<this file>" TIMEOUT [+]FILE...   (paths relative to the dags folder)
       python -c "<this file>" --bundles BUNDLE..."""
import json
import os
import subprocess
import sys
import time
import urllib.request

base = os.environ["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].rsplit("/execution", 1)[0]
dags_folder = os.environ.get("AIRFLOW__CORE__DAGS_FOLDER", "/opt/airflow/dags").rstrip("/")


def call(path, body=None, token=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


def is_dag_file(path):
    # Airflow's own safe-mode heuristic: a DAG file mentions both "airflow" and "dag"
    with open(os.path.join(dags_folder, path), "rb") as handle:
        text = handle.read().lower()
    return path.endswith(".py") and b"airflow" in text and b"dag" in text


def check_files(token, timeout, args):
    files = [f.lstrip("+") for f in args]
    copied = [f[1:] for f in args if f.startswith("+")]
    waiting = {os.path.join(dags_folder, f) for f in copied if is_dag_file(f)}
    deadline = time.time() + timeout
    while True:
        errors = call("/api/v2/importErrors?limit=1000", token=token)["import_errors"]
        for error in errors:
            # Airflow 3 records the path relative to the bundle (the dags folder)
            name = error["filename"]
            if name in files or name in waiting or any(name.endswith("/" + f) for f in files):
                print("import error in %s:\n%s" % (error["filename"], error["stack_trace"]))
                sys.exit(1)
        listed = {d["fileloc"]: d["dag_id"] for d in call("/api/v2/dags?limit=1000", token=token)["dags"]}
        waiting -= set(listed)
        if not waiting:
            mine = sorted(d for f, d in listed.items() if any(f.endswith("/" + x) for x in files))
            print("listed: %s" % ", ".join(mine))
            sys.exit(0)
        if time.time() > deadline:
            print("not listed after %d s: %s" % (timeout, ", ".join(sorted(waiting))))
            sys.exit(1)
        time.sleep(2)


def check_bundles(token, bundles):
    errors = [e for e in call("/api/v2/importErrors?limit=1000", token=token)["import_errors"]
              if e.get("bundle_name") in bundles]
    for error in errors:
        print("import error in bundle %s, %s:\n%s" % (error["bundle_name"], error["filename"], error["stack_trace"]))
    if errors:
        sys.exit(1)
    dags = call("/api/v2/dags?limit=1000", token=token)["dags"]
    # the commit just fetched and parsed: the head of the bundle's working copy in this pod (a DAG's
    # own bundle_version is the commit its file last changed in)
    storage = os.environ.get("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH", "/tmp/airflow/dag_bundles")
    report = []
    for bundle in bundles:
        head = subprocess.run(["git", "-C", os.path.join(storage, bundle, "tracking_repo"), "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=False).stdout.strip()[:12] or "?"
        mine = sorted(d["dag_id"] for d in dags if d.get("bundle_name") == bundle)
        report.append("%s at %s: %s" % (bundle, head, ", ".join(mine) or "no DAG"))
    print("; ".join(report))


admin_token = call("/auth/token", {"username": os.environ["AIRFLOW_ADMIN_USER"],
                                   "password": os.environ["AIRFLOW_ADMIN_PASSWORD"]})["access_token"]
if sys.argv[1] == "--bundles":
    check_bundles(admin_token, sys.argv[2:])
else:
    check_files(admin_token, int(sys.argv[1]), sys.argv[2:])
