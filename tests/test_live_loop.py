"""The live GitOps loop: real Argo CD v3.1.9 reconciles the charts into the sandbox (fixtures/sandbox/live.py).

One live-prod sandbox for the module. Bootstrap installs the ApplicationSet against it; the real
controllers generate bitiq-umbrella-prod and sync the nested apps from the sandbox's git repository.
Then chart changes are pushed to that repository, as a maintainer would, and the suite judges what
Argo CD itself reports. Skipped only when the live tools are not installed (`make tools system-deps`
installs them; CI does).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.sandbox import Sandbox, live

REPO = Path(__file__).resolve().parents[1]
ARGO = "/apis/argoproj.io/v1alpha1/namespaces/openshift-gitops/applications"
UMBRELLA = "bitiq-umbrella-prod"
SAMPLE_APP = "bitiq-sample-app-prod"
BOOTSTRAP_TIMEOUT = 200  # seconds the first bootstrap may wait for acceptance
RUN_TIMEOUT = 240
CONVERGE_SECONDS = 90.0

missing = live.installed()
pytestmark = pytest.mark.skipif(
    bool(missing), reason=f"live loop tools not installed ({', '.join(missing)}): run `make tools system-deps`"
)


class Live:
    """The module's live sandbox, with a working clone of its git repository."""

    def __init__(self, sandbox: Sandbox, work: Path) -> None:
        self.sandbox = sandbox
        self.work = work
        self.bare = sandbox.state_dir / "git" / "gitops.git"
        self.reports = work.parent / "reports"

    def environment(self) -> dict[str, str]:
        exports = self.sandbox.exports("admin")
        return {
            **{key: value for key, value in os.environ.items() if not key.startswith(("KUBE", "BITIQ_"))},
            **{key: value for key, value in exports.items() if key != "KUBECONFIG"},
            "HOME": str(self.sandbox.state_dir),
        }

    def bootstrap(self, *args: str, timeout: float = BOOTSTRAP_TIMEOUT) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "fixtures.bootstrap", "--env", "prod", "--skip-preflight"]
        command += ["--kubeconfig", str(self.sandbox.kubeconfig("admin")), "--base-domain", self.sandbox.domain]
        command += ["--report-dir", str(self.reports), "--acceptance-timeout", str(timeout), *args]
        return subprocess.run(
            command,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout + RUN_TIMEOUT,
            check=False,
            env=self.environment(),
        )

    def suite(self, *args: str) -> tuple[int, str, dict[str, dict[str, Any]]]:
        """Runs the suite as a user would; returns exit code, output and the records by check ID[target]."""
        report_dir = self.work.parent / "suite-reports"
        shutil.rmtree(report_dir, ignore_errors=True)
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c", str(REPO / "pyproject.toml")]
        command += ["--rootdir", str(REPO), "--report-dir", str(report_dir), "--env", "prod"]
        command += ["--kubeconfig", str(self.sandbox.kubeconfig("admin")), *args, str(REPO / "suites")]
        completed = subprocess.run(
            command, cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False, env=self.environment()
        )
        results_file = report_dir / "results.json"
        records: dict[str, dict[str, Any]] = {}
        if results_file.exists():
            for record in json.loads(results_file.read_text()).get("results") or []:
                key = record["id"] + (f"[{record['target']}]" if record.get("target") else "")
                records[key] = record
        return completed.returncode, completed.stdout + completed.stderr, records

    def app(self, name: str) -> dict[str, Any]:
        with self.sandbox.admin_transport() as transport:
            answer: dict[str, Any] = transport.request("GET", f"{ARGO}/{name}")
        return answer

    def refresh(self, name: str) -> None:
        """What a git webhook does: ask Argo CD to look at the repository again now."""
        with self.sandbox.admin_transport() as transport:
            transport.request(
                "PATCH",
                f"{ARGO}/{name}",
                body={"metadata": {"annotations": {"argocd.argoproj.io/refresh": "hard"}}},
                content_type="application/merge-patch+json",
            )

    def git(self, *args: str) -> str:
        environment = {
            **os.environ,
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_AUTHOR_NAME": "bitiq maintainer",
            "GIT_AUTHOR_EMAIL": "maintainer@bitiq.invalid",
            "GIT_COMMITTER_NAME": "bitiq maintainer",
            "GIT_COMMITTER_EMAIL": "maintainer@bitiq.invalid",
        }
        completed = subprocess.run(
            ["git", *args], cwd=self.work, capture_output=True, text=True, check=True, env=environment, timeout=30
        )
        return completed.stdout.strip()

    def push(self, message: str, edits: dict[str, tuple[str, str]]) -> str:
        """Commits ``edits`` (path -> (old, new) text) and pushes to the sandbox's repository; returns the commit."""
        self.git("pull", "--quiet", "--ff-only", "origin", "main")
        for path, (old, new) in edits.items():
            file = self.work / path
            text = file.read_text()
            assert old in text, f"{old!r} not in {path}"
            file.write_text(text.replace(old, new, 1))
        self.git("commit", "--quiet", "--all", "-m", message)
        self.git("push", "--quiet", "origin", "main")
        return self.git("rev-parse", "HEAD")

    def wait_app(self, name: str, done: Any, what: str, timeout: float = CONVERGE_SECONDS) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        app: dict[str, Any] = {}
        refreshed = 0.0
        while time.monotonic() < deadline:
            if time.monotonic() - refreshed > 20:
                self.refresh(name)
                refreshed = time.monotonic()
            app = self.app(name)
            if done(app):
                return app
            time.sleep(1)
        status = app.get("status") or {}
        seen = {key: status.get(key) for key in ("sync", "health", "conditions", "operationState")}
        pytest.fail(f"{name}: {what} not seen within {timeout:g} s; status: {json.dumps(seen)[:3000]}")


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    base = tmp_path_factory.mktemp("live")
    sandbox = Sandbox(base / "sandbox")
    started = time.monotonic()
    sandbox.up("live-prod")
    try:
        work = base / "work"
        subprocess.run(
            ["git", "clone", "--quiet", str(sandbox.state_dir / "git" / "gitops.git"), str(work)],
            check=True,
            capture_output=True,
            timeout=30,
            env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull},
        )
        state = Live(sandbox, work)
        state.started = started  # type: ignore[attr-defined]
        yield state
    finally:
        sandbox.down()


