#!/usr/bin/env python3
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write roles/airflow_preflight/files/airflow-<version>-schema.json from an Airflow image.

The preflight refuses a downgrade with it: every schema revision of the image's migration files,
mapped to the Airflow release that introduced it (each file's `airflow_version`). A database at a
revision of release R cannot be run by an Airflow older than R.

    hack/airflow-schema-revisions.py [IMAGE]     # default local/airflow:3.3.2
"""
import json
import sys

from preflight_reference import run_in_image, write_reference

# runs inside the image: reads the migration files, imports nothing of Airflow
READ = r"""
import glob, importlib.util, json, os, re
import airflow.version
top = importlib.util.find_spec("airflow").submodule_search_locations[0]
found = {}
for path in glob.glob(os.path.join(top, "migrations", "versions", "*.py")):
    text = open(path, encoding="utf-8").read()
    revision = re.search(r"^revision\s*=\s*[\"'](\w+)[\"']", text, re.M)
    release = re.search(r"^airflow_version\s*=\s*[\"']([^\"']+)[\"']", text, re.M)
    if revision and release:
        found[revision.group(1)] = release.group(1)
print(json.dumps({"version": airflow.version.version, "revisions": found}))
"""


def main():
    image = sys.argv[1] if len(sys.argv) > 1 else "local/airflow:3.3.2"
    out = run_in_image(image, "python", "-c", READ)
    found = json.loads(out.strip().splitlines()[-1])
    if not found["revisions"]:
        sys.exit("no migration file with revision and airflow_version in %s" % image)
    data = {
        "airflow_version": found["version"],
        "generated_from": image,
        "generated_by": "hack/airflow-schema-revisions.py (airflow/migrations/versions/*.py)",
        "revisions": dict(sorted(found["revisions"].items())),
    }
    write_reference("schema", data["airflow_version"], data)


if __name__ == "__main__":
    main()
