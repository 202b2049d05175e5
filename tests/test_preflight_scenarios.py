"""`pytest -m preflight` against every preflight scenario: the exact FAIL and WARN check IDs.

Each case is a cluster state (a sandbox scenario) plus how the user invoked the suite. The
coverage test at the end fails when a preflight check has no case, here or in a named test,
that makes it fail or warn with its own ID.
"""

from __future__ import annotations

import importlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, RunSuite
from tests.test_access_checks import MUTATING_VERBS, REVIEW_RESOURCES
from tests.verdicts import assert_every_verdict, uncovered

SECRETS = "preflight.secrets.present"
WORKERS = "preflight.nodes.workers-ready"
CHART_CHANNELS = "preflight.operators.chart-channels"
REQUEST_BUDGET = 25  # API requests one full preflight may send (issue target)


@dataclass(frozen=True)
class Case:
    """A scenario and an invocation, with the verdict of every check: PASS unless named here.

    ``failing``, ``warning`` and ``others`` name a check ID (every target of it) or one target
    (`ID[target]`, e.g. `preflight.secrets.present[quay-auth]`); ``others`` maps to N/A, SKIP or
    NOT-EVALUATED.
    """

    scenario: str
    failing: frozenset[str] = field(default_factory=frozenset)
    warning: frozenset[str] = field(default_factory=frozenset)
    args: tuple[str, ...] = ()
    user: str = "admin"
    env: str = "prod"
    base_domain: bool = True
    others: tuple[tuple[str, str], ...] = ()

    def expected(self) -> dict[str, str]:
        return {key: "FAIL" for key in self.failing} | {key: "WARN" for key in self.warning} | dict(self.others)


def case(
    scenario: str,
    failing: set[str] | None = None,
    warning: set[str] | None = None,
    others: dict[str, str] | None = None,
    **kw: Any,
) -> Case:
    return Case(
        scenario, frozenset(failing or ()), frozenset(warning or ()), others=tuple(sorted((others or {}).items())), **kw
    )


GITOPS = "openshift-gitops-operator"
PIPELINES = "openshift-pipelines-operator-rh"
# Before bootstrap no operator is installed: there is no Subscription whose channel or approval to judge
# (the chart's channels are preflight.operators.chart-channels' to judge).
NOT_INSTALLED = {"preflight.operators.channel-pinned": "N/A", "preflight.operators.install-plan-approval": "N/A"}
# A plain Kubernetes cluster: no ClusterVersion, Ingress config or OLM APIs to read.
NOT_OPENSHIFT = {
    "preflight.cluster.not-upgrading": "N/A",
    "preflight.cluster.version-available": "N/A",
    "preflight.ingress.apps-domain": "N/A",
    "preflight.operators.catalog-ready": "N/A",
    "preflight.operators.package-available": "N/A",
    "preflight.operators.subscription-healthy": "N/A",
    CHART_CHANNELS: "NOT-EVALUATED",  # no cluster version to judge the chart's channels against
} | {key: "N/A" for key in NOT_INSTALLED}


def of(check_id: str, target: str) -> str:
    return f"{check_id}[{target}]"


