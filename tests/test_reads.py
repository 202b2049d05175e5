"""fixtures/reads.py, the table of what each check reads, held to what the checks actually read; and the
prefetch it drives, which must change neither a request nor a verdict (only when they are sent)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from fixtures.catalog import all_checks
from fixtures.cluster import TRACE_READS_ENV, Cluster
from fixtures.conventions import REQUIRED_SECRETS
from fixtures.kube import KubeTransport, Target
from fixtures.operators import OPERATOR_PACKAGES
from fixtures.reads import DERIVED_READS, DERIVED_REVIEWS, NO_PREFETCH_ENV, READS, SESSION_READS
from fixtures.sandbox import Sandbox
from tests.conftest import RunSuite

ALL = ("-m", "preflight or parity or smoke", "--env", "prod")
# Reads named from values or other objects: lazy by design, never in the table (discovery is
# every list's first step, not a read of its own).
LAZY = ("read", "discovery")


def frozen(value: Any) -> Any:
    """A JSON value with every list made a tuple, as the cache keys are."""
    return tuple(frozen(item) for item in value) if isinstance(value, list) else value


def traced_reads(trace: Path) -> dict[str, set[tuple[Any, ...]]]:
    """Check ID (or "<session>") -> the table-worthy reads it made, from a $BITIQ_TRACE_READS file."""
    by_function = {entry.spec.function: entry.spec.id for entry in all_checks()}
    reads: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
    for line in trace.read_text().splitlines():
        entry = json.loads(line)
        key = frozen(entry["read"])
        if key[0] in LAZY:
            continue
        if not entry["test"]:
            reads["<session>"].add(key)
            continue
        path, function = entry["test"].split("::")[0], entry["test"].split("::")[-1].split("[")[0]
        check_id = by_function[f"{path.removesuffix('.py').replace('/', '.')}:{function}"]
        if key[0] == "subject_can" and check_id in DERIVED_REVIEWS:
            continue
        reads[check_id].add(key)
    return reads


def test_table_names_only_known_checks() -> None:
    known = {entry.spec.id for entry in all_checks()}
    assert sorted(set(READS) - known) == []


def test_table_is_what_the_checks_read(run_suite: RunSuite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trace = tmp_path / "reads.jsonl"
    monkeypatch.setenv(TRACE_READS_ENV, str(trace))
    run = run_suite(*ALL, user="reader", scenario="healthy-prod")
    assert run.results, run.output[-3000:]
    traced = traced_reads(trace)
    assert traced.pop("<session>") == set(SESSION_READS)
    ran = {record["id"] for record in run.results}
    # Exact both ways: a read missing from the table waits its turn; one too many is a request more.
    table = {check_id: set(READS.get(check_id, ())) for check_id in ran}
    assert {check_id: traced.get(check_id, set()) for check_id in ran} == table


def reader_requests(events: list[dict[str, Any]]) -> Counter[str]:
    return Counter(f"{e['verb']} {e['requestURI']}" for e in events if e["user"]["username"] == "reader")


def test_prefetch_changes_no_request_and_no_verdict(
    run_suite: RunSuite,
    audit_offset: Callable[[], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(NO_PREFETCH_ENV, "1")
    lazy = run_suite(*ALL, user="reader", scenario="healthy-prod")
    mark = len(audit_offset())
    monkeypatch.delenv(NO_PREFETCH_ENV)
    prefetched = run_suite(*ALL, user="reader", scenario="healthy-prod")
    events = audit_offset()
    assert lazy.verdicts() == prefetched.verdicts()
    assert reader_requests(events[:mark]) == reader_requests(events[mark:])


# The parameters each check with derived reads runs with (fixtures/reads.py DERIVED_READS).
DERIVED_PARAMS: dict[str, list[dict[str, Any]]] = {
    "preflight.secrets.present": [{"secret": secret} for secret in REQUIRED_SECRETS],
    "parity.secrets.present": [{"secret": secret} for secret in REQUIRED_SECRETS],
    "preflight.operators.subscription-healthy": [{"package": package} for package in OPERATOR_PACKAGES],
    "parity.operators.installed": [{"package": package} for package in OPERATOR_PACKAGES],
    "preflight.operators.package-available": [{"package": package} for package in OPERATOR_PACKAGES],
    "parity.imageupdater.git-credentials": [{"env": SimpleNamespace(name="prod")}],
}


def test_derived_reads_are_the_gets_the_checks_make(
    run_suite: RunSuite, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each derivation gives exactly the GETs its check then makes: never one more (a request the run
    would not have sent), and on the healthy scenario none fewer (each is prefetched)."""
    assert set(DERIVED_PARAMS) == set(DERIVED_READS)
    trace = tmp_path / "reads.jsonl"
    monkeypatch.setenv(TRACE_READS_ENV, str(trace))
    run_suite(*ALL, user="reader", scenario="healthy-prod")
    by_function = {entry.spec.function: entry.spec.id for entry in all_checks()}
    traced: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
    for line in trace.read_text().splitlines():
        entry = json.loads(line)
        if entry["read"][0] != "read" or not entry["test"]:
            continue
        path, function = entry["test"].split("::")[0], entry["test"].split("::")[-1].split("[")[0]
        check_id = by_function[f"{path.removesuffix('.py').replace('/', '.')}:{function}"]
        if check_id in DERIVED_READS:
            traced[check_id].add(frozen(entry["read"]))
    with KubeTransport(Target(kubeconfig=str(sandbox.kubeconfig("reader")))) as transport:
        cluster = Cluster(transport)
        for after, _ in DERIVED_READS.values():
            if after is not None:
                cluster.list_kind(*after[1:])  # what the prefetch holds when a derivation runs
        derived = {
            check_id: {tuple(read) for params in DERIVED_PARAMS[check_id] for read in derive(cluster, params)}
            for check_id, (_, derive) in DERIVED_READS.items()
        }
    assert derived == dict(traced)
