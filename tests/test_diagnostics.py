"""Diagnostics on failure (issue 15): a FAIL, WARN or NOT-EVALUATED carries the facts a platform engineer
would read next about the objects it names, in results.json, report.html and parity.html; a green run
sends no request for them, a failing run at most 10, and no secret value appears."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fixtures import checks
from fixtures.checks import ObjectRef
from fixtures.cluster import Cluster
from fixtures.diagnostics import BUDGET_SPENT, MAX_REQUESTS, Budget, Collector
from fixtures.kube import KubeTransport, Target
from fixtures.sandbox import Sandbox
from tests.conftest import RunSuite
from tests.test_reports import planted_secrets

Audit = Callable[[], list[dict[str, Any]]]
# What only diagnostics read: the checks LIST every kind once (no selector) and GET only CSVs, Secrets,
# PackageManifests and, with --timeout, the umbrella Application. Services are listed by
# parity.gitops.live-matches-git, so only a GET of one is a diagnostic's.
DIAGNOSTIC_ONLY = frozenset({"events", "endpointslices", "endpoints", "taskruns", "installplans"})
LISTED_BY_CHECKS = frozenset({"applications", "applicationsets", "pipelineruns", "routes", "subscriptions", "services"})


def diagnostic_requests(events: list[dict[str, Any]], user: str) -> list[str]:
    """The audited requests of ``user`` that only diagnostics send."""
    found = []
    for event in events:
        if event["user"]["username"] != user or event.get("stage") not in (None, "ResponseComplete"):
            continue
        uri, ref = event["requestURI"], event.get("objectRef") or {}
        selected = "fieldSelector=" in uri or "labelSelector=" in uri
        named_get = event["verb"] == "get" and ref.get("name") and ref.get("resource") in LISTED_BY_CHECKS
        if selected or ref.get("resource") in DIAGNOSTIC_ONLY or named_get:
            found.append(f"{event['verb']} {uri}")
    return found


def report_logs(page: str) -> dict[str, str]:
    """Each row's log in a pytest-html 4 report, by test ID."""
    blob = re.search(r'data-jsonblob="([^"]*)"', page)
    assert blob, "no data-jsonblob in report.html"
    tests = json.loads(html.unescape(blob.group(1)))["tests"]
    return {str(row["testId"]): str(row.get("log", "")) for rows in tests.values() for row in rows}


def record(run: Any, check_id: str, target: str = "") -> dict[str, Any]:
    matching = [r for r in run.results if r["id"] == check_id and r["target"] == target]
    assert len(matching) == 1, (check_id, target, run.output[-3000:])
    return matching[0]


def texts(entry: dict[str, Any], topic: str) -> list[str]:
    return [d["text"] for d in entry["diagnostics"] if d["topic"] == topic]


def test_application_names_its_degraded_resource(run_suite: RunSuite) -> None:
    run = run_suite("-m", "parity", "--env", "prod", "-k", "nested_app", scenario="nested-apps-degraded")
    failing = record(run, "parity.gitops.nested-apps-healthy", "bitiq-sample-app")
    assert failing["verdict"] == "FAIL", run.output[-3000:]
    assert {d["object"] for d in failing["diagnostics"]} == {"Application openshift-gitops/bitiq-sample-app-prod"}
    assert texts(failing, "resources") == [
        'Deployment bitiq-prod/bitiq-sample-app: sync Synced, health Degraded: Deployment "bitiq-sample-app"'
        " exceeded its progress deadline"
    ]
    assert texts(failing, "operation")[0].startswith("last operation Succeeded: successfully synced (all tasks run)")
    assert texts(failing, "events")[0].startswith("Normal ResourceUpdated: Updated health status: Healthy -> Degraded")
    passing = record(run, "parity.gitops.nested-apps-healthy", "ci-pipelines")
    assert (passing["verdict"], passing["diagnostics"]) == ("PASS", [])


