#!/usr/bin/env python3
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmarks of flujo.airflow on the kind cluster of hack/kind. Writes bench/results/<name>.json and
bench/results/summary.md. Every figure is a median of REPEATS runs (env BENCH_REPEATS, default 3),
with the individual runs kept in the JSON.

  python bench/bench.py [cold noop check scale throughput footprint floor pgbouncer]
  python bench/bench.py summary     # only rewrite summary.md from the JSON files

Another cluster: AIRFLOW_INVENTORY, AIRFLOW_KUBE_CONTEXT and AIRFLOW_URL (tests/helpers.py), e.g. the
three-node one: AIRFLOW_INVENTORY=inventory/kind-multinode AIRFLOW_KUBE_CONTEXT=kind-flujo-multi
AIRFLOW_URL=http://127.0.0.1:8081; its results go to bench/results/<inventory name>/.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from helpers import INVENTORY, Api, ServerConnections, admin_password, core_api, kubectl, run_playbook  # noqa: E402 (needs the path above)

BENCH = REPO / "bench"
# inventory/kind's results are bench/results itself; another inventory's, a directory of its own
RESULTS = BENCH / "results" / ("" if Path(INVENTORY).name == "kind" else Path(INVENTORY).name)
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
URL = os.environ.get("AIRFLOW_URL", "http://127.0.0.1:8080")
# the data stores, the migration and the components are applied by one task (one airflow_apply call);
# where its time goes is in each run's pod_timeline_s
PHASES = [("validate", ("Validat", "Check ", "Remember")), ("base", ("phase base",)),
          ("secrets", ("secrets", "Secrets")), ("datastores+migration+components", ("phase components",))]


def sh(*cmd, **kw):
    return subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True, **kw).stdout