@pytest.fixture(scope="module")
def bootstrapped(loop: Live) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = loop.bootstrap()
    return result, time.monotonic() - started


def test_bootstrap_reaches_acceptance_with_argo_cds_own_status(
    loop: Live, bootstrapped: tuple[subprocess.CompletedProcess[str], float]
) -> None:
    result, seconds = bootstrapped
    assert result.returncode == 0, result.stdout + result.stderr
    assert "acceptance passed" in result.stdout
    umbrella = loop.app(UMBRELLA)
    assert umbrella["status"]["health"]["status"] == "Healthy"
    assert umbrella["status"]["sync"]["status"] == "Synced"
    # The status is Argo CD's: its application controller wrote it (managedFields), not the sandbox.
    managers = {entry.get("manager") for entry in umbrella["metadata"].get("managedFields") or []}
    assert "argocd-application-controller" in managers, managers
    assert umbrella["spec"]["source"]["repoURL"] == live.repo_url(loop.sandbox.state_dir)
    print(f"live-prod: up to bootstrap done in {time.monotonic() - loop.started:.0f} s; bootstrap {seconds:.0f} s")  # type: ignore[attr-defined]


def test_acceptance_passes_on_the_live_loop(loop: Live, bootstrapped: Any) -> None:
    code, output, records = loop.suite("-m", "acceptance", "--timeout", "300")
    assert code == 0, output[-4000:]
    assert records["parity.gitops.umbrella-healthy"]["verdict"] == "PASS"
    status = loop.sandbox.status()["live"]
    assert status, "the live sandbox's status names no live parts"
    assert "argocd-application-controller" in status["live"], status


def test_a_pushed_chart_change_is_synced_and_parity_sees_it(loop: Live, bootstrapped: Any) -> None:
    revision = loop.push(
        "feat: three replicas in prod", {"charts/bitiq-sample-app/values-prod.yaml": ("replicas: 2\n", "replicas: 3\n")}
    )
    loop.wait_app(
        SAMPLE_APP,
        lambda app: (
            (app.get("status") or {}).get("sync", {}).get("revision") == revision
            and (app.get("status") or {}).get("sync", {}).get("status") == "Synced"
            and (app.get("status") or {}).get("health", {}).get("status") == "Healthy"
        ),
        f"sync of {revision[:7]}",
    )
    _, output, records = loop.suite("-m", "parity", "--check", "parity.gitops.nested-apps-healthy")
    record = records["parity.gitops.nested-apps-healthy[bitiq-sample-app]"]
    assert record["verdict"] == "PASS", output[-3000:]
    assert revision[:7] in record["evidence"]
    with loop.sandbox.admin_transport() as transport:
        deployments = transport.request("GET", "/apis/apps/v1/namespaces/bitiq-prod/deployments")["items"]
    # kube-controller-manager and kwok made the new replicas real: Available as Argo CD's health judged.
    assert {d["spec"]["replicas"] for d in deployments} == {3}
    assert {d["status"].get("availableReplicas") for d in deployments} == {3}


