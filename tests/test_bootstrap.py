"""Bootstrap against the sandbox's `empty` cluster: dry run, real run, no-op rerun, refusal, deadlines.

The sandbox runs no operators, so a test plays OLM's part: once the Subscriptions appear it
writes the statuses and CSVs OLM would write. A Subscription with installPlanApproval Manual gets an
unapproved InstallPlan first (phase RequiresApproval, as OLM leaves even the first plan) and its CSV only
once someone approved that plan; with decoys, an unapproved plan for a newer CSV waits beside it.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fixtures.kube import KubeTransport, Target
from fixtures.sandbox import Sandbox
from tests.conftest import REPO
from tests.test_access_checks import MUTATING_VERBS, REVIEW_RESOURCES

BOOTSTRAP_TIMEOUT = 120
CSV_OF = {
    "gitops-1.18": "openshift-gitops-operator.v1.18.2",
    "pipelines-1.20": "openshift-pipelines-operator-rh.v1.20.1",
}
# The pinned startingCSV of each package (charts/bootstrap-operators values.yaml) and a newer CSV of its channel.
STARTING = {
    "openshift-gitops-operator": "openshift-gitops-operator.v1.18.0",
    "openshift-pipelines-operator-rh": "openshift-pipelines-operator-rh.v1.20.0",
}
NEWER = {
    "openshift-gitops-operator": "openshift-gitops-operator.v1.18.2",
    "openshift-pipelines-operator-rh": "openshift-pipelines-operator-rh.v1.20.1",
}
PLAN_OF = {"openshift-gitops-operator": "install-gitops", "openshift-pipelines-operator-rh": "install-pipelines"}
OLM_API = "/apis/operators.coreos.com/v1alpha1"
APPROVE = """--type merge -p '{"spec":{"approved":true}}'"""


def bootstrap(sandbox: Sandbox, *args: str, user: str = "admin") -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "fixtures.bootstrap",
        "--env",
        "prod",
        "--base-domain",
        sandbox.domain,
        "--kubeconfig",
        str(sandbox.kubeconfig(user)),
        "--acceptance-timeout",
        "0",  # no Argo CD here; a test that wants the wait passes its own (the last one wins)
        *args,
    ]
    # A HOME of its own: helm keeps its discovery cache under $HOME/.kube (the repo, were HOME unset).
    environment = {"BITIQ_NAMESERVER": sandbox.nameserver, "PATH": "/usr/bin:/bin", "HOME": str(sandbox.state_dir)}
    return subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=BOOTSTRAP_TIMEOUT, check=False, env=environment
    )


def writes(events: list[dict[str, Any]], user: str) -> list[str]:
    return [
        f"{event['verb']} {event['requestURI']}"
        for event in events
        if event["user"]["username"] == user
        and event["verb"] in MUTATING_VERBS
        and (event.get("objectRef") or {}).get("resource") not in REVIEW_RESOURCES
        and "dryRun=All" not in event["requestURI"]
    ]


def offer_plan(transport: KubeTransport, subscription: dict[str, Any], name: str, csv: str) -> None:
    """Creates an unapproved Manual InstallPlan for ``csv``, owned by the Subscription, as OLM does."""
    meta = subscription["metadata"]
    base = f"{OLM_API}/namespaces/{meta['namespace']}"
    owner = {
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "Subscription",
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": False,
        "blockOwnerDeletion": False,
    }
    transport.request(
        "POST",
        f"{base}/installplans",
        body={
            "apiVersion": "operators.coreos.com/v1alpha1",
            "kind": "InstallPlan",
            "metadata": {"name": name, "namespace": meta["namespace"], "ownerReferences": [owner]},
            "spec": {"approval": "Manual", "approved": False, "clusterServiceVersionNames": [csv], "generation": 1},
        },
    )
    created = transport.get(f"{base}/installplans/{name}")
    created["status"] = {"phase": "RequiresApproval", "catalogSources": [], "bundleLookups": []}
    transport.request("PUT", f"{base}/installplans/{name}/status", body=created)


def await_approval(transport: KubeTransport, subscription: dict[str, Any], plan: str, csv: str) -> None:
    """The Subscription's status while its first InstallPlan waits: UpgradePending, InstallPlanPending."""
    meta = subscription["metadata"]
    subscription["status"] = {
        "state": "UpgradePending",
        "currentCSV": csv,
        "installPlanRef": {
            "apiVersion": "operators.coreos.com/v1alpha1",
            "kind": "InstallPlan",
            "name": plan,
            "namespace": meta["namespace"],
        },
        "conditions": [
            {
                "type": "InstallPlanPending",
                "status": "True",
                "reason": "RequiresApproval",
                "lastTransitionTime": "2026-11-29T00:00:00Z",
            }
        ],
    }
    transport.request(
        "PUT", f"{OLM_API}/namespaces/{meta['namespace']}/subscriptions/{meta['name']}/status", body=subscription
    )


