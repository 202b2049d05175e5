"""Self-test fixtures: one real sandbox per test session, and a runner that drives the suite."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from fixtures.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[1]
VERIFIED_COMPATIBILITY = REPO / "tests" / "data" / "compatibility-verified.yaml"
RESULTS_SCHEMA = json.loads((REPO / "docs" / "results.schema.json").read_text())
SUITE_RUN_TIMEOUT = 180  # seconds; a run that hangs fails the self-test instead of blocking CI


@dataclass
class SuiteRun:
    """One run of the suite as a user would start it, with what it printed and recorded."""

    exit_code: int
    output: str
    results: list[dict[str, Any]] = field(default_factory=list)
    document: dict[str, Any] = field(default_factory=dict)
    gate: dict[str, Any] | None = None

    def verdicts(self, env: str | None = None) -> dict[str, str]:
        return {r["id"]: r["verdict"] for r in self.results if env is None or r["env"] == env}

    def ids(self, verdict: str) -> set[str]:
        return {r["id"] for r in self.results if r["verdict"] == verdict}

    def record(self, check_id: str) -> dict[str, Any]:
        matching = [r for r in self.results if r["id"] == check_id]
        assert len(matching) == 1, f"expected one record of {check_id}, got {matching}"
        return matching[0]


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    instance = Sandbox(tmp_path_factory.mktemp("sandbox"))
    instance.up("empty")
    try:
        yield instance
    finally:
        instance.down()


@pytest.fixture(scope="session")
def sandbox_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A second cluster, for checks across envs: ENV=local, healthy."""
    instance = Sandbox(tmp_path_factory.mktemp("sandbox-local"))
    instance.up("healthy-local")
    try:
        yield instance
    finally:
        instance.down()


RunSuite = Callable[..., SuiteRun]


@pytest.fixture
def run_pytest(pytester: pytest.Pytester) -> RunSuite:
    """Runs ``pytest <args>`` on the real suites in a subprocess; no cluster is involved."""

    def run(*args: str) -> SuiteRun:
        report_dir = pytester.path / "reports"
        command = ["-c", str(REPO / "pyproject.toml"), "--rootdir", str(REPO), "-p", "no:cacheprovider"]
        command += ["--report-dir", str(report_dir)]
        if not any(arg.startswith("--compatibility") for arg in args):
            # The pinned channels' rows are unverified in the shipped table (a WARN on every healthy
            # cluster); the scenarios are judged against a table whose pinned rows were confirmed.
            command += ["--compatibility", str(VERIFIED_COMPATIBILITY)]
        # Paths are given relative to the repository, as a user in its checkout would type them.
        resolved = [str(REPO / arg) if arg.startswith("suites") else arg for arg in args]
        if not any(arg.startswith(str(REPO / "suites")) for arg in resolved):
            resolved.append(str(REPO / "suites"))
        result = pytester.runpytest_subprocess(*command, *resolved, timeout=SUITE_RUN_TIMEOUT)
        output = "\n".join(result.outlines + result.errlines)
        results_file = report_dir / "results.json"
        document = json.loads(results_file.read_text()) if results_file.exists() else {}
        if document:
            # Every report any self-test produces is held to the published schema.
            jsonschema.validate(document, RESULTS_SCHEMA)
        gate_file = report_dir / "gate.json"
        gate = json.loads(gate_file.read_text()) if gate_file.exists() else None
        return SuiteRun(int(result.ret), output, document.get("results", []), document, gate)

    return run


@pytest.fixture
def run_suite(run_pytest: RunSuite, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> RunSuite:
    """Runs the suite against the sandbox as ``user``, after loading ``scenario`` when given.

    Like a user who followed `python -m fixtures.sandbox env`, the run gets BASE_DOMAIN and
    BITIQ_NAMESERVER from the sandbox unless ``base_domain=False``.
    """

    def run(*args: str, user: str | None = "admin", scenario: str | None = None, base_domain: bool = True) -> SuiteRun:
        if scenario is not None:
            sandbox.use(scenario)
        for variable, value in sandbox.exports(user or "admin").items():
            if variable != "KUBECONFIG":
                monkeypatch.setenv(variable, value)
        for variable in ("BITIQ_INGRESS_ADDRESS", "BITIQ_REGISTRY_ENDPOINT", "BITIQ_REGISTRY_AUTH", "BITIQ_GIT_REPO"):
            if variable not in sandbox.exports(user or "admin"):
                monkeypatch.delenv(variable, raising=False)
        if not base_domain:
            monkeypatch.delenv("BASE_DOMAIN", raising=False)
        kubeconfig = ["--kubeconfig", str(sandbox.kubeconfig(user))] if user is not None else []
        return run_pytest(*kubeconfig, *args)

    return run


@pytest.fixture
def audit_offset(sandbox: Sandbox) -> Callable[[], list[dict[str, Any]]]:
    """Returns a function giving the audit events written since this fixture was set up."""
    start = sandbox.audit_log.stat().st_size if sandbox.audit_log.exists() else 0

    def events_since() -> list[dict[str, Any]]:
        with sandbox.audit_log.open("rb") as handle:
            handle.seek(start)
            return [json.loads(line) for line in handle.read().splitlines() if line.strip()]

    return events_since


@pytest.fixture(autouse=True)
def _no_ambient_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keeps the developer's own cluster out of the self-tests: only the sandbox is targeted."""
    for variable in (
        "KUBECONFIG",
        "BASE_DOMAIN",
        "PYTEST_ADDOPTS",
        "PYTHONTRACEMALLOC",
        "BITIQ_NAMESERVER",
        "BITIQ_INGRESS_ADDRESS",
        "BITIQ_REGISTRY_ENDPOINT",
        "BITIQ_REGISTRY_AUTH",
        "BITIQ_GIT_REPO",
    ):
        monkeypatch.delenv(variable, raising=False)


def write_waivers(path: Path, expires: str, check: str = "parity.gitops.umbrella-healthy") -> Path:
    waivers = path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n"
        f"  - check: {check}\n    env: prod\n    reason: umbrella degraded during the database move\n"
        f"    issue: https://github.com/bitiq-io/gitops/issues/42\n    expires: {expires}\n"
    )
    return waivers


TESTS_DIR = Path(__file__).resolve().parent


def is_self_test(item: pytest.Item) -> bool:
    """pytest also loads this conftest for a run of the suite started in the checkout (it reads the
    conftest of every `test*` directory beside the invocation directory): what it adds is for the
    self-tests only, never for the checks a user runs."""
    return TESTS_DIR in Path(str(item.path)).resolve().parents


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Objects a self-test drops are collected before the next test starts, so that anything left
    unclosed is reported against the test that left it, not whichever test the collector ran in."""
    yield
    if is_self_test(request.node):
        gc.collect()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The self-test process itself: an object it leaves to the garbage collector (an SSL socket was seen,
    # intermittently, and never reproduced under tracemalloc) is listed in the warnings summary with the
    # test that left it, instead of failing the run. The suite runs the self-tests start keep every
    # warning an error (pyproject's filterwarnings), so a leak in the suite's own code still fails.
    for item in items:
        if is_self_test(item):
            item.add_marker(pytest.mark.filterwarnings("always::pytest.PytestUnraisableExceptionWarning"))
