"""One pipeline per component, across envs: a pipeline one env lacks is a parity difference unless declared.

prod (scenario pipeline-frontend-missing) renders no frontend pipeline while local (healthy-local) does;
parity.envs.same-components names the Pipeline, and passes once charts/parity-exceptions.yaml declares it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from fixtures.sandbox import Sandbox
from tests.conftest import REPO, RunSuite
from tests.test_parity_scenarios import compare_envs

SAME_COMPONENTS = "parity.envs.same-components"
MISSING = "ci-pipelines Pipeline/bitiq-build-and-push-frontend: local=True, prod=False"


def test_pipeline_missing_from_one_env_is_a_difference(
    run_suite: RunSuite, sandbox: Sandbox, sandbox_local: Sandbox
) -> None:
    run = run_suite(
        *compare_envs(sandbox_local.kubeconfig("admin"), sandbox.kubeconfig("admin")),
        scenario="pipeline-frontend-missing",
    )
    record = run.record(SAME_COMPONENTS)
    assert record["verdict"] == "FAIL", run.output[-3000:]
    assert MISSING in record["evidence"]
    # Only the missing pipeline differs: the TriggerTemplate is not a component, the backend's Pipeline is in both.
    assert "bitiq-build-and-push:" not in record["evidence"]


def test_pipeline_missing_from_one_env_passes_when_declared(
    run_suite: RunSuite, sandbox: Sandbox, sandbox_local: Sandbox, tmp_path: Path
) -> None:
    charts = tmp_path / "charts"
    shutil.copytree(REPO / "charts", charts)
    exceptions_file = charts / "parity-exceptions.yaml"
    document = yaml.safe_load(exceptions_file.read_text())
    document["exceptions"].append(
        {
            "chart": "ci-pipelines",
            "kind": "Pipeline",
            "name": "bitiq-build-and-push-frontend",
            "path": "(presence)",
            "reason": "prod builds the frontend elsewhere (pipelineOverrides.frontend.enabled: false)",
        }
    )
    exceptions_file.write_text(yaml.safe_dump(document, sort_keys=False))
    run = run_suite(
        *compare_envs(sandbox_local.kubeconfig("admin"), sandbox.kubeconfig("admin")),
        "-o",
        f"bitiq_charts_dir={charts}",
        scenario="pipeline-frontend-missing",
    )
    record = run.record(SAME_COMPONENTS)
    assert record["verdict"] == "PASS", run.output[-3000:]


def by_target(run: object, check_id: str) -> dict[str, dict[str, str]]:
    return {r["target"]: r for r in run.results if r["id"] == check_id}  # type: ignore[attr-defined]


def test_frontend_rows_name_the_frontend_pipeline(run_suite: RunSuite) -> None:
    run = run_suite("-m", "parity", "--env", "prod", "-k", "tekton", scenario="pipelinerun-frontend-failed")
    latest = by_target(run, "parity.tekton.latest-run-succeeded")
    assert latest["frontend"]["verdict"] == "FAIL", run.output[-3000:]
    assert "PipelineRun bitiq-build-and-push-frontend-m4q9z failed" in latest["frontend"]["evidence"]
    assert latest["backend"]["verdict"] == "PASS"
    pushed = by_target(run, "parity.tekton.image-pushed")
    assert "openshift-pipelines/bitiq-build-and-push-frontend has succeeded" in pushed["frontend"]["evidence"]
    assert "quay.io/bitiq/bitiq-sample-backend:v0.3.2-commit.9b1e7d3@sha256:" in pushed["backend"]["evidence"]
    run = run_suite("-m", "parity", "--env", "prod", "-k", "tekton", scenario="pipeline-frontend-missing")
    latest = by_target(run, "parity.tekton.latest-run-succeeded")
    assert "and no Pipeline bitiq-build-and-push-frontend" in latest["frontend"]["evidence"], run.output[-3000:]