def _condition(app: dict[str, Any], kind: str) -> str | None:
    for condition in (app.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return str(condition.get("message", ""))
    return None


def test_a_template_error_is_argo_cds_comparison_error_and_bootstrap_names_the_failing_check(
    loop: Live, bootstrapped: Any
) -> None:
    broken = loop.push(
        "chore: a template error in the umbrella",
        {
            "charts/bitiq-umbrella/templates/namespace.yaml": (
                "{{- if .Values.namespace.create }}",
                '{{- required "bitiq-live-test: values.broken is required" .Values.broken }}\n'
                "{{- if .Values.namespace.create }}",
            )
        },
    )
    app = loop.wait_app(UMBRELLA, lambda app: _condition(app, "ComparisonError") is not None, "a ComparisonError")
    message = str(_condition(app, "ComparisonError"))
    assert "bitiq-live-test: values.broken is required" in message, message
    code, output, records = loop.suite("-m", "acceptance", "--check", "parity.gitops.umbrella-healthy")
    record = records["parity.gitops.umbrella-healthy"]
    assert code == 1, output[-3000:]
    assert record["verdict"] == "FAIL", output[-3000:]
    # The evidence is Argo CD's own condition, as its controller wrote it.
    assert "ComparisonError: " + message[:60] in record["evidence"], record["evidence"]
    # ... with helm's own error, which ends Argo CD's long message, kept.
    assert "bitiq-live-test: values.broken is required" in record["evidence"], record["evidence"]

    result = loop.bootstrap(timeout=8)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "acceptance did not pass within 8 s" in result.stderr, result.stderr
    assert "parity.gitops.umbrella-healthy" in result.stdout, result.stdout[-3000:]

    loop.git("revert", "--no-edit", broken)
    loop.git("push", "--quiet", "origin", "main")
    fixed = loop.git("rev-parse", "HEAD")
    loop.wait_app(
        UMBRELLA,
        lambda app: (
            (app.get("status") or {}).get("sync", {}).get("revision") == fixed
            and (app.get("status") or {}).get("sync", {}).get("status") == "Synced"
            and _condition(app, "ComparisonError") is None
        ),
        f"recovery at {fixed[:7]}",
    )


def test_a_namespace_without_the_managed_by_label_fails_the_sync_with_argo_cds_forbidden(
    loop: Live, bootstrapped: Any
) -> None:
    unlabelled = loop.push(
        "chore: bitiq-prod no longer managed by openshift-gitops",
        {
            "charts/bitiq-umbrella/templates/namespace.yaml": (
                "    argocd.argoproj.io/managed-by: {{ .Values.argocdNamespace }}\n",
                "",
            )
        },
    )
    loop.wait_app(
        UMBRELLA,
        lambda app: (
            (app.get("status") or {}).get("sync", {}).get("revision") == unlabelled
            and (app.get("status") or {}).get("sync", {}).get("status") == "Synced"
        ),
        f"sync of {unlabelled[:7]}",
    )
    deadline = time.monotonic() + 30
    with loop.sandbox.admin_transport() as transport:
        while time.monotonic() < deadline:  # the operator's stand-in takes its Role back
            roles = transport.request("GET", "/apis/rbac.authorization.k8s.io/v1/namespaces/bitiq-prod/roles")
            names = {role["metadata"]["name"] for role in roles["items"]}
            if "openshift-gitops-argocd-application-controller" not in names:
                break
            time.sleep(0.5)
        else:
            pytest.fail("the controller's Role in bitiq-prod outlived the managed-by label")
    change = loop.push(
        "feat: four replicas in prod", {"charts/bitiq-sample-app/values-prod.yaml": ("replicas: ", "replicas: 4 #")}
    )

    def forbidden_sync_of_change(app: dict[str, Any]) -> bool:
        # Argo CD v3 retries an automated sync (limit 5, backoff): the phase stays Running while it does,
        # and the message carries the API server's answer to the last attempt.
        operation = (app.get("status") or {}).get("operationState") or {}
        revision = ((operation.get("operation") or {}).get("sync") or {}).get("revision")
        return "is forbidden" in str(operation.get("message", "")) and revision == change

    app = loop.wait_app(SAMPLE_APP, forbidden_sync_of_change, f"the forbidden sync of {change[:7]}")
    message = app["status"]["operationState"]["message"]
    assert "is forbidden" in message, message
    assert "openshift-gitops-argocd-application-controller" in message, message
    _, output, records = loop.suite(
        "-m", "parity", "--check", "parity.gitops.nested-apps-healthy", "--check", "parity.platform.argocd-may-deploy"
    )
    nested = records["parity.gitops.nested-apps-healthy[bitiq-sample-app]"]
    assert nested["verdict"] == "FAIL", output[-3000:]
    # While Argo CD retries, the evidence carries the last attempt's message: the API server's forbidden.
    assert "is forbidden" in nested["evidence"], nested["evidence"]
    # ... and the suite says why: the controller may not write there.
    may_deploy = records["parity.platform.argocd-may-deploy"]
    assert may_deploy["verdict"] == "FAIL", may_deploy["evidence"]
    assert "bitiq-prod" in may_deploy["evidence"], may_deploy["evidence"]


def _processes_mentioning(marker: str) -> list[str]:
    """Live (not zombie) processes whose command line mentions ``marker``; PID 1 here reaps no orphans."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or entry.name == str(os.getpid()):
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if marker in cmdline and state not in ("Z", "X"):
            found.append(cmdline[:200])
    return found


def test_down_stops_every_process_of_the_loop(loop: Live) -> None:
    marker = str(loop.sandbox.state_dir) + "/"
    running = _processes_mentioning(marker)
    assert any("argocd-application-controller" in line for line in running), running
    loop.sandbox.down()
    assert _processes_mentioning(marker) == []
    assert all(state == "stopped" for state in (loop.sandbox.status()["live"] or {}).get("processes", {}).values())
