#!/usr/bin/env python3
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write roles/airflow_preflight/files/airflow-<version>-config.json from an Airflow image.

The preflight checks airflow_config against it: every section and key the image's Airflow
(and its installed providers) knows, and which keys come from providers.

    hack/airflow-config-keys.py [IMAGE]     # default local/airflow:3.3.2
"""
import re
import sys

from preflight_reference import run_in_image, write_reference

OPTION = re.compile(r"^# ([A-Za-z0-9_.-]+) = ")
SECTION = re.compile(r"^\[([^\]]+)\]$")


def run(image, *args):
    return run_in_image(image, "airflow", *args)


def parse(text):
    """{section: [key, ...]} of `airflow config list --defaults` (each key follows its '# Variable:')."""
    sections, section, lines = {}, None, text.splitlines()
    for i, line in enumerate(lines):
        match = SECTION.match(line)
        if match:
            section = sections.setdefault(match.group(1), [])
        elif line.startswith("# Variable: ") and section is not None:
            option = OPTION.match(lines[i + 2] if i + 2 < len(lines) else "")
            if not option:
                sys.exit("unexpected layout after %r" % line)
            section.append(option.group(1))
    return sections


def main():
    image = sys.argv[1] if len(sys.argv) > 1 else "local/airflow:3.3.2"
    version = run(image, "version").strip().splitlines()[-1]
    every = parse(run(image, "config", "list", "--defaults"))
    core = parse(run(image, "config", "list", "--defaults", "--exclude-providers"))
    data = {
        "airflow_version": version,
        "generated_from": image,
        "generated_by": "hack/airflow-config-keys.py (airflow config list --defaults)",
        "sections": {name: sorted(set(keys)) for name, keys in sorted(every.items())},
        # sections with keys that come from providers: a key unknown there may come from a
        # provider the image does not have, so the preflight only warns about it
        "provider_sections": sorted(name for name, keys in every.items()
                                    if set(keys) - set(core.get(name, ()))),
    }
    write_reference("config", version, data)


if __name__ == "__main__":
    main()
