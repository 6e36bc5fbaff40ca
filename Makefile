# Entry points; each target installs what it needs. See README.md.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
KIND_BIN := $(shell bash -c 'source hack/kind/lib.sh; echo "$$BIN_DIR/k8s-$$K8S_VERSION:$$BIN_DIR/kind-$$KIND_VERSION"')
export PATH := $(CURDIR)/$(VENV)/bin:$(KIND_BIN):$(PATH)

.PHONY: up cluster cluster-delete cluster-multinode cluster-multinode-delete venv collection deploy test test-all test-multinode test-unit test-render test-e2e lint sanity clean

up: cluster venv collection deploy          ## kind cluster + Airflow, prints the UI address and login

cluster:                                    ## offline kind cluster with locally built images
	bash hack/kind/up.sh

cluster-delete:
	bash hack/kind/down.sh

# three nodes (a control plane, two workers), kube-router routing pods between them and a
# ReadWriteMany class (shared-rwx) on one host directory: context kind-flujo-multi, UI port 8081
MULTINODE = CLUSTER_NAME=flujo-multi KIND_WORKERS=2 UI_HOST_PORT=8081
cluster-multinode:                          ## offline kind cluster of three nodes
	$(MULTINODE) bash hack/kind/up.sh

cluster-multinode-delete:
	$(MULTINODE) bash hack/kind/down.sh

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-test.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-test.txt
	touch $@

collection:                                 ## make flujo.airflow resolvable from this checkout
	bash hack/link-collection.sh

KIND_UI_URL = $(shell sed -n 's/^airflow_ui_url: *//p' inventory/kind/group_vars/airflow/main.yml)

deploy: venv collection                     ## Airflow on the kind cluster, with the example DAG delivered
	$(VENV)/bin/ansible-playbook site.yml -i inventory/kind
	$(VENV)/bin/ansible-playbook playbooks/dags.yml -i inventory/kind -e airflow_dags_source=$(CURDIR)/examples/dags
	@echo "UI: $(KIND_UI_URL) (the example DAGs flujo_hello and flujo_deferrable are listed; user and password: see the summary above)"
	@echo 'Your own DAGs: ansible-playbook playbooks/dags.yml -i inventory/kind -e airflow_dags_source=$$PWD/my-dags'

test:                                       ## everything CI runs
	bash hack/test.sh

test-all:                                   ## make test, and the multinode scenario beside it
	MOLECULE_BESIDE=multinode bash hack/test.sh

test-multinode:                             ## the multinode scenario: its three-node cluster, converge, tests
	MOLECULE_SCENARIOS=multinode bash hack/test.sh setup molecule

test-unit: venv collection
	$(VENV)/bin/pytest -q tests/unit

clean:
	rm -rf .cache tests/output
