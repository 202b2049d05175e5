"""`pytest -m parity` (acceptance and smoke included) against the bootstrapped sandbox and its failure scenarios."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest

from fixtures.sandbox import Sandbox
from tests.conftest import RunSuite
from tests.test_access_checks import MUTATING_VERBS, REVIEW_RESOURCES
from tests.verdicts import assert_every_verdict, uncovered

CASES: dict[str, set[str]] = {
    "healthy-prod": set(),
    "argocd-namespace-unlabelled": {"parity.platform.argocd-may-deploy", "parity.gitops.live-matches-git"},
    "pipeline-scc-unbound": {"parity.platform.pipeline-scc", "parity.gitops.live-matches-git"},
    "eventlistener-cluster-read-unbound": {
        "parity.platform.eventlistener-cluster-read",
        "parity.gitops.live-matches-git",
    },
    "umbrella-degraded": {"parity.gitops.umbrella-healthy"},
    "umbrella-stale": {"parity.gitops.umbrella-healthy"},
    "nested-app-missing": {
        "parity.gitops.nested-apps-healthy[ci-pipelines]",
        "parity.gitops.umbrella-healthy",
        "parity.gitops.live-matches-git",
    },
    "appset-error": {"parity.gitops.applicationset-ok"},
    "argocd-unavailable": {"parity.gitops.argocd-available"},
    "app-namespace-terminating": {"parity.namespaces.app-namespace-active"},
    "route-404": {"parity.routes.serve-200[svc-api]"},
    "route-503": {"parity.routes.serve-200[svc-web]"},
    "route-other-ca": {"parity.routes.serve-200"},
    "route-not-admitted": {"parity.routes.admitted[svc-api]"},
    "route-dns-missing": {"parity.routes.dns"},
    "pipelinerun-failed": {"parity.tekton.latest-run-succeeded", "parity.tekton.image-pushed"},
    "image-missing": {"parity.tekton.image-pushed"},
    "wrong-sa": {"parity.tekton.service-account"},
    "write-back-stale": {"parity.imageupdater.write-back"},
    "annotations-drifted": {"parity.imageupdater.annotations", "parity.gitops.live-matches-git"},
    "secret-missing": {"parity.secrets.present[quay-auth]", "parity.tekton.registry-secret-linked"},
    "registry-secret-empty-auths": {"parity.secrets.present[quay-auth]", "parity.tekton.registry-secret-linked"},
    "upgrade-pending": set(),  # an upgrade waiting for Manual approval, the installed CSV Succeeded: PASS
    "first-install-pending": {"parity.operators.installed[openshift-pipelines-operator-rh]"},
    "channel-latest": {"parity.operators.installed[openshift-gitops-operator]"},
    "image-list-partial": {
        "parity.imageupdater.write-back",
        "parity.imageupdater.annotations",
        "parity.gitops.live-matches-git",
    },
    "image-list-missing": {
        "parity.imageupdater.write-back",
        "parity.imageupdater.annotations",
        "parity.gitops.live-matches-git",
    },
    "pipelinerun-latest-failed": {"parity.tekton.latest-run-succeeded"},
    "route-dns-stale": {"parity.routes.dns[svc-api]"},
    "nested-apps-degraded": {
        "parity.gitops.nested-apps-healthy[bitiq-sample-app]",
        "parity.gitops.nested-apps-healthy[image-updater]",
    },
    "route-web-not-admitted": {"parity.routes.admitted[svc-web]"},
    "webhook-secret-missing": {"parity.secrets.present[github-webhook-secret]"},
    "imageupdater-git-creds-missing": {"parity.imageupdater.git-credentials"},
    "imageupdater-role-lacks-git-creds": {"parity.imageupdater.git-credentials", "parity.gitops.live-matches-git"},
    # One pipeline per component: a frontend failure fails the frontend rows only, the backend's stay PASS.
    "pipelinerun-frontend-failed": {
        "parity.tekton.latest-run-succeeded[frontend]",
        "parity.tekton.image-pushed[frontend]",
    },
    "pipeline-frontend-missing": {
        "parity.tekton.latest-run-succeeded[frontend]",
        "parity.tekton.service-account[frontend]",
        "parity.tekton.image-pushed[frontend]",
        "parity.gitops.live-matches-git",
    },
    # Live state against git: drift Argo CD's (stale) Synced status does not show.
    "live-deployment-edited": {"parity.gitops.live-matches-git"},
    "live-route-host-changed": {"parity.gitops.live-matches-git"},
    "live-object-missing": {"parity.gitops.live-matches-git"},
}
# Verdicts other than PASS and FAIL a scenario pins (by check ID, or `ID[target]`).
OTHERS: dict[str, dict[str, str]] = {}
PROVEN_ELSEWHERE = {
    "parity.envs.same-components": "tests.test_parity_scenarios:test_envs_compared_across_clusters",
    "preflight.access.api-reachable": "tests.test_access_checks:test_dead_cluster_is_one_failure_and_a_list",
    "preflight.access.logged-in": "tests.test_access_checks:test_rejected_token_fails_with_one_line",
}


def failing(run: Any) -> set[str]:
    return {record["id"] for record in run.results if record["verdict"] == "FAIL"}


@pytest.mark.parametrize("scenario", sorted(CASES))
def test_parity_scenario(run_suite: RunSuite, scenario: str) -> None:
    """Every parity check's verdict, PASS included, on each scenario; FAIL exactly where pinned."""
    run = run_suite("-m", "parity", "--env", "prod", scenario=scenario)
    expected = {key: "FAIL" for key in CASES[scenario]} | OTHERS.get(scenario, {})
    assert_every_verdict(run, expected, "parity")
    not_evaluated = "NOT-EVALUATED" in expected.values()
    assert run.exit_code == (1 if CASES[scenario] or not_evaluated else 0), run.output[-2000:]
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


def compare_envs(local_kubeconfig: object, prod_kubeconfig: object) -> list[str]:
    """The arguments of a parity run comparing the components of local and prod, each on its own cluster."""
    return [
        *("-m", "parity", "--env", "local", "--env", "prod", "-k", "same_components"),
        *("--env-kubeconfig", f"local={local_kubeconfig}", "--env-kubeconfig", f"prod={prod_kubeconfig}"),
    ]


def test_envs_compared_across_clusters(run_suite: RunSuite, sandbox: Sandbox, sandbox_local: Sandbox) -> None:
    args = compare_envs(sandbox_local.kubeconfig("admin"), sandbox.kubeconfig("admin"))
    run = run_suite(*args, scenario="nested-app-missing")
    record = run.record("parity.envs.same-components")
    assert record["verdict"] == "FAIL", run.output[-3000:]
    assert "bitiq-umbrella Application/ci-pipelines-<env>: local=True, prod=False" in record["evidence"]
    run = run_suite(*args, scenario="healthy-prod")
    assert run.record("parity.envs.same-components")["verdict"] == "PASS", run.output[-3000:]


def test_every_parity_check_has_a_failing_case() -> None:
    """Each check and each of its targets (app, route, secret, operator) FAILs with evidence in some case."""
    for test_path in PROVEN_ELSEWHERE.values():
        module, function = test_path.split(":")
        assert callable(getattr(importlib.import_module(module), function, None)), test_path
    missing = uncovered("parity", set().union(*CASES.values()), PROVEN_ELSEWHERE)
    assert missing == [], "parity checks (and targets) no case makes fail"
