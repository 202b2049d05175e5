"""`pytest --help`, `--collect-only` and `-m static` never import the Kubernetes client (fixtures/kube.py
imports it on first use): a run that reads no cluster does not pay for it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PROBE = """
import sys, pytest
code = pytest.main(sys.argv[1:])
loaded = sorted(name for name in sys.modules if name == "kubernetes" or name.startswith("kubernetes."))
print("KUBERNETES-MODULES", len(loaded), loaded[:3])
"""


def modules_after(*args: str) -> str:
    command = [sys.executable, "-c", PROBE, "-c", str(REPO / "pyproject.toml"), "-p", "no:cacheprovider", *args]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    line = next((line for line in result.stdout.splitlines() if line.startswith("KUBERNETES-MODULES")), "")
    assert line, result.stdout[-2000:] + result.stderr[-2000:]
    return line


@pytest.mark.parametrize(
    "args",
    [("--help",), ("--collect-only", "-q", "suites"), ("-m", "static", "--collect-only", "-q", "suites")],
    ids=["help", "collect-only", "static-collect"],
)
def test_no_kubernetes_client_without_a_cluster(args: tuple[str, ...]) -> None:
    assert modules_after(*args).startswith("KUBERNETES-MODULES 0 "), args


def test_the_probe_would_see_it() -> None:
    """The same probe does see the client once a cluster is configured (so a pass above means something)."""
    assert not modules_after("--collect-only", "-q", "--env", "prod", "suites").startswith("KUBERNETES-MODULES 0 ")