CASES = {
    "empty": case("empty", warning={SECRETS}, others=NOT_INSTALLED),
    "healthy-prod": case("healthy-prod"),
    "healthy-local": case(
        "healthy-local",
        env="local",
        args=("--min-workers", "1"),
        warning={"preflight.nodes.control-plane-ready"},
    ),
    "reader": case("healthy-prod", {"preflight.access.cluster-admin"}, user="reader"),
    "no-base-domain": case(
        "empty", {"preflight.ingress.base-domain-known"}, {SECRETS}, NOT_INSTALLED, base_domain=False
    ),
    "two-workers": case("two-workers", {WORKERS}, {SECRETS}, NOT_INSTALLED),
    "worker-cordoned": case("worker-cordoned", {WORKERS}, {SECRETS}, NOT_INSTALLED),
    "no-default-sc": case("no-default-sc", {"preflight.storage.default-class"}, {SECRETS}, NOT_INSTALLED),
    "two-default-sc": case("two-default-sc", set(), {"preflight.storage.default-class", SECRETS}, NOT_INSTALLED),
    "ocp-4.18": case("ocp-4.18", {"preflight.cluster.openshift-version"}, {SECRETS, CHART_CHANNELS}, NOT_INSTALLED),
    "upgrading": case("upgrading", set(), {"preflight.cluster.not-upgrading"}),
    "failing-cv": case("failing-cv", {"preflight.cluster.version-available"}, {SECRETS}, NOT_INSTALLED),
    "channel-latest": case("channel-latest", {of("preflight.operators.channel-pinned", GITOPS)}),
    # The same unpinned channel outside prod is a WARN, not a blocking failure.
    "channel-latest-local": case(
        "channel-latest", set(), {of("preflight.operators.channel-pinned", GITOPS)}, env="local"
    ),
    "channel-incompatible": case("channel-incompatible", {of("preflight.operators.channel-pinned", PIPELINES)}),
    "ocp-4.20-unlisted": case("ocp-4.20-unlisted", set(), {"preflight.operators.channel-pinned", CHART_CHANNELS}),
    "csv-failed": case("csv-failed", {of("preflight.operators.subscription-healthy", GITOPS)}),
    # An upgrade waiting for Manual approval while the installed CSV Succeeded: what Manual approval is for.
    "upgrade-pending": case("upgrade-pending"),
    # The first InstallPlan of a Manual Subscription never approved: nothing installed (bootstrap approves it).
    "first-install-pending": case("first-install-pending", {of("preflight.operators.subscription-healthy", PIPELINES)}),
    # A cluster mirrored with oc-mirror: no redhat-operators; its catalog is named by --catalog-source.
    "catalog-mirrored": case(
        "catalog-mirrored",
        set(),
        {"preflight.operators.catalog-ready", "preflight.operators.package-available", SECRETS},
        NOT_INSTALLED,
    ),
    "catalog-mirrored-named": case(
        "catalog-mirrored", set(), {SECRETS}, NOT_INSTALLED, args=("--catalog-source", "cs-redhat-operator-index-v4-19")
    ),
    "catalog-unhealthy": case(
        "catalog-unhealthy", set(), {"preflight.operators.catalog-ready", SECRETS}, NOT_INSTALLED
    ),
    "package-missing": case(
        "package-missing", set(), {"preflight.operators.package-available", SECRETS}, NOT_INSTALLED
    ),
    "approval-automatic": case("approval-automatic", set(), {"preflight.operators.install-plan-approval"}),
    "no-wildcard-dns": case(
        "no-wildcard-dns",
        {"preflight.dns.wildcard"},
        {SECRETS},
        NOT_INSTALLED | {"preflight.dns.wildcard-consistent": "N/A"},  # nothing resolved to compare
    ),
    "stale-dns-record": case("stale-dns-record", set(), {"preflight.dns.wildcard-consistent", SECRETS}, NOT_INSTALLED),
    "domain-mismatch": case("domain-mismatch", set(), {"preflight.ingress.apps-domain", SECRETS}, NOT_INSTALLED),
    "ns-terminating": case("ns-terminating", {"preflight.namespaces.ready"}, {SECRETS}, NOT_INSTALLED),
    "secret-wrong-type": case("secret-wrong-type", set(), {of(SECRETS, "quay-auth")}),
    # {"auths":{}}: the registry secret exists with the right type and key, but holds no credentials.
    "registry-secret-empty-auths": case("registry-secret-empty-auths", set(), {f"{SECRETS}[quay-auth]"}),
    # Served by another catalog only: OLM cannot resolve it from redhat-operators, which the chart names.
    "package-other-catalog": case(
        "package-other-catalog",
        set(),
        {"preflight.operators.package-available[openshift-pipelines-operator-rh]", SECRETS},
        {"preflight.operators.channel-pinned": "N/A", "preflight.operators.install-plan-approval": "N/A"},
    ),
    "plain-kubernetes": case("plain-kubernetes", {"preflight.cluster.openshift-version"}, {SECRETS}, NOT_OPENSHIFT),
}

# Checks whose failing case needs more than a scenario; each names the test that proves it.
PROVEN_ELSEWHERE = {
    "preflight.access.api-reachable": "tests.test_access_checks:test_stopped_api_server_fails_each_check",
    "preflight.access.logged-in": "tests.test_access_checks:test_rejected_token_fails_with_one_line",
    "preflight.operators.chart-channels": f"{__name__}:test_chart_channels_are_judged",
}


def non_passing(run: Any, verdict: str) -> set[str]:
    return {record["id"] for record in run.results if record["verdict"] == verdict}


@pytest.mark.parametrize("name", sorted(CASES, key=lambda name: (CASES[name].scenario, name)))
def test_preflight_scenario(run_suite: RunSuite, name: str) -> None:
    expected = CASES[name]
    run = run_suite(
        "-m",
        "preflight",
        "--env",
        expected.env,
        *expected.args,
        user=expected.user,
        scenario=expected.scenario,
        base_domain=expected.base_domain,
    )
    assert_every_verdict(run, expected.expected(), "preflight")
    not_evaluated = any(v == "NOT-EVALUATED" for v in expected.expected().values())
    assert run.exit_code == (1 if expected.failing or not_evaluated else 0), run.output
    assert "Traceback" not in run.output