def play_olm(sandbox: Sandbox, stop: threading.Event, decoys: bool = False) -> None:
    """Writes what OLM writes once it resolves each Subscription: with Manual approval an unapproved
    InstallPlan first (and, with ``decoys``, one for a newer CSV beside it), then, once the plan is approved,
    the status and a Succeeded CSV."""
    with sandbox.admin_transport() as transport:
        done: set[str] = set()
        planned: dict[str, str] = {}
        while not stop.is_set() and len(done) < 2:
            listing = transport.get(f"{OLM_API}/subscriptions")
            for subscription in listing.get("items") or []:
                meta, spec = subscription["metadata"], subscription["spec"]
                if meta["name"] in done:
                    continue
                csv = spec.get("startingCSV") or CSV_OF[spec["channel"]]
                base = f"{OLM_API}/namespaces/{meta['namespace']}"
                if spec.get("installPlanApproval") == "Manual":
                    if meta["name"] not in planned:
                        planned[meta["name"]] = PLAN_OF[spec["name"]]
                        offer_plan(transport, subscription, PLAN_OF[spec["name"]], csv)
                        if decoys:
                            offer_plan(transport, subscription, f"{PLAN_OF[spec['name']]}-newer", NEWER[spec["name"]])
                        await_approval(transport, subscription, PLAN_OF[spec["name"]], csv)
                        continue
                    plan = transport.get(f"{base}/installplans/{planned[meta['name']]}")
                    if not plan["spec"]["approved"]:
                        continue
                    plan["status"] = {**plan.get("status", {}), "phase": "Complete"}
                    transport.request("PUT", f"{base}/installplans/{planned[meta['name']]}/status", body=plan)
                transport.request(
                    "POST",
                    f"{base}/clusterserviceversions",
                    body={
                        "apiVersion": "operators.coreos.com/v1alpha1",
                        "kind": "ClusterServiceVersion",
                        "metadata": {"name": csv, "namespace": meta["namespace"]},
                        "spec": {"displayName": spec["name"], "version": csv.split(".v", 1)[1]},
                    },
                )
                created = transport.get(f"{base}/clusterserviceversions/{csv}")
                created["status"] = {"phase": "Succeeded", "reason": "InstallSucceeded"}
                transport.request("PUT", f"{base}/clusterserviceversions/{csv}/status", body=created)
                subscription["status"] = {"state": "AtLatestKnown", "installedCSV": csv, "currentCSV": csv}
                transport.request("PUT", f"{base}/subscriptions/{meta['name']}/status", body=subscription)
                done.add(meta["name"])
            time.sleep(0.3)


@pytest.fixture
def fresh_empty(sandbox: Sandbox) -> Iterator[Sandbox]:
    sandbox.use("empty", fresh=True)
    yield sandbox
    sandbox.use("empty", fresh=True)  # leave no bootstrapped state to the next test


def olm_thread(sandbox: Sandbox, decoys: bool) -> Iterator[None]:
    stop, errors = threading.Event(), []

    def run() -> None:
        try:
            play_olm(sandbox, stop, decoys)
        except Exception as error:  # reported below: a dead helper must not look like a slow operator
            errors.append(repr(error))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)
    assert errors == [], "the OLM stand-in failed"


