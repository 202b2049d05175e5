"""`pytest -m static` on the repository's charts, and on mutated copies that break one rule each."""

from __future__ import annotations

import importlib
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from fixtures.catalog import all_checks
from tests.conftest import REPO, RunSuite

Mutation = Callable[[Path], None]


def edit_yaml(path: Path, change: Callable[[dict], None]) -> None:  # type: ignore[type-arg]
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def replace_text(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def set_in(document: dict, dotted: str, value: object) -> None:  # type: ignore[type-arg]
    *parents, leaf = dotted.split(".")
    for key in parents:
        document = document.setdefault(key, {})
    document[leaf] = value


MUTATIONS: dict[str, tuple[str, Mutation]] = {
    "appset-overwrites-sync-policy": (
        "static.gitops.sync-pausable",
        lambda charts: replace_text(
            charts / "argocd-apps/templates/applicationset.yaml",
            "        - /spec/syncPolicy",
            "        - /metadata/labels",
        ),
    ),
    "app-namespace-unlabelled": (
        "static.gitops.managed-namespaces",
        lambda charts: replace_text(
            charts / "bitiq-umbrella/templates/namespace.yaml",
            "argocd.argoproj.io/managed-by: {{ .Values.argocdNamespace }}",
            "",
        ),
    ),
    "imageupdater-write-back-repocreds": (
        "static.imageupdater.git-credentials",
        lambda charts: replace_text(
            charts / "bitiq-umbrella/templates/applications.yaml",
            "write-back-method: git:secret:{{ .Values.argocdNamespace }}/image-updater-git-creds",
            "write-back-method: git",
        ),
    ),
    "imageupdater-role-lacks-git-creds": (
        "static.imageupdater.git-credentials",
        lambda charts: edit_yaml(
            charts / "image-updater/values.yaml", lambda v: set_in(v, "gitCredentialsSecret", "other-git-creds")
        ),
    ),
    "runner-lists-secrets": (
        "static.runner.read-only-rbac",
        lambda charts: replace_text(
            charts / "conformance-runner/templates/rbac.yaml",
            '"resourceNames" $names "verbs" (list "get")',
            '"resourceNames" $names "verbs" (list "get" "list")',
        ),
    ),
    "runner-secrets-unnamed": (
        "static.runner.read-only-rbac",
        lambda charts: replace_text(
            charts / "conformance-runner/templates/rbac.yaml",
            '(list "secrets") "resourceNames" $names "verbs"',
            '(list "secrets") "verbs"',
        ),
    ),
    "runner-secret-names-drift": (
        "static.runner.read-only-rbac",
        lambda charts: edit_yaml(
            charts / "conformance-runner/values.yaml",
            lambda v: set_in(v, "secretNames.openshift-gitops", ["argocd-initial-admin-secret"]),
        ),
    ),
    "channel-latest": (
        "static.operators.channels-pinned",
        lambda charts: edit_yaml(
            charts / "bootstrap-operators/values.yaml", lambda v: set_in(v, "operators.gitops.channel", "latest")
        ),
    ),
    "sample-tag-latest": (
        "static.images.deterministic-tags",
        lambda charts: edit_yaml(
            charts / "bitiq-sample-app/values-prod.yaml", lambda v: set_in(v, "backend.image.tag", "latest")
        ),
    ),
    "prod-remote-without-central": (
        "static.gitops.prod-in-cluster",
        lambda charts: replace_text(
            charts / "argocd-apps/values.yaml",
            "    # In-cluster Argo CD per prod cluster (the default management model).\n"
            "    clusterServer: https://kubernetes.default.svc",
            "    clusterServer: https://api.prod.example.com:6443",
        ),
    ),
    "write-back-target-missing": (
        "static.imageupdater.write-back",
        lambda charts: replace_text(
            charts / "bitiq-umbrella/templates/applications.yaml",
            "values-{{ .Values.env }}.yaml\nspec:",
            "values-{{ .Values.env }}-missing.yaml\nspec:",
        ),
    ),
    "undeclared-difference": (
        "static.parity.local-prod",
        lambda charts: edit_yaml(
            charts / "bitiq-sample-app/values-prod.yaml", lambda v: set_in(v, "components.frontend.port", 9090)
        ),
    ),
    "values-schema-violation": (
        "static.charts.values-schema",
        lambda charts: edit_yaml(charts / "bitiq-sample-app/values-prod.yaml", lambda v: set_in(v, "replicas", "two")),
    ),
    "nested-destination-hardcoded": (
        "static.gitops.nested-destinations",
        lambda charts: replace_text(
            charts / "bitiq-umbrella/templates/applications.yaml",
            "    server: {{ .Values.destinationServer }}\n    namespace: openshift-pipelines",
            "    server: https://api.elsewhere.example.com:6443\n    namespace: openshift-pipelines",
        ),
    ),
    "application-misnamed": (
        "static.gitops.naming",
        lambda charts: replace_text(
            charts / "bitiq-umbrella/templates/applications.yaml", "name: ci-pipelines-{{ .Values.env }}", "name: ci"
        ),
    ),
    "route-off-domain": (
        "static.routes.tls-on-base-domain",
        lambda charts: replace_text(
            charts / "bitiq-sample-app/templates/components.yaml",
            "host: {{ $component.host }}.{{ $.Values.baseDomain }}",
            "host: {{ $component.host }}.example.com",
        ),
    ),
    "privilege-escalation": (
        "static.workloads.hardened",
        lambda charts: replace_text(
            charts / "image-updater/templates/deployment.yaml",
            "allowPrivilegeEscalation: false",
            "allowPrivilegeEscalation: true",
        ),
    ),
    "secret-with-data": (
        "static.secrets.no-data",
        lambda charts: (charts / "image-updater/templates/token.yaml").write_text(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: leaked\ntype: Opaque\n"
            "stringData:\n  argocd.token: not-a-real-token\n"
        ),
    ),
    "app-version-bumped-alone": (
        "static.release.app-version",
        lambda charts: replace_text(charts / "bitiq-umbrella/Chart.yaml", 'appVersion: "0.3.1"', 'appVersion: "0.4.0"'),
    ),
    "unknown-field": (
        "static.charts.objects-valid",
        lambda charts: replace_text(
            charts / "bitiq-sample-app/templates/components.yaml",
            "  selector:\n    app.kubernetes.io/name",
            "  selectr:\n    app.kubernetes.io/name",
        ),
    ),
    "template-syntax-error": (
        "static.charts.render",
        lambda charts: replace_text(
            charts / "ci-pipelines/templates/pipeline.yaml", "{{ $pipeline.git.url }}", "{{ $pipeline.git.url }"
        ),
    ),
    "runner-rbac-writes": (
        "static.runner.read-only-rbac",
        lambda charts: replace_text(
            charts / "conformance-runner/templates/rbac.yaml",
            "resources: [routes]\n    verbs: [get, list]",
            "resources: [routes]\n    verbs: [get, list, delete]",
        ),
    ),
    "runner-binds-cluster-admin": (
        "static.runner.read-only-rbac",
        lambda charts: replace_text(
            charts / "conformance-runner/templates/rbac.yaml",
            '  kind: ClusterRole\n  name: {{ include "runner.clusterName" . }}',
            "  kind: ClusterRole\n  name: cluster-admin",
        ),
    ),
    "chart-without-version": (
        "static.charts.lint",
        lambda charts: replace_text(charts / "secrets-examples/Chart.yaml", "version: 0.2.0\n", ""),
    ),
    "route-tls-misspelled": (
        "static.charts.objects-valid",
        lambda charts: replace_text(
            charts / "bitiq-sample-app/templates/components.yaml",
            "  tls:\n    termination: edge",
            "  tsl:\n    termination: edge",
        ),
    ),
    "application-destination-misspelled": (
        "static.charts.objects-valid",
        lambda charts: replace_text(
            charts / "bitiq-umbrella/templates/applications.yaml",
            "  destination:\n    server: {{ .Values.destinationServer }}\n    namespace: openshift-pipelines",
            "  destinaton:\n    server: {{ .Values.destinationServer }}\n    namespace: openshift-pipelines",
        ),
    ),
    "route-weight-string": (
        "static.charts.objects-valid",
        lambda charts: replace_text(
            charts / "bitiq-sample-app/templates/components.yaml", "    weight: 100\n", '    weight: "100"\n'
        ),
    ),
    "kind-without-schema": (
        "static.charts.objects-valid",
        lambda charts: edit_yaml(charts / "secrets-examples/values.yaml", lambda v: set_in(v, "enabled", True)),
    ),
    "tekton-step-privileged": (
        "static.workloads.hardened",
        lambda charts: replace_text(
            charts / "ci-pipelines/templates/pipeline.yaml",
            "            securityContext:\n",
            "            securityContext:\n              privileged: true\n",
        ),
    ),
    # static.pipelines.images-built: an image with no pipeline, a pipeline whose image nothing runs, and an
    # Image Updater list naming an image nothing runs (charts/ci-pipelines values `pipelines`).
    "frontend-pipeline-missing": (
        "static.pipelines.images-built",
        lambda charts: edit_yaml(
            charts / "ci-pipelines/values.yaml",
            lambda v: v.update(pipelines=[p for p in v["pipelines"] if p["name"] != "frontend"]),
        ),
    ),
    "pipeline-image-unused": (
        "static.pipelines.images-built",
        lambda charts: replace_text(
            charts / "ci-pipelines/values.yaml",
            "repository: quay.io/bitiq/bitiq-sample-frontend",
            "repository: quay.io/bitiq/bitiq-sample-worker",
        ),
    ),
    "image-list-names-unrun-image": (
        "static.pipelines.images-built",
        lambda charts: replace_text(
            charts / "bitiq-umbrella/values.yaml",
            "frontendRepo: quay.io/bitiq/bitiq-sample-frontend",
            "frontendRepo: quay.io/bitiq/bitiq-sample-web",
        ),
    ),
}

# What the evidence of a mutation's failure must say: the object and the JSON path of the bad field.
EVIDENCE: dict[str, tuple[str, ...]] = {
    "app-namespace-unlabelled": ("chart bitiq-sample-app, env prod, app bitiq-sample-app-prod", "namespace bitiq-prod"),
    "imageupdater-write-back-repocreds": ("write-back-method git:", "repository credentials"),
    "imageupdater-role-lacks-git-creds": ("may get Secret image-updater-git-creds",),
    "runner-lists-secrets": ("secrets with list",),
    "runner-secrets-unnamed": ("secrets without resourceNames",),
    "runner-secret-names-drift": ("grants openshift-gitops/argocd-initial-admin-secret it never reads", "lacks"),
    "unknown-field": ("Service bitiq-", "spec.selectr: unknown field"),
    "route-tls-misspelled": ("bitiq-sample-app (", "Route bitiq-", "spec.tsl: unknown field"),
    "application-destination-misspelled": (
        "Application openshift-gitops/ci-pipelines-",
        "spec.destinaton: unknown field",
        "spec.destination: required field missing",
    ),
    "route-weight-string": ("Route bitiq-", 'spec.to.weight: wrong type: string "100", want integer'),
    "kind-without-schema": (
        "ExternalSecret openshift-gitops/",
        "no schema for external-secrets.io/v1 ExternalSecret",
    ),
    "tekton-step-privileged": ("Pipeline bitiq-build-and-push task compute-tag step tag is privileged",),
    "frontend-pipeline-missing": (
        "env prod: quay.io/bitiq/bitiq-sample-frontend (run by Deployment bitiq-sample-app-web container",
        "is built by no Pipeline of ci-pipelines",
    ),
    "pipeline-image-unused": (
        "quay.io/bitiq/bitiq-sample-frontend (run by Deployment bitiq-sample-app-web",
        "Pipeline bitiq-build-and-push-frontend builds quay.io/bitiq/bitiq-sample-worker, which no container",
    ),
    "image-list-names-unrun-image": (
        "image-list names frontend=quay.io/bitiq/bitiq-sample-web, which no container of bitiq-sample-app runs",
        "quay.io/bitiq/bitiq-sample-frontend (run by Deployment bitiq-sample-app-web",
    ),
}


def failing(run: object) -> set[str]:
    return {record["id"] for record in run.results if record["verdict"] == "FAIL"}  # type: ignore[attr-defined]


def test_static_passes_on_the_repository(run_pytest: RunSuite) -> None:
    run = run_pytest("-m", "static")
    assert run.exit_code == 0, run.output
    verdicts = {record["verdict"] for record in run.results}
    assert verdicts == {"PASS"}, run.output
    assert len({record["id"] for record in run.results}) >= 14


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_mutation_fails_with_its_check(run_pytest: RunSuite, tmp_path: Path, mutation: str) -> None:
    expected, mutate = MUTATIONS[mutation]
    charts = tmp_path / "charts"
    shutil.copytree(REPO / "charts", charts)
    mutate(charts)
    # Only the check the mutation targets: the unmutated charts' other verdicts are pinned by
    # test_static_passes_on_the_repository, and each full static run renders every chart again.
    run = run_pytest("-m", "static", "--check", expected, "-o", f"bitiq_charts_dir={charts}")
    assert run.exit_code == 1, run.output
    assert expected in failing(run), f"{expected} did not fail; failing: {sorted(failing(run))}\n{run.output[-3000:]}"
    records = [r for r in run.results if r["id"] == expected and r["verdict"] in ("FAIL", "ERROR")]
    assert all(record["evidence"] for record in records), records
    evidence = " | ".join(record["evidence"] for record in records)
    for wanted in EVIDENCE.get(mutation, ()):
        assert wanted in evidence, f"{wanted!r} not in the evidence of {expected}: {evidence}"
    assert "Traceback" not in run.output


def test_every_static_check_has_a_failing_mutation() -> None:
    proven = {expected for expected, _ in MUTATIONS.values()}
    static = {entry.spec.id for entry in all_checks() if "static" in entry.markers}
    assert static - proven == set()
    assert importlib.import_module("suites.static.test_invariants")
    assert all(re.fullmatch(r"static(\.[a-z0-9-]+){2}", check_id) for check_id in static)