def test_pipelinerun_names_its_failed_taskrun_and_step(run_suite: RunSuite) -> None:
    run = run_suite("-m", "parity", "--env", "prod", "-k", "latest_run_succeeded", scenario="pipelinerun-failed")
    failing = record(run, "parity.tekton.latest-run-succeeded", "backend")
    assert failing["verdict"] == "FAIL", run.output[-3000:]
    assert texts(failing, "taskrun") == [
        'TaskRun bitiq-build-and-push-x7k2p-test (pipeline task test) failed (Failed): "step-unit-tests" exited'
        " with code 1"
    ]
    assert texts(failing, "step") == ["step unit-tests terminated Error, exit code 1"]
    assert texts(failing, "events")[0].startswith("Warning Failed: Tasks Completed: 3 (Failed: 1, Cancelled 0)")
    assert "Succeeded=False (Failed): Tasks Completed: 3 (Failed: 1, Cancelled 0), Skipped: 1" in texts(
        failing, "conditions"
    )


def test_route_names_its_service_without_ready_endpoints(run_suite: RunSuite) -> None:
    run = run_suite("-m", "parity", "--env", "prod", "-k", "serves_200", scenario="route-503")
    failing = record(run, "parity.routes.serve-200", "svc-web")
    assert failing["verdict"] == "FAIL", run.output[-3000:]
    assert texts(failing, "service") == [
        "Service bitiq-prod/bitiq-sample-app-web (spec.to): type ClusterIP, selector"
        " app.kubernetes.io/name=bitiq-sample-app-web, ports 8080/TCP"
    ]
    [endpoints] = texts(failing, "endpoints")
    assert endpoints.startswith(
        "EndpointSlices of Service bitiq-prod/bitiq-sample-app-web: 0 ready of 1 endpoints (not ready: 10.128.2.17):"
        " no ready endpoint"
    )
    assert "router default: Admitted=True" in texts(failing, "conditions")
    assert record(run, "parity.routes.serve-200", "svc-api")["diagnostics"] == []


def test_subscription_names_its_installplan_and_csv(run_suite: RunSuite) -> None:
    run = run_suite("-m", "parity", "--env", "prod", "-k", "operator_installed", scenario="first-install-pending")
    failing = record(run, "parity.operators.installed", "openshift-pipelines-operator-rh")
    assert failing["verdict"] == "FAIL", run.output[-3000:]
    assert texts(failing, "installplan")[0] == (
        "InstallPlan openshift-operators/install-7xk2p: phase RequiresApproval, approval Manual, approved false,"
        " CSVs openshift-pipelines-operator-rh.v1.20.0"
    )
    assert texts(failing, "csv") == ["CSV openshift-pipelines-operator-rh.v1.20.0 (currentCSV): does not exist"]
    assert "InstallPlanPending=True (RequiresApproval)" in texts(failing, "conditions")
    assert texts(failing, "subscription") == ["state UpgradePending"]


def test_green_run_sends_no_extra_request(run_suite: RunSuite, audit_offset: Audit) -> None:
    run = run_suite("-m", "parity or smoke", "--env", "prod", user="reader", scenario="healthy-prod")
    assert run.exit_code == 0, run.output[-3000:]
    assert all(r["diagnostics"] == [] for r in run.results)
    assert diagnostic_requests(audit_offset(), "reader") == []