@pytest.fixture
def olm(fresh_empty: Sandbox) -> Iterator[None]:
    yield from olm_thread(fresh_empty, decoys=False)


@pytest.fixture
def olm_with_decoys(fresh_empty: Sandbox) -> Iterator[None]:
    yield from olm_thread(fresh_empty, decoys=True)


def test_dry_run_writes_nothing(fresh_empty: Sandbox, audit_offset: Callable[[], list[dict[str, Any]]]) -> None:
    result = bootstrap(fresh_empty, "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "would apply: OperatorGroup openshift-gitops-operator, Subscription openshift-gitops-operator" in result.stdout
    )
    # No Subscription yet: it says which plan it will approve, and how, once OLM creates it.
    assert (
        "would approve the InstallPlan OLM creates in openshift-operators for openshift-pipelines-operator-rh.v1.20.0"
        f" once the Subscription exists: oc -n openshift-operators patch installplan <its name> {APPROVE}"
    ) in result.stdout
    assert writes(audit_offset(), "admin") == []


def test_bootstrap_installs_pinned_operators_and_the_applicationset(
    fresh_empty: Sandbox, olm: None, audit_offset: Callable[[], list[dict[str, Any]]]
) -> None:
    first = bootstrap(fresh_empty)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "operators ready after" in first.stdout
    for package, plan in PLAN_OF.items():
        assert f"/{plan}: it installs {STARTING[package]}, the pinned startingCSV of {package}" in first.stdout
    with KubeTransport(Target(kubeconfig=str(fresh_empty.kubeconfig("admin")))) as transport:
        subscriptions = transport.get("/apis/operators.coreos.com/v1alpha1/subscriptions")["items"]
        channels = {item["spec"]["name"]: item["spec"]["channel"] for item in subscriptions}
        appset = transport.get(
            "/apis/argoproj.io/v1alpha1/namespaces/openshift-gitops/applicationsets/bitiq-umbrella-by-env"
        )
    assert channels == {"openshift-gitops-operator": "gitops-1.18", "openshift-pipelines-operator-rh": "pipelines-1.20"}
    elements = appset["spec"]["generators"][0]["list"]["elements"]
    assert elements == [
        {
            "name": "prod",
            "clusterServer": "https://kubernetes.default.svc",
            "appNamespace": "bitiq-prod",
            "baseDomain": fresh_empty.domain,
        }
    ]
    mark = len(audit_offset())
    second = bootstrap(fresh_empty)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "bitiq-bootstrap-operators unchanged" in second.stdout
    assert "bitiq-argocd-apps unchanged" in second.stdout
    assert writes(audit_offset()[mark:], "admin") == []


def test_reader_stops_at_the_preflight(fresh_empty: Sandbox, audit_offset: Callable[[], list[dict[str, Any]]]) -> None:
    result = bootstrap(fresh_empty, user="reader")
    assert result.returncode == 1
    assert "preflight found blocking failures" in result.stderr
    assert "step 2/4" not in result.stdout
    assert writes(audit_offset(), "reader") == []


def test_operator_wait_hits_its_deadline(fresh_empty: Sandbox) -> None:
    started = time.monotonic()
    result = bootstrap(fresh_empty, "--operators-timeout", "3")
    assert result.returncode == 1
    assert "operators not ready after 3 s" in result.stderr
    assert "state is empty (never resolved)" in result.stderr
    assert time.monotonic() - started < 120


def test_unknown_env_is_refused(fresh_empty: Sandbox) -> None:
    result = bootstrap(fresh_empty, "--env", "staging")
    assert result.returncode == 1
    assert "unknown env 'staging'" in result.stderr


def test_acceptance_wait_hits_its_deadline(fresh_empty: Sandbox, olm: None) -> None:
    # Nothing plays Argo CD here, so bitiq-umbrella-prod never appears: the wait must end on time.
    started = time.monotonic()
    result = bootstrap(fresh_empty, "--acceptance-timeout", "3")
    assert result.returncode == 1, result.stdout[-2000:]
    assert "acceptance did not pass within 3 s" in result.stderr
    assert "parity.gitops.umbrella-healthy" in result.stdout
    assert time.monotonic() - started < 120


