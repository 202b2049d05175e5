"""`pytest -m parity` (acceptance and smoke included) against the bootstrapped sandbox and its failure scenarios."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fixtures.catalog import all_checks
from fixtures.sandbox import Sandbox
from tests.conftest import RunSuite
from tests.test_access_checks import MUTATING_VERBS, REVIEW_RESOURCES

CASES: dict[str, set[str]] = {
    "healthy-prod": set(),
    "umbrella-degraded": {"parity.gitops.umbrella-healthy"},
    "umbrella-stale": {"parity.gitops.umbrella-healthy"},
    "nested-app-missing": {"parity.gitops.nested-apps-healthy", "parity.gitops.umbrella-healthy"},
    "appset-error": {"parity.gitops.applicationset-ok"},
    "argocd-unavailable": {"parity.gitops.argocd-available"},
    "app-namespace-terminating": {"parity.namespaces.app-namespace-active"},
    "route-404": {"parity.routes.serve-200"},
    "route-503": {"parity.routes.serve-200"},
    "route-other-ca": {"parity.routes.serve-200"},
    "route-not-admitted": {"parity.routes.admitted"},
    "route-dns-missing": {"parity.routes.dns"},
    "pipelinerun-failed": {"parity.tekton.latest-run-succeeded", "parity.tekton.image-pushed"},
    "image-missing": {"parity.tekton.image-pushed"},
    "wrong-sa": {"parity.tekton.service-account"},
    "write-back-stale": {"parity.imageupdater.write-back"},
    "annotations-drifted": {"parity.imageupdater.annotations"},
    "secret-missing": {"parity.secrets.present", "parity.tekton.registry-secret-linked"},
    "upgrade-pending": {"parity.operators.installed"},
    "channel-latest": {"parity.operators.installed"},
}
PROVEN_ELSEWHERE = {"parity.envs.same-components": "test_envs_compared_across_clusters"}


def failing(run: Any) -> set[str]:
    return {record["id"] for record in run.results if record["verdict"] in ("FAIL", "ERROR")}


@pytest.mark.parametrize("scenario", sorted(CASES))
def test_parity_scenario(run_suite: RunSuite, scenario: str) -> None:
    run = run_suite("-m", "parity", "--env", "prod", scenario=scenario)
    assert run.results, run.output
    assert failing(run) == CASES[scenario], run.output[-4000:]
    assert run.exit_code == (1 if CASES[scenario] else 0), run.output[-2000:]
    assert "Traceback" not in run.output


@pytest.mark.parametrize(
    ("scenario", "check_id"),
    [
        ("healthy-prod", None),
        ("umbrella-degraded", "parity.gitops.umbrella-healthy"),
        ("secret-missing", "parity.tekton.registry-secret-linked"),
        ("pipelinerun-failed", "parity.tekton.latest-run-succeeded"),
    ],
)
def test_acceptance_gate(run_suite: RunSuite, scenario: str, check_id: str | None) -> None:
    run = run_suite("-m", "acceptance", "--env", "prod", scenario=scenario)
    if check_id is None:
        assert run.exit_code == 0, run.output[-3000:]
        assert len(run.results) >= 10
    else:
        assert run.exit_code == 1
        assert check_id in failing(run), run.output[-3000:]


def test_parity_and_smoke_send_no_mutating_request(
    run_suite: RunSuite, audit_offset: Callable[[], list[dict[str, Any]]]
) -> None:
    run = run_suite("-m", "parity or smoke", "--env", "prod", user="reader", scenario="healthy-prod")
    assert run.exit_code == 0, run.output[-3000:]
    events = [event for event in audit_offset() if event["user"]["username"] == "reader"]
    writes = [
        event["requestURI"]
        for event in events
        if event["verb"] in MUTATING_VERBS and (event.get("objectRef") or {}).get("resource") not in REVIEW_RESOURCES
    ]
    assert events
    assert writes == []


def test_convergence_wait_reports_its_wait(run_suite: RunSuite) -> None:
    run = run_suite("-m", "parity", "--env", "prod", "--timeout", "3", "-k", "umbrella", scenario="umbrella-stale")
    evidence = run.record("parity.gitops.umbrella-healthy")["evidence"]
    assert "status is stale" in evidence
    assert "waited" in evidence


def test_envs_compared_across_clusters(run_suite: RunSuite, sandbox: Sandbox, sandbox_local: Sandbox) -> None:
    args = [
        "-m",
        "parity",
        "--env",
        "local",
        "--env",
        "prod",
        "-k",
        "same_components",
        "--env-kubeconfig",
        f"local={sandbox_local.kubeconfig('admin')}",
        "--env-kubeconfig",
        f"prod={sandbox.kubeconfig('admin')}",
    ]
    run = run_suite(*args, scenario="nested-app-missing")
    record = run.record("parity.envs.same-components")
    assert record["verdict"] == "FAIL", run.output[-3000:]
    assert "bitiq-umbrella Application/ci-pipelines-<env>: local=True, prod=False" in record["evidence"]
    run = run_suite(*args, scenario="healthy-prod")
    assert run.record("parity.envs.same-components")["verdict"] == "PASS", run.output[-3000:]


def test_every_parity_check_has_a_failing_case() -> None:
    proven = set().union(*CASES.values()) | set(PROVEN_ELSEWHERE)
    assert all(callable(globals()[test]) for test in PROVEN_ELSEWHERE.values())
    parity = {entry.spec.id for entry in all_checks() if "parity" in entry.markers}
    assert parity - proven == set()