def test_failing_run_stays_within_the_budget(
    run_suite: RunSuite, audit_offset: Audit, sandbox: Sandbox, pytester: pytest.Pytester
) -> None:
    path = Path(str(pytester.path))
    run = run_suite(
        "-m",
        "preflight or parity",
        "--env",
        "prod",
        "--html",
        str(path / "report.html"),
        "--self-contained-html",
        user="reader",
        scenario="route-503",
    )
    failing = record(run, "parity.routes.serve-200", "svc-web")
    assert failing["diagnostics"], run.output[-3000:]
    sent = diagnostic_requests(audit_offset(), "reader")
    assert 0 < len(sent) <= MAX_REQUESTS, sent
    assert all(r["diagnostics"] == [] for r in run.results if r["verdict"] in ("PASS", "N/A", "SKIP"))
    # report.html: the evidence, then the diagnostics under it, in the row's log (pytest-html 4 keeps the
    # rows as JSON in the page's data-jsonblob attribute).
    page = (path / "report.html").read_text()
    logs = report_logs(page)
    [log] = [log for node, log in logs.items() if "test_route_serves_200" in node and "svc-web" in node]
    block = re.search(r'<div class="diagnostics"><b>diagnostics</b><ul>(.*?)</ul></div>', log)
    assert block, log
    assert "0 ready of 1 endpoints" in block.group(1)
    assert log.index('<div class="evidence"><b>evidence</b>: GET https://svc-web.') < log.index("diagnostics")
    assert all("diagnostics" not in log for node, log in logs.items() if "svc-api" in node)
    # parity.html: expandable in the cell, closed until asked.
    matrix = (path / "reports" / "parity.html").read_text()
    cell = re.search(
        r"<details class=diagnostics><summary>diagnostics \((\d+)\)</summary><ul>(.*?)</ul></details>", matrix
    )
    assert cell, matrix[-2000:]
    assert "0 ready of 1 endpoints" in html.unescape(cell.group(2))
    assert int(cell.group(1)) == len(failing["diagnostics"])
    texts_written = {"terminal": run.output, "results": str(run.document), "report": page, "parity": matrix}
    leaks = [(name, s[:4]) for s in planted_secrets(sandbox) for name, text in texts_written.items() if s in text]
    assert leaks == []


def test_budget_spent_is_said_not_exceeded(sandbox: Sandbox) -> None:
    """Against the real API server: many objects, a budget of 3: three requests, then the budget is named."""
    sandbox.use("route-503")
    with KubeTransport(Target(kubeconfig=str(sandbox.kubeconfig("reader")))) as transport:
        cluster = Cluster(transport)
        routes = cluster.list_kind("route.openshift.io", "routes")  # what a run has read before its verdicts
        before = transport.requests_made
        budget = Budget(3)
        collector = Collector(budget)
        refs = tuple(ObjectRef.of(route) for route in routes)
        found = collector.collect(cluster, refs)
        assert transport.requests_made - before == 3 == budget.spent
        assert any(BUDGET_SPENT in d.text for d in found), found
        again = collector.collect(cluster, refs[:1])  # answers are kept: asking again costs nothing
        assert transport.requests_made - before == 3
        assert again


def test_secrets_are_never_read_for_diagnostics(sandbox: Sandbox) -> None:
    sandbox.use("secret-missing")
    with KubeTransport(Target(kubeconfig=str(sandbox.kubeconfig("reader")))) as transport:
        cluster = Cluster(transport)
        found = Collector(Budget(MAX_REQUESTS)).collect(
            cluster, (ObjectRef("v1", "Secret", "quay-auth", "openshift-pipelines"),)
        )
        assert [(d.topic, d.text) for d in found] == [("object", "Secret objects are not read for diagnostics")]
        assert transport.requests_made == 0


def test_fail_warn_and_not_evaluated_name_what_they_are_about() -> None:
    route = {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "web", "namespace": "app"}}
    named = ObjectRef("route.openshift.io/v1", "Route", "web", "app")
    for end in (checks.fail, checks.warn, checks.not_evaluated):
        with pytest.raises(BaseException) as raised:
            end("evidence", about=[route])
        assert checks.about_of(raised.value) == (named,)
    with pytest.raises(checks.CheckFailure) as raised:
        checks.fail("evidence")  # existing call sites: no objects, no diagnostics
    assert checks.about_of(raised.value) == ()
    assert str(named) == "Route app/web"
