"""The access checks against the real sandbox API server, as each of its users."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.sandbox import Sandbox
from tests.conftest import RunSuite

ACCESS_CHECKS = {
    "preflight.access.api-reachable",
    "preflight.access.logged-in",
    "preflight.access.cluster-admin",
}
DNS_ONLY_CHECKS = {
    "preflight.ingress.base-domain-known",
    "preflight.dns.wildcard",
    "preflight.dns.wildcard-consistent",
    "parity.routes.dns",
}
MUTATING_VERBS = {"create", "update", "patch", "delete", "deletecollection"}
REVIEW_RESOURCES = {"selfsubjectreviews", "selfsubjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews"}


def access_verdicts(run: Any) -> dict[str, str]:
    return {check_id: verdict for check_id, verdict in run.verdicts("prod").items() if check_id in ACCESS_CHECKS}


def test_admin_passes_every_access_check(run_suite: RunSuite) -> None:
    run = run_suite("-m", "preflight", "--env", "prod", "suites/preflight/test_access.py", user="admin")
    assert access_verdicts(run) == dict.fromkeys(ACCESS_CHECKS, "PASS"), run.output
    assert run.exit_code == 0, run.output
    assert "'admin'" in run.record("preflight.access.logged-in")["evidence"]
    assert "v1.32" in run.record("preflight.access.api-reachable")["evidence"]


@pytest.mark.parametrize("user", ["reader", "nobody"])
def test_non_admin_fails_only_cluster_admin(run_suite: RunSuite, user: str) -> None:
    run = run_suite("-m", "preflight", "--env", "prod", "suites/preflight/test_access.py", user=user)
    assert access_verdicts(run) == {
        "preflight.access.api-reachable": "PASS",
        "preflight.access.logged-in": "PASS",
        "preflight.access.cluster-admin": "FAIL",
    }, run.output
    assert run.exit_code == 1
    evidence = run.record("preflight.access.cluster-admin")["evidence"]
    assert f"{user} is not cluster-admin" in evidence
    assert "allowed=false" in evidence
    assert "[preflight.access.cluster-admin] FAIL" in run.output
    assert "oc adm policy add-cluster-role-to-user cluster-admin" in run.output
    assert "Traceback" not in run.output


def test_rejected_token_fails_with_one_line(run_suite: RunSuite, sandbox: Sandbox, tmp_path: Path) -> None:
    kubeconfig = yaml.safe_load(sandbox.kubeconfig("reader").read_text())
    kubeconfig["users"][0]["user"]["token"] = "not-a-valid-token"  # noqa: S105 - a deliberately wrong token
    forged = tmp_path / "kubeconfig"
    forged.write_text(yaml.safe_dump(kubeconfig))
    run = run_suite(
        "-m",
        "preflight",
        "--env",
        "prod",
        "--kubeconfig",
        str(forged),
        "suites/preflight/test_access.py",
        user=None,
    )
    assert access_verdicts(run) == {
        "preflight.access.api-reachable": "PASS",  # a 401 is an answer: the endpoint is reachable
        "preflight.access.logged-in": "FAIL",  # the root cause
        "preflight.access.cluster-admin": "NOT-EVALUATED",
    }, run.output
    assert run.record("preflight.access.cluster-admin")["root_cause"] == "preflight.access.logged-in"
    assert run.exit_code == 1
    assert "rejects the credentials" in run.record("preflight.access.api-reachable")["evidence"]
    assert "401 Unauthorized" in run.record("preflight.access.logged-in")["evidence"]
    assert "not-a-valid-token" not in run.output
    assert "Traceback" not in run.output


def test_stopped_api_server_fails_each_check(run_suite: RunSuite, sandbox: Sandbox) -> None:
    sandbox.stop_apiserver()
    try:
        started = time.monotonic()
        run = run_suite("-m", "preflight", "--env", "prod", "suites/preflight/test_access.py")
        elapsed = time.monotonic() - started
    finally:
        sandbox.start_apiserver()
    assert access_verdicts(run) == {
        "preflight.access.api-reachable": "FAIL",  # the root cause
        "preflight.access.logged-in": "NOT-EVALUATED",
        "preflight.access.cluster-admin": "NOT-EVALUATED",
    }, run.output
    for check_id in ACCESS_CHECKS:
        evidence = run.record(check_id)["evidence"]
        assert "refused the connection" in evidence, evidence
        assert "\n" not in evidence
    assert "Traceback" not in run.output
    # Not a benchmark: a generous bound that only a hang or a per-check timeout would break.
    assert elapsed < 60, f"an unreachable cluster took {elapsed:.0f} s to report"


@pytest.mark.parametrize("marker", ["preflight", "parity", "smoke"])
def test_dead_cluster_is_one_failure_and_a_list(run_suite: RunSuite, sandbox: Sandbox, marker: str) -> None:
    """Every check of a marker against a stopped API server: one FAIL (the root cause), the rest NOT-EVALUATED."""
    sandbox.stop_apiserver()
    try:
        run = run_suite("-m", marker, "--env", "prod")
    finally:
        sandbox.start_apiserver()
    assert run.ids("FAIL") == {"preflight.access.api-reachable"}, run.output[-3000:]
    # Only the DNS probes pass: they ask the apps domain's DNS server, not the API server.
    assert {r["id"] for r in run.results if r["verdict"] == "PASS"} <= DNS_ONLY_CHECKS, run.output[-3000:]
    assert run.gate is not None
    assert run.gate["verdict"] == "fail"
    assert (
        f"and {len([r for r in run.results if r['verdict'] == 'NOT-EVALUATED'])} check(s) that could not look"
        in (run.gate["reason"])
    ), run.gate["reason"]
    unevaluated = [r for r in run.results if r["verdict"] == "NOT-EVALUATED"]
    assert len(unevaluated) >= 3, run.output[-3000:]
    assert {r["root_cause"] for r in unevaluated} == {"preflight.access.api-reachable"}
    assert f"NOT-EVALUATED because of preflight.access.api-reachable: {len(unevaluated)} checks" in run.output
    assert run.exit_code == 1
    assert run.output.count("refused the connection") <= 2, "one finding, not one per check"
    assert "Traceback" not in run.output


@pytest.mark.parametrize("marker", ["preflight", "parity"])
def test_expired_token_is_one_failure_and_a_list(
    run_suite: RunSuite, sandbox: Sandbox, tmp_path: Path, pytester: pytest.Pytester, marker: str
) -> None:
    """Rejected credentials: preflight.access.logged-in FAILs, every check that needed a read is NOT-EVALUATED
    pointing at it, and both reports show the verdict in its own colour."""
    kubeconfig = yaml.safe_load(sandbox.kubeconfig("reader").read_text())
    kubeconfig["users"][0]["user"]["token"] = "expired-token-0000"  # noqa: S105 - a deliberately wrong token
    forged = tmp_path / "kubeconfig"
    forged.write_text(yaml.safe_dump(kubeconfig))
    report = tmp_path / "report.html"
    run = run_suite(
        "-m",
        marker,
        "--env",
        "prod",
        "--kubeconfig",
        str(forged),
        "--html",
        str(report),
        "--self-contained-html",
        user=None,
        scenario="healthy-prod",
    )
    assert run.ids("FAIL") == {"preflight.access.logged-in"}, run.output[-3000:]
    unevaluated = [r for r in run.results if r["verdict"] == "NOT-EVALUATED"]
    assert {r["root_cause"] for r in unevaluated} == {"preflight.access.logged-in"}, run.output[-3000:]
    passing = {r["id"] for r in run.results if r["verdict"] == "PASS"}
    assert passing <= DNS_ONLY_CHECKS | {"preflight.access.api-reachable"}, passing
    assert run.output.count("401") <= 3, "one finding, not one per check"
    assert "expired-token-0000" not in run.output
    assert run.exit_code == 1
    parity_page = (pytester.path / "reports" / "parity.html").read_text()
    assert "<td class=unevaluated>" in parity_page
    html = report.read_text()
    # pytest-html keeps each row as escaped HTML in its data: the verdict cell carries its colour.
    assert re.search(r"background:#ede7f6;font-weight:600[^A-Z]{0,20}NOT-EVALUATED", html), "no NOT-EVALUATED cell"
    assert "expired-token-0000" not in html


def test_advisory_check_against_a_dead_cluster_is_not_a_pass(run_suite: RunSuite, sandbox: Sandbox) -> None:
    sandbox.stop_apiserver()
    try:
        run = run_suite("-m", "preflight", "--env", "prod", "--check", "preflight.nodes.control-plane-ready")
    finally:
        sandbox.start_apiserver()
    assert run.verdicts() == {"preflight.nodes.control-plane-ready": "NOT-EVALUATED"}, run.output[-2000:]
    assert run.exit_code == 1, run.output[-2000:]
    assert run.gate is not None
    assert run.gate["verdict"] == "fail", run.gate


def test_preflight_sends_no_mutating_request(
    run_suite: RunSuite, audit_offset: Callable[[], list[dict[str, Any]]]
) -> None:
    run = run_suite("-m", "preflight", "--env", "prod", user="reader")
    assert run.results, run.output
    events = [event for event in audit_offset() if event["user"]["username"] == "reader"]
    assert events, "the audit log shows no request from the suite"
    mutating = [
        f"{event['verb']} {event['requestURI']}"
        for event in events
        if event["verb"] in MUTATING_VERBS and (event.get("objectRef") or {}).get("resource") not in REVIEW_RESOURCES
    ]
    assert mutating == []
