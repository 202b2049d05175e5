# bitiq-conformance: every command a newcomer or CI needs. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
STAMP := $(VENV)/.installed
ENV ?= prod
BASE_DOMAIN ?=
ARGS ?=
REPORTS ?= reports
DEMO_STATE ?= .sandbox/demo
# Self-tests run on both cores; each worker gets its own sandbox.
SELFTEST_WORKERS ?= 2

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

.PHONY: venv
venv: $(STAMP) ## create .venv with the suite and its dev tools

.PHONY: tools
tools: ## build the pinned kube-apiserver, etcd, helm, actionlint, helm-unittest and the live loop's kube-controller-manager, kube-scheduler, kwok and argocd into .tools/bin (cached per machine)
	scripts/install-tools.sh etcd kube-apiserver helm actionlint helm-unittest kube-controllers kwok argocd

# Debian packages whose servers the sandbox starts (command -> package).
SYSTEM_TOOLS := dnsmasq:dnsmasq-base nginx:nginx-light docker-registry:docker-registry git:git \
  chromium:chromium chromedriver:chromium-driver redis-server:redis-server

.PHONY: system-deps
system-deps: ## install the Debian packages the sandbox runs (dnsmasq, nginx, registry, git, chromium, redis) when missing
	@missing=""; for entry in $(SYSTEM_TOOLS); do \
	  command -v "$${entry%%:*}" >/dev/null || [ -x "/usr/sbin/$${entry%%:*}" ] || missing="$$missing $${entry#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing; run: sudo apt-get install -y$$missing" >&2; exit 1; fi; \
	fi

.PHONY: lint
lint: venv tools ## ruff, mypy --strict on fixtures/ and suites/, helm lint of every chart, actionlint of the workflows
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	for chart in charts/*/; do .tools/bin/helm lint --strict --quiet "$$chart" >/dev/null || { .tools/bin/helm lint --strict "$$chart"; exit 1; }; done
	.tools/bin/actionlint .github/workflows/*.yaml

.PHONY: hu
hu: tools ## chart unit tests (helm-unittest) of every chart
	for chart in charts/*/; do HELM_PLUGINS=.tools/helm-plugins .tools/bin/helm unittest --strict "$$chart"; done

.PHONY: template
template: venv tools ## render every chart for every env into build/rendered/<env>/<chart>.yaml
	$(PY) -m fixtures.charts --out build/rendered

.PHONY: validate
validate: venv tools ## the static suite: helm render, schemas and invariants of every chart (no cluster)
	scripts/run-pytest.sh $(PYTEST) -m static $(ARGS)

.PHONY: verify-release
verify-release: venv tools ## deterministic image tags in every env, consistent with the umbrella appVersion
	scripts/run-pytest.sh $(PYTEST) -m static -k "test_deterministic_tags or test_release_version" $(ARGS)

.PHONY: crd-schemas
crd-schemas: venv ## vendor the upstream CRD schemas into schemas/crds/ (CRDS=dir of CRD YAMLs with a SOURCES.md)
	$(PY) -m fixtures.crd_schemas refresh --from $(or $(CRDS),$(error set CRDS=<dir of upstream CRD YAMLs>))

.PHONY: docs
docs: venv ## regenerate docs/CHECKS.md from the check registry
	$(PY) -m fixtures.catalog > docs/CHECKS.md

.PHONY: selftest
selftest: venv tools system-deps ## run the self-tests (the suite against the real sandbox)
	scripts/run-pytest.sh $(PYTEST) tests -p no:cacheprovider -n $(SELFTEST_WORKERS) $(ARGS)

.PHONY: test
test: venv tools system-deps lint hu selftest ## everything CI runs: install, build tools, lint, self-tests

.PHONY: preflight
preflight: venv ## pytest -m preflight against the current kube context (ENV=prod BASE_DOMAIN=...)
	ENV=$(ENV) BASE_DOMAIN=$(BASE_DOMAIN) scripts/prod-preflight.sh $(ARGS)

