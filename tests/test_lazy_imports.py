"""`pytest --help`, `--collect-only` and `-m static` import none of the libraries only some checks need
(dnspython, requests): they load on first use. No run imports the Kubernetes client: credentials
are read by fixtures/kubeconfig.py, requests sent with urllib3 (a sixth of a remote run's wall time)."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PROBE = """
import sys, pytest
code = pytest.main(sys.argv[1:])
heavy = ("kubernetes", "dns", "requests")
loaded = sorted({name.split(".")[0] for name in sys.modules} & set(heavy))
print("HEAVY-MODULES", len(loaded), loaded)
"""


def modules_after(*args: str) -> str:
    command = [sys.executable, "-c", PROBE, "-c", str(REPO / "pyproject.toml"), "-p", "no:cacheprovider", *args]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    line = next((line for line in result.stdout.splitlines() if line.startswith("HEAVY-MODULES")), "")
    assert line, result.stdout[-2000:] + result.stderr[-2000:]
    return line


@pytest.mark.parametrize(
    "args",
    [("--help",), ("--collect-only", "-q", "suites"), ("-m", "static", "--collect-only", "-q", "suites")],
    ids=["help", "collect-only", "static-collect"],
)
def test_no_heavy_import_without_a_check_that_needs_it(args: tuple[str, ...]) -> None:
    assert modules_after(*args).startswith("HEAVY-MODULES 0 "), args


def test_the_probe_would_see_it(tmp_path: Path) -> None:
    """The same probe sees dnspython once a test imports it (so a pass above means something)."""
    (tmp_path / "test_resolves.py").write_text("import dns.resolver\n\n\ndef test_resolves():\n    pass\n")
    line = modules_after("--rootdir", str(tmp_path), str(tmp_path / "test_resolves.py"))
    assert line.startswith("HEAVY-MODULES 1 "), line
    assert "dns" in line, line


def test_no_dependency_on_the_kubernetes_client() -> None:
    requirements = importlib.metadata.requires("bitiq-conformance") or []
    names = {re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower() for requirement in requirements}
    assert "kubernetes" not in names
    assert "urllib3" in names
