"""`make hu`: the charts' helm-unittest suites pass, and each one fails when what it pins breaks.

Runs the pinned helm with the helm-unittest plugin laid out by `scripts/install-tools.sh
helm-unittest` (HELM_PLUGINS=.tools/helm-plugins), as the Makefile does; nothing touches the
network. Each chart's mutation breaks one value its tests pin, in a copy of the chart, and the
named test must then fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

CHARTS = REPO / "charts"
HELM = REPO / ".tools" / "bin" / "helm"
PLUGINS = REPO / ".tools" / "helm-plugins"
PLUGIN = PLUGINS / "unittest"
TIMEOUT_SECONDS = 120

# chart -> (file in the chart, text, replacement, the test (`it`) that must then fail)
MUTATIONS: dict[str, tuple[str, str, str, str]] = {
    "argocd-apps": (
        "values.yaml",
        "baseDomain: apps.prod.example",
        "baseDomain: apps.elsewhere.example",
        "prod renders bitiq-umbrella-by-env in openshift-gitops with only the prod env",
    ),
    "bitiq-sample-app": (
        "templates/components.yaml",
        "termination: edge",
        "termination: passthrough",
        "the API Route is svc-api on the prod base domain, edge TLS, HTTP redirected",
    ),
    "bitiq-umbrella": (
        "values.yaml",
        "updateStrategy: newest-build",
        "updateStrategy: alphabetical",
        "the sample app carries the Image Updater annotations and writes back values-prod.yaml",
    ),
    "bootstrap-operators": (
        "values.yaml",
        "channel: gitops-1.18",
        "channel: latest",
        "prod pins the GitOps channel (never latest) and approves InstallPlans by hand",
    ),
    "ci-pipelines": (
        "values-prod.yaml",
        "baseDomain: apps.prod.example",
        "baseDomain: apps.example.invalid",
        "the webhook Route is on the prod base domain",
    ),
    "conformance-runner": (
        "templates/_helpers.tpl",
        "readOnlyRootFilesystem: true",
        "readOnlyRootFilesystem: false",
        "the runner pod is non-root with a read-only root filesystem and no automounted token",
    ),
    "image-updater": (
        "templates/deployment.yaml",
        "readOnlyRootFilesystem: true",
        "readOnlyRootFilesystem: false",
        "runs the pinned Image Updater non-root with a read-only root filesystem",
    ),
    "secrets-examples": (
        "values.yaml",
        "enabled: false",
        "enabled: true",
        "renders nothing unless enabled",
    ),
}


def chart_names() -> list[str]:
    return sorted(path.parent.name for path in CHARTS.glob("*/Chart.yaml"))


@pytest.fixture(scope="module")
def helm_unittest() -> list[str]:
    """The command `make hu` runs, before the chart paths; skips when the plugin is not built."""
    if not (HELM.is_file() and os.access(HELM, os.X_OK)):
        pytest.skip("helm is not built: run scripts/install-tools.sh helm helm-unittest")
    binary = PLUGIN / "untt"
    if not ((PLUGIN / "plugin.yaml").is_file() and binary.is_file() and os.access(binary, os.X_OK)):
        pytest.skip("the helm-unittest plugin is not built: run scripts/install-tools.sh helm-unittest")
    return [str(HELM), "unittest", "--strict", "--color=false"]


def run(command: list[str], *charts: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HELM_PLUGINS": str(PLUGINS)}
    return subprocess.run(
        [*command, *map(str, charts)],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def test_every_chart_has_unit_tests_and_a_mutation() -> None:
    charts = chart_names()
    assert charts, "no charts found"
    without_tests = [name for name in charts if not list((CHARTS / name / "tests").glob("*_test.yaml"))]
    assert not without_tests, f"charts without tests/*_test.yaml: {without_tests}"
    assert sorted(MUTATIONS) == charts, "every chart needs a MUTATIONS entry proving its tests can fail"


def test_every_chart_passes_its_unit_tests(helm_unittest: list[str]) -> None:
    completed = run(helm_unittest, *(CHARTS / name for name in chart_names()))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Charts:      {0} passed, {0} total".format(len(chart_names())) in completed.stdout, completed.stdout


def test_helmignore_keeps_tests_out_of_packages() -> None:
    for name in chart_names():
        helmignore = CHARTS / name / ".helmignore"
        assert helmignore.is_file(), f"{name} has no .helmignore"
        assert "tests/" in helmignore.read_text().split(), f"{name}/.helmignore does not list tests/"


@pytest.mark.parametrize("chart", sorted(MUTATIONS))
def test_unit_tests_fail_when_a_pinned_value_breaks(helm_unittest: list[str], chart: str, tmp_path: Path) -> None:
    relative, old, new, failing_test = MUTATIONS[chart]
    copy = tmp_path / chart
    shutil.copytree(CHARTS / chart, copy)
    target = copy / relative
    text = target.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"{old!r} is no longer in charts/{chart}/{relative}: update MUTATIONS"
    target.write_text(text.replace(old, new, 1), encoding="utf-8")

    completed = run(helm_unittest, copy)
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0, output
    assert f"- {failing_test}" in output, output
    assert " FAIL " in output, output