def playbook(playbook_path, *extra, count_api=False):
    """Run a playbook; return wall seconds, per-task timings and the number of HTTP requests."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(FLUJO_PHASE_FILE=tmp + "/phases", ANSIBLE_CALLBACKS_ENABLED="phase_timer",
                   ANSIBLE_CALLBACK_PLUGINS=str(BENCH / "callback_plugins"))
        if count_api:
            env.update(FLUJO_API_COUNT_FILE=tmp + "/api", PYTHONPATH=str(BENCH / "apicount"))
        run = run_playbook(playbook_path, *extra, inventory=INVENTORY, timeout=None, env=env)
        wall = run.seconds
        if run.returncode:
            sys.exit("%s failed:\n%s" % (playbook_path, run.output[-3000:]))
        tasks = [json.loads(line) for line in Path(tmp, "phases").read_text().splitlines()] \
            if Path(tmp, "phases").exists() else []
        api = sum(int(n) for n in Path(tmp, "api").read_text().split()) if count_api and Path(tmp, "api").exists() else None
        recap = [line for line in run.stdout.splitlines() if "changed=" in line][-1]
    return {"wall_s": round(wall, 2), "tasks": tasks, "api_requests": api, "recap": recap.split(":", 1)[1].strip()}


def phases(tasks):
    out = {}
    for name, markers in PHASES:
        spans = [t for t in tasks if t["start"] and any(m in t["task"] for m in markers)]
        out[name] = round(sum(t["end"] - t["start"] for t in spans), 2)
    return out


def purge():
    playbook("playbooks/uninstall.yml", "-e", "airflow_purge=true")


def dag_run(dag_id, timeout=900):
    """Trigger a run; return (seconds until success, the run)."""
    api = Api(URL, admin_password(core_api()))
    api.headers()  # log in before the clock starts
    t0 = time.time()
    run_path = api.trigger(dag_id)
    while time.time() - t0 < timeout:
        state = api.call("GET", run_path)
        if state["state"] in ("success", "failed"):
            assert state["state"] == "success", state
            return round(time.time() - t0, 2), state
        time.sleep(1)
    raise RuntimeError("run of %s did not finish" % dag_id)


def deliver(source):
    return playbook("playbooks/dags.yml", "-e", "airflow_dags_source=%s" % source)


def median(values):
    return round(statistics.median(values), 2)


def spread(values):
    """'median (min-max, n runs)' for the summary: the noise is part of the figure."""
    return "%.1f (%.1f-%.1f, n=%d)" % (statistics.median(values), min(values), max(values), len(values))


def pod_timeline():
    """Seconds from the first component pod's creation to each pod's init done, start and Ready:
    where a converge spends its components phase."""
    from datetime import datetime
    pods = json.loads(kubectl("get", "pods", "-l", "app.kubernetes.io/name=airflow", "-o", "json").stdout)["items"]
    pods = [p for p in pods if p["metadata"]["labels"].get("app.kubernetes.io/component") != "migrate"]

    def stamp(value):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None
    zero = min(stamp(p["metadata"]["creationTimestamp"]) for p in pods)
    out = {}
    for pod in pods:
        cond = {c["type"]: stamp(c.get("lastTransitionTime")) for c in pod["status"].get("conditions", [])}
        started = pod["status"]["containerStatuses"][0]["state"].get("running", {}).get("startedAt")
        out[pod["metadata"]["name"]] = {
            "created": round(stamp(pod["metadata"]["creationTimestamp"]) - zero, 1),
            "initialized": round(cond["Initialized"] - zero, 1) if cond.get("Initialized") else None,
            "started": round(stamp(started) - zero, 1) if started else None,
            "ready": round(cond["Ready"] - zero, 1) if cond.get("Ready") else None}
    return out


def bench_cold():
    runs = []
    for dummy in range(REPEATS):
        purge()
        converge = playbook("site.yml")
        t0 = time.time()
        deliver(str(REPO / "examples" / "dags"))
        first_run, dummy_state = dag_run("flujo_hello")
        runs.append({"converge_s": converge["wall_s"], "phases_s": phases(converge["tasks"]),
                     "pod_timeline_s": pod_timeline(),
                     "dag_delivery_and_first_run_s": round(time.time() - t0, 2), "first_run_s": first_run})
    return {"runs": runs, "median_converge_s": median([r["converge_s"] for r in runs]),
            "median_ready_to_first_run_s": median([r["converge_s"] + r["dag_delivery_and_first_run_s"] for r in runs]),
            "median_phases_s": {p: median([r["phases_s"][p] for r in runs]) for p, dummy in PHASES}}


def bench_noop():
    runs = [playbook("site.yml", count_api=True) for dummy in range(REPEATS)]
    assert all("changed=0" in r["recap"] for r in runs), [r["recap"] for r in runs]
    for r in runs:
        r["tasks_run"] = len([t for t in r["tasks"] if t["start"]])
    return {"runs": [{k: r[k] for k in ("wall_s", "api_requests", "recap", "tasks_run")} for r in runs],
            "median_wall_s": median([r["wall_s"] for r in runs]),
            "median_api_requests": median([r["api_requests"] for r in runs]),
            "median_tasks": median([r["tasks_run"] for r in runs]),
            "goal_s": 4}


def bench_check():
    runs = [playbook("site.yml", "--check", "--diff") for dummy in range(REPEATS)]
    return {"runs": [{k: r[k] for k in ("wall_s", "recap")} for r in runs], "median_wall_s": median([r["wall_s"] for r in runs])}


def bench_scale():
    out = {}
    for workers in (1, 3, 6):
        walls = []
        for dummy in range(REPEATS):
            purge()
            walls.append(playbook("site.yml", "-e", "airflow_worker_replicas=%d" % workers)["wall_s"])
        out["workers_%d" % workers] = {"runs_s": walls, "median_converge_s": median(walls)}
    base = out["workers_1"]["median_converge_s"]
    out["ratio_6_to_1"] = round(out["workers_6"]["median_converge_s"] / base, 2)
    playbook("site.yml")
    return out


def bench_throughput():
    out = {}
    deliver(str(BENCH / "dags"))
    for workers in (1, 3):
        playbook("site.yml", "-e", "airflow_worker_replicas=%d" % workers)
        runs = []
        for dummy in range(REPEATS):
            seconds, state = dag_run("bench_fanout", timeout=1800)
            runs.append({"trigger_to_success_s": seconds, "tasks_per_minute": round(200 / seconds * 60, 1)})
        out["workers_%d" % workers] = {"runs": runs, "median_tasks_per_minute":
                                       median([r["tasks_per_minute"] for r in runs])}
    out["ratio_3_to_1"] = round(out["workers_3"]["median_tasks_per_minute"] / out["workers_1"]["median_tasks_per_minute"], 2)
    playbook("site.yml")
    return out


def bench_pgbouncer():
    """PostgreSQL's client connections while 3 workers run 100 one-second tasks, without PgBouncer and
    with it (its default pools, 10 + 5)."""
    out = {}
    deliver(str(REPO / "tests" / "integration" / "dags_load"))
    for mode, enabled in (("direct", "false"), ("pgbouncer", "true")):
        playbook("site.yml", "-e", "airflow_worker_replicas=3", "-e", "airflow_pgbouncer_enabled=%s" % enabled)
        runs = []
        for dummy in range(REPEATS):
            sampler = ServerConnections(core_api())
            seconds, state = dag_run("flujo_load", timeout=1800)
            counts = [count for count, _ in sampler.stop()]
            runs.append({"run_s": seconds, "samples": len(counts), "peak_connections": max(counts),
                         "median_connections": median(counts)})
        out[mode] = {"runs": runs, "median_peak_connections": median([r["peak_connections"] for r in runs]),
                     "median_run_s": median([r["run_s"] for r in runs])}
    out["ratio_peak_pgbouncer_to_direct"] = round(out["pgbouncer"]["median_peak_connections"]
                                                  / out["direct"]["median_peak_connections"], 2)
    playbook("site.yml")
    return out


def bench_footprint():
    pods = json.loads(kubectl("get", "pods", "-o", "json").stdout)["items"]
    out = {}
    for pod in pods:
        if pod["status"]["phase"] != "Running":
            continue
        c = pod["spec"]["containers"][0]
        name = pod["metadata"]["labels"].get("app.kubernetes.io/component", pod["metadata"]["name"])
        read = "cat /sys/fs/cgroup/memory/memory.usage_in_bytes /sys/fs/cgroup/cpuacct/cpuacct.usage"
        first = kubectl("exec", pod["metadata"]["name"], "-c", c["name"], "--", "sh", "-c", read).stdout.split()
        time.sleep(10)
        second = kubectl("exec", pod["metadata"]["name"], "-c", c["name"], "--", "sh", "-c", read).stdout.split()
        out[name] = {"requests": c.get("resources", {}).get("requests", {}),
                     "limits": c.get("resources", {}).get("limits", {}),
                     "idle_memory_mib": round(int(second[0]) / 2 ** 20, 1),
                     "idle_cpu_millicores": round((int(second[1]) - int(first[1])) / 1e6 / 10, 1)}
    return out


def bench_floor():
    runs = [json.loads(sh("bash", str(BENCH / "floor.sh"))) for dummy in range(REPEATS)]
    return {"runs": runs, "median_all_healthy_s": median([r["all_healthy"] for r in runs])}


def summary(results):
    lines = ["# flujo.airflow benchmarks", "",
             "Medians on the offline kind cluster (2 cores), inventory/%s; each JSON file lists its individual runs."
             % Path(INVENTORY).name, ""]
    if "cold" in results:
        c = results["cold"]
        lines += ["- cold converge (empty namespace, images loaded): **%s s**; + DAG delivery and first run: %.1f s"
                  % (spread([r["converge_s"] for r in c["runs"]]), c["median_ready_to_first_run_s"]),
                  "  - phases: " + ", ".join("%s %.1f s" % kv for kv in c["median_phases_s"].items())]
    if "floor" in results:
        f = results["floor"]
        lines.append("- floor (same images as plain containers, until every component is healthy): %s s"
                     % spread([r["all_healthy"] for r in f["runs"]]))
        if "cold" in results:
            lines.append("  - ratio converge / floor: %.2f" % (results["cold"]["median_converge_s"] / f["median_all_healthy_s"]))
    if "noop" in results:
        n = results["noop"]
        lines.append("- no-op re-run: **%s s**, %d API requests, %s tasks, changed=0 (goal <= %s s)"
                     % (spread([r["wall_s"] for r in n["runs"]]), n["median_api_requests"],
                        "%d" % n["median_tasks"] if "median_tasks" in n else "?", n.get("goal_s", 20)))
    if "noop_vs_before" in results:  # written from a farm-bench --vs pairing (see the file)
        v = results["noop_vs_before"]
        lines.append("  - paired with the tree before session 10 on one cluster (farm-bench --vs, n=%s): %.1f s against %.1f s, "
                     "ratio of wall %.2f, of CPU %.2f" % (v["tool"].split("-n ")[1].split()[0], v["A"]["wall_s"]["median"], v["B"]["wall_s"]["median"],
                                                        v["ratio_A_over_B"]["wall"]["median"], v["ratio_A_over_B"]["cpu"]["median"]))
    if "check" in results:
        lines.append("- check mode on a converged cluster: %s s" % spread([r["wall_s"] for r in results["check"]["runs"]]))
    if "scale" in results:
        s = results["scale"]
        lines.append("- converge with 1 / 3 / 6 workers: %s s (ratio of medians 6:1 = %.2f)" % (
            " / ".join(spread(s["workers_%d" % w]["runs_s"]) for w in (1, 3, 6)), s["ratio_6_to_1"]))
    if "throughput" in results:
        t = results["throughput"]
        lines.append("- 200 short tasks, tasks/min: %s with 1 worker, %s with 3 (ratio of medians %.2f)" % (
            spread([r["tasks_per_minute"] for r in t["workers_1"]["runs"]]),
            spread([r["tasks_per_minute"] for r in t["workers_3"]["runs"]]), t["ratio_3_to_1"]))
    if "pgbouncer" in results:
        p = results["pgbouncer"]
        lines.append("- PostgreSQL connections at the peak of 100 tasks on 3 workers: %s direct, %s through PgBouncer "
                     "(pools 10 + 5; ratio %.2f); run time %.1f s / %.1f s" % (
                         spread([r["peak_connections"] for r in p["direct"]["runs"]]),
                         spread([r["peak_connections"] for r in p["pgbouncer"]["runs"]]),
                         p["ratio_peak_pgbouncer_to_direct"], p["direct"]["median_run_s"], p["pgbouncer"]["median_run_s"]))
    if "footprint" in results:
        lines += ["", "| component | requests | limits | idle memory MiB | idle CPU m |", "|---|---|---|---|---|"]
        for name, f in sorted(results["footprint"].items()):
            lines.append("| %s | %s | %s | %s | %s |" % (name, f["requests"], f["limits"], f["idle_memory_mib"], f["idle_cpu_millicores"]))
    return "\n".join(lines) + "\n"


def main():
    chosen = sys.argv[1:] or ["noop", "check", "footprint", "cold", "floor", "scale", "throughput"]
    if {"-h", "--help"} & set(chosen):
        print(__doc__.strip())
        return
    if chosen == ["summary"]:  # only rewrite summary.md from the JSON files
        chosen = []
    unknown = [name for name in chosen if "bench_" + name not in globals()]
    if unknown:
        sys.exit("unknown benchmark(s) %s; see --help" % ", ".join(unknown))
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in chosen:
        print("bench %s ..." % name, flush=True)
        results[name] = globals()["bench_" + name]()
        (RESULTS / ("%s.json" % name)).write_text(json.dumps(results[name], indent=2) + "\n")
    merged = {}
    for f in sorted(RESULTS.glob("*.json")):
        merged[f.stem] = json.loads(f.read_text())
    (RESULTS / "summary.md").write_text(summary(merged))
    print(summary(merged))


if __name__ == "__main__":
    main()
