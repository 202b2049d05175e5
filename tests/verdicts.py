"""Pinning verdicts: every check a scenario runs has its expected verdict, PASS included.

A scenario's expectations name what is not PASS, by check ID (every target of it) or by one
target (`ID[target]`, e.g. `parity.routes.serve-200[svc-api]`). A check that drifts to SKIP or
N/A on a healthy scenario, or stops being collected, fails the self-test; so does a failure
without evidence.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from functools import cache
from typing import Any

from fixtures.catalog import all_checks
from fixtures.reporting import fanout_of
from tests.conftest import REPO

FINDINGS = ("FAIL", "WARN", "NOT-EVALUATED", "N/A", "SKIP", "ERROR")


def key_of(record: dict[str, Any]) -> str:
    return f"{record['id']}[{record['target']}]" if record["target"] else str(record["id"])


def assert_every_verdict(run: Any, expected: dict[str, str], marker: str) -> None:
    """Every check of ``marker`` ran, and each record has its pinned verdict (PASS unless named)."""
    assert run.results, run.output[-3000:]
    ran = {record["id"] for record in run.results}
    wanted = {entry.spec.id for entry in all_checks() if marker in entry.markers and entry.spec.min_envs == 1}
    assert wanted - ran == set(), f"checks that did not run: {sorted(wanted - ran)}\n{run.output[-2000:]}"
    unknown = {key.split("[")[0] for key in expected} - ran
    assert unknown == set(), f"pinned verdicts of checks that did not run: {sorted(unknown)}"
    actual = {key_of(record): record for record in run.results}

    def pinned(key: str, record: dict[str, Any]) -> str:
        return expected.get(key, expected.get(record["id"], "PASS"))

    differences = {
        key: f"{record['verdict']} (pinned {pinned(key, record)}): {record['evidence']}"
        for key, record in actual.items()
        if record["verdict"] != pinned(key, record)
    }
    assert differences == {}, "\n".join(f"{key}: {text}" for key, text in sorted(differences.items()))
    silent = sorted(key for key, record in actual.items() if record["verdict"] in FINDINGS and not record["evidence"])
    assert silent == [], f"findings without evidence: {silent}"


@cache
def parametrisations(marker: str, env: str = "prod") -> frozenset[str]:
    """Every check x target the suite collects for ``marker`` (no cluster: --collect-only)."""
    by_function = {entry.spec.function.replace(":", "::"): entry.spec.id for entry in all_checks()}
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--collect-only",
            "-q",
            "-m",
            marker,
            "--env",
            env,
            "--kubeconfig",
            str(REPO / "tests" / "data" / "unreachable-kubeconfig.yaml"),
            "--rootdir",
            str(REPO),
            "-c",
            str(REPO / "pyproject.toml"),
            str(REPO / "suites"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=REPO,
    )
    keys = set()
    for line in listed.stdout.splitlines():
        if "::" not in line:
            continue
        path, _, function = line.split("[")[0].partition("::")
        # suites/preflight/test_x.py::test_y -> suites.preflight.test_x::test_y, as CheckSpec.function names it
        qualified = f"{path.removesuffix('.py').replace('/', '.')}::{function}"
        if qualified in by_function:
            keys.add(key_of({"id": by_function[qualified], "target": fanout_of(line, env)}))
    assert keys, listed.stdout + listed.stderr
    return frozenset(keys)


def uncovered(marker: str, failing_keys: Iterable[str], proven_ids: Iterable[str] = ()) -> list[str]:
    """Check x target pairs that no case makes FAIL or WARN (a key naming an ID covers all its targets)."""
    covered = set(failing_keys)
    covered_ids = {key for key in covered if "[" not in key} | set(proven_ids)
    return sorted(
        key for key in parametrisations(marker) if key not in covered and key.split("[")[0] not in covered_ids
    )
