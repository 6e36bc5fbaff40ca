# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""inventory/kind-multinode: the data stores on the control-plane node (their node-local volumes stay
off the worker nodes that the node-fault tests drain and stop), the Airflow pods on the worker nodes
with the shared ReadWriteMany volumes."""

from helpers import rendered_objects as objects

CONTROL_PLANE = {"node-role.kubernetes.io/control-plane": ""}
TOLERATION = {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}


def test_the_data_stores_run_on_the_control_plane_and_airflow_on_the_workers(plain_render):
    rendered = objects(plain_render("kind-multinode")[0])
    for store in ("airflow-postgresql", "airflow-redis"):
        pod = rendered[("StatefulSet", store)]["spec"]["template"]["spec"]
        assert pod["nodeSelector"] == CONTROL_PLANE and TOLERATION in pod["tolerations"], store
    for kind, name in (("Deployment", "airflow-api-server"), ("Deployment", "airflow-scheduler"), ("StatefulSet", "airflow-worker")):
        pod = rendered[(kind, name)]["spec"]["template"]["spec"]
        assert not pod.get("nodeSelector") and TOLERATION not in (pod.get("tolerations") or []), name
    for claim in ("airflow-dags", "airflow-logs"):
        assert rendered[("PersistentVolumeClaim", claim)]["spec"]["accessModes"] == ["ReadWriteMany"]
    assert rendered[("PersistentVolumeClaim", "postgresql-data")]["spec"]["accessModes"] == ["ReadWriteOnce"]