.PHONY: bootstrap
bootstrap: venv tools ## preflight, then install the operators and the ApplicationSet (ENV=prod BASE_DOMAIN=... ARGS=--dry-run)
	ENV=$(ENV) BASE_DOMAIN=$(BASE_DOMAIN) scripts/bootstrap.sh $(ARGS)

.PHONY: gate
gate: venv ## release gate: gates/$(ENV).yaml (else -m acceptance) for ENV; exits with reports/gate.json's verdict
	rm -f $(REPORTS)/gate.json
	if [ -f gates/$(ENV).yaml ]; then selection="--gate-profile=gates/$(ENV).yaml"; else selection="-m acceptance --env $(ENV)"; fi; \
	$(PYTEST) $$selection --report-dir=$(REPORTS) --exit-zero --junitxml=$(REPORTS)/junit.xml \
	  --html=$(REPORTS)/report.html --self-contained-html $(ARGS) || true
	$(PY) -m fixtures.reporting $(REPORTS)/gate.json

.PHONY: smoke
smoke: venv ## is the stack alive right now? pytest -m smoke against the current kube context (ENV=prod BASE_DOMAIN=...)
	ENV=$(ENV) BASE_DOMAIN=$(BASE_DOMAIN) scripts/run-pytest.sh $(PYTEST) -m smoke --env $(ENV) $(ARGS)

.PHONY: parity
parity: venv ## parity and acceptance checks against the current kube context (ENV=prod BASE_DOMAIN=...)
	BASE_DOMAIN=$(BASE_DOMAIN) scripts/run-pytest.sh $(PYTEST) -m parity --env $(ENV) $(ARGS)

.PHONY: demo
# LIVE=1: the live GitOps loop (scenario live-prod): bootstrap installs the ApplicationSet and real Argo CD
# controllers sync the charts from the sandbox's git repository before the suite runs.
DEMO_SCENARIO = $(if $(LIVE),live-prod,healthy-prod)
demo: venv tools system-deps ## the whole suite against the embedded sandbox (healthy-prod; LIVE=1: live-prod, bootstrapped by real Argo CD); reports in reports/
	mkdir -p $(REPORTS)
	$(PY) -m fixtures.sandbox up --state-dir $(DEMO_STATE) --scenario $(DEMO_SCENARIO)
	status=0; \
	eval "$$($(PY) -m fixtures.sandbox env --state-dir $(DEMO_STATE) --user admin)"; \
	if [ -n "$(LIVE)" ]; then \
	  ENV=prod scripts/bootstrap.sh --acceptance-timeout 300 --report-dir $(REPORTS)/bootstrap || status=$$?; \
	  $(PY) -m fixtures.sandbox status --state-dir $(DEMO_STATE) || true; \
	fi; \
	[ $$status -ne 0 ] || $(PYTEST) -m "preflight or parity or smoke or acceptance or static" --env prod \
	  --report-dir=$(REPORTS) --html=$(REPORTS)/report.html --self-contained-html \
	  --junitxml=$(REPORTS)/junit.xml $(ARGS) || status=$$?; \
	$(PY) -m fixtures.sandbox down --state-dir $(DEMO_STATE); \
	exit $$status

.PHONY: sandbox-up sandbox-down
sandbox-up: venv tools ## start a sandbox in .sandbox/dev (SCENARIO=name; LIVE=1: live-prod, the live GitOps loop); then eval "$$(make -s sandbox-env)"
	$(PY) -m fixtures.sandbox up --state-dir .sandbox/dev --scenario $(or $(SCENARIO),$(if $(LIVE),live-prod,healthy-prod))
sandbox-down: ## stop the sandbox in .sandbox/dev
	$(PY) -m fixtures.sandbox down --state-dir .sandbox/dev

.PHONY: sandbox-env
sandbox-env: ## print the exports that point the suite at .sandbox/dev
	@$(PY) -m fixtures.sandbox env --state-dir .sandbox/dev --user $(or $(USER_NAME),admin)

.PHONY: clean
clean: ## remove local state (not the per-machine tool cache)
	rm -rf .sandbox .pytest_cache .mypy_cache .ruff_cache $(REPORTS)/*.html $(REPORTS)/*.xml $(REPORTS)/*.json
