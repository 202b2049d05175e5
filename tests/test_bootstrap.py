"""Bootstrap against the sandbox's `empty` cluster: dry run, real run, no-op rerun, refusal, deadlines.

The sandbox runs no operators, so a test plays OLM's part: once the Subscriptions appear it
writes the statuses and CSVs OLM would write.
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


def play_olm(sandbox: Sandbox, stop: threading.Event) -> None:
    """Writes what OLM writes once it resolves each Subscription: status and a Succeeded CSV."""
    with sandbox.admin_transport() as transport:
        done: set[str] = set()
        while not stop.is_set() and len(done) < 2:
            listing = transport.get("/apis/operators.coreos.com/v1alpha1/subscriptions")
            for subscription in listing.get("items") or []:
                meta, spec = subscription["metadata"], subscription["spec"]
                if meta["name"] in done:
                    continue
                csv = CSV_OF[spec["channel"]]
                base = f"/apis/operators.coreos.com/v1alpha1/namespaces/{meta['namespace']}"
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


@pytest.fixture
def olm(fresh_empty: Sandbox) -> Iterator[None]:
    stop, errors = threading.Event(), []

    def run() -> None:
        try:
            play_olm(fresh_empty, stop)
        except Exception as error:  # reported below: a dead helper must not look like a slow operator
            errors.append(repr(error))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)
    assert errors == [], "the OLM stand-in failed"


def test_dry_run_writes_nothing(fresh_empty: Sandbox, audit_offset: Callable[[], list[dict[str, Any]]]) -> None:
    result = bootstrap(fresh_empty, "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "would apply: OperatorGroup openshift-gitops-operator, Subscription openshift-gitops-operator" in result.stdout
    )
    assert writes(audit_offset(), "admin") == []


def test_bootstrap_installs_pinned_operators_and_the_applicationset(
    fresh_empty: Sandbox, olm: None, audit_offset: Callable[[], list[dict[str, Any]]]
) -> None:
    first = bootstrap(fresh_empty)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "operators ready after" in first.stdout
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