def install_plans(sandbox: Sandbox) -> dict[str, bool]:
    with sandbox.admin_transport() as transport:
        return {
            item["metadata"]["name"]: item["spec"]["approved"]
            for item in transport.get(f"{OLM_API}/installplans")["items"]
        }


def test_bootstrap_approves_the_starting_csv_plan_and_never_a_newer_one(
    fresh_empty: Sandbox, olm_with_decoys: None, audit_offset: Callable[[], list[dict[str, Any]]]
) -> None:
    result = bootstrap(fresh_empty)
    assert result.returncode == 0, result.stdout + result.stderr
    assert install_plans(fresh_empty) == {
        "install-gitops": True,
        "install-gitops-newer": False,
        "install-pipelines": True,
        "install-pipelines-newer": False,
    }
    # The OLM stand-in writes as admin too (create, update); bootstrap's approvals are the patches.
    approvals = [w for w in writes(audit_offset(), "admin") if w.startswith("patch ") and "/installplans/" in w]
    assert sorted(approvals) == [
        f"patch {OLM_API}/namespaces/openshift-gitops-operator/installplans/install-gitops",
        f"patch {OLM_API}/namespaces/openshift-operators/installplans/install-pipelines",
    ]
    assert "approved InstallPlan openshift-operators/install-pipelines: it installs" in result.stdout
    assert "-newer" not in result.stdout


def test_dry_run_prints_the_exact_approval_of_a_waiting_plan(
    fresh_empty: Sandbox, audit_offset: Callable[[], list[dict[str, Any]]]
) -> None:
    # The Subscription exists (an earlier run created it and timed out) and its first InstallPlan waits for
    # approval: the preflight fails on it, bootstrap goes on (it is step 2's to approve) and says what it would run.
    with fresh_empty.admin_transport() as transport:
        subscription = transport.request(
            "POST",
            f"{OLM_API}/namespaces/openshift-operators/subscriptions",
            body={
                "apiVersion": "operators.coreos.com/v1alpha1",
                "kind": "Subscription",
                "metadata": {
                    "name": "openshift-pipelines-operator-rh",
                    "namespace": "openshift-operators",
                    # As the earlier `helm upgrade --install` wrote it: the dry run may adopt it.
                    "labels": {"app.kubernetes.io/managed-by": "Helm"},
                    "annotations": {
                        "meta.helm.sh/release-name": "bitiq-bootstrap-operators",
                        "meta.helm.sh/release-namespace": "default",
                    },
                },
                "spec": {
                    "name": "openshift-pipelines-operator-rh",
                    "channel": "pipelines-1.20",
                    "installPlanApproval": "Manual",
                    "startingCSV": STARTING["openshift-pipelines-operator-rh"],
                    "source": "redhat-operators",
                    "sourceNamespace": "openshift-marketplace",
                },
            },
        )
        offer_plan(transport, subscription, "install-q7x2z", STARTING["openshift-pipelines-operator-rh"])
        offer_plan(transport, subscription, "install-newer", NEWER["openshift-pipelines-operator-rh"])
        await_approval(transport, subscription, "install-q7x2z", STARTING["openshift-pipelines-operator-rh"])
    mark = len(audit_offset())
    result = bootstrap(fresh_empty, "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "would approve InstallPlan openshift-operators/install-q7x2z (openshift-pipelines-operator-rh.v1.20.0):"
        f" oc -n openshift-operators patch installplan install-q7x2z {APPROVE}"
    ) in result.stdout
    assert "the only failures are first installs waiting for approval; step 2 approves them" in result.stdout
    assert "install-newer" not in result.stdout
    assert writes(audit_offset()[mark:], "admin") == []
    assert install_plans(fresh_empty) == {"install-q7x2z": False, "install-newer": False}