def test_channel_pinned_fails_in_prod_and_warns_elsewhere(run_suite: RunSuite) -> None:
    prod = run_suite("-m", "preflight", "--env", "prod", scenario="channel-latest")
    evidence = [
        r["evidence"]
        for r in prod.results
        if r["id"] == "preflight.operators.channel-pinned" and r["verdict"] == "FAIL"
    ]
    assert len(evidence) == 1
    assert "channel latest is not pinned" in evidence[0]
    assert "gitops-1.17, gitops-1.18, gitops-1.19, gitops-1.20" in evidence[0]


def test_chart_channels_are_judged(run_suite: RunSuite, tmp_path: Path) -> None:
    charts = tmp_path / "charts"
    shutil.copytree(REPO / "charts", charts)
    values = charts / "bootstrap-operators" / "values.yaml"
    values.write_text(
        yaml.safe_dump(
            {
                "operators": {
                    "gitops": {"package": "openshift-gitops-operator", "channel": "latest"},
                    "pipelines": {"package": "openshift-pipelines-operator-rh", "channel": "pipelines-1.20"},
                }
            }
        )
    )
    run = run_suite("-m", "preflight", "--env", "prod", "-o", f"bitiq_charts_dir={charts}", scenario="empty")
    record = run.record("preflight.operators.chart-channels")
    assert record["verdict"] == "FAIL", run.output
    assert "values.yaml operators.gitops: channel latest is not pinned" in record["evidence"]
    values.write_text(
        yaml.safe_dump(
            {
                "operators": {
                    "gitops": {"package": "openshift-gitops-operator", "channel": "gitops-1.18"},
                    "pipelines": {"package": "openshift-pipelines-operator-rh", "channel": "pipelines-1.20"},
                }
            }
        )
    )
    run = run_suite("-m", "preflight", "--env", "prod", "-o", f"bitiq_charts_dir={charts}")
    assert run.record("preflight.operators.chart-channels")["verdict"] == "PASS", run.output


def test_fail_on_warn_turns_warnings_into_failures(run_suite: RunSuite) -> None:
    run = run_suite("-m", "preflight", "--env", "prod", "--fail-on-warn", scenario="empty")
    assert non_passing(run, "WARN") == {SECRETS}
    assert run.exit_code == 1
    assert f"[{SECRETS}] WARN (--fail-on-warn)" in run.output


def test_skip_dns_skips_instead_of_passing(run_suite: RunSuite) -> None:
    run = run_suite("-m", "preflight", "--env", "prod", "--skip-dns", scenario="no-wildcard-dns")
    verdicts = {r["id"]: r["verdict"] for r in run.results if r["id"].startswith("preflight.dns.")}
    assert verdicts == {"preflight.dns.wildcard": "SKIP", "preflight.dns.wildcard-consistent": "SKIP"}
    assert run.exit_code == 0


def test_denied_reads_name_the_verb_and_resource(run_suite: RunSuite) -> None:
    run = run_suite("-m", "preflight", "--env", "prod", user="nobody", scenario="healthy-prod")
    denied = [r for r in run.results if "forbidden" in r["evidence"]]
    assert denied, run.output
    assert any("needs verb 'list' on nodes cluster-wide" in r["evidence"] for r in denied)
    assert all("needs verb" in r["evidence"] for r in denied)
    assert "Traceback" not in run.output


def test_reader_runs_every_check_without_denial_or_write(
    run_suite: RunSuite, audit_offset: Callable[[], list[dict[str, Any]]]
) -> None:
    run = run_suite("-m", "preflight", "--env", "prod", user="reader", scenario="healthy-prod")
    assert all("forbidden" not in record["evidence"] for record in run.results), run.output
    events = [event for event in audit_offset() if event["user"]["username"] == "reader"]
    writes = [
        event["requestURI"]
        for event in events
        if event["verb"] in MUTATING_VERBS and (event.get("objectRef") or {}).get("resource") not in REVIEW_RESOURCES
    ]
    assert writes == []
    assert len(events) <= REQUEST_BUDGET, [event["requestURI"] for event in events]


def test_every_preflight_check_has_a_failing_case() -> None:
    """Each check and each of its targets (secret, package, ...) has a case where it FAILs or WARNs with
    evidence; ERROR, SKIP, N/A and NOT-EVALUATED prove nothing (the scenario test pins those apart)."""
    findings = set().union(*(c.failing | c.warning for c in CASES.values()))
    for test_path in PROVEN_ELSEWHERE.values():
        module, function = test_path.split(":")
        assert callable(getattr(importlib.import_module(module), function, None)), test_path
    missing = uncovered("preflight", findings, PROVEN_ELSEWHERE)
    assert missing == [], "preflight checks (and targets) no case makes fail or warn"
