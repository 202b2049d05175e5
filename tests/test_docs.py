"""Docs that cannot rot: every make target, script, pytest option, marker, check ID, chart and values
key that docs/*.md and the README name exists; shell blocks parse; relative links resolve."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.catalog import all_checks
from fixtures.charts import discover
from fixtures.markers import SUITE_MARKERS
from tests.conftest import REPO

DOCS = [*sorted((REPO / "docs").glob("*.md")), REPO / "README.md"]
CHECK_ID = re.compile(
    r"(?<![\w.-])(?:preflight|parity|smoke|acceptance|static)(?:\.[a-z0-9]+(?:-[a-z0-9]+)*){2}(?![\w-])"
)
MAKE_TARGET = re.compile(r"\bmake ((?:[a-z][a-z-]*\s*)+)")
SCRIPT = re.compile(r"\bscripts/[\w.-]+")
CHART_PATH = re.compile(r"\bcharts/[\w./-]*[\w/](?![\w./<-])")  # templated paths (values-<env>.yaml) are skipped
VALUES_KEY = re.compile(r"`([a-z][a-z0-9-]*):([A-Za-z][\w.]*)`")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
SHELL_BLOCK = re.compile(r"```(?:bash|sh)\n(.*?)```", re.DOTALL)
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z-]+)")
MARKER_EXPRESSION = re.compile(r"-m\s+(\"[^\"]+\"|'[^']+'|[a-z]+)")


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (REPO / "Makefile").read_text(), re.MULTILINE))


def pytest_options() -> set[str]:
    help_text = subprocess.run(
        [str(REPO / ".venv" / "bin" / "pytest") if (REPO / ".venv").is_dir() else "pytest", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    return set(OPTION.findall(help_text))


def has_key(values: Any, dotted: str) -> bool:
    head, _, rest = dotted.partition(".")
    if isinstance(values, list):
        return any(has_key(item, dotted) for item in values)
    if not isinstance(values, dict) or head not in values:
        return False
    return not rest or has_key(values[head], rest)


def code_fragments(text: str) -> list[str]:
    """Lines of fenced code blocks, and inline code spans of prose lines: where commands are written."""
    fragments, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        fragments += [line] if fenced else re.findall(r"`([^`]+)`", line)
    return fragments


def problems_in(path: Path, options: set[str], targets: set[str]) -> list[str]:
    text = path.read_text()
    checks = {entry.spec.id for entry in all_checks()}
    charts = {chart.name: chart for chart in discover(REPO / "charts")}
    problems = [f"unknown check ID {check_id}" for check_id in sorted(set(CHECK_ID.findall(text)) - checks)]
    for match in MAKE_TARGET.finditer(text):
        target = match.group(1).split()[0]
        if target not in targets:
            problems.append(f"unknown make target {target}")
    problems += [
        f"missing script {script}" for script in sorted(set(SCRIPT.findall(text))) if not (REPO / script).exists()
    ]
    problems += [
        f"missing chart path {name}" for name in sorted(set(CHART_PATH.findall(text))) if not (REPO / name).exists()
    ]
    for chart_name, key in VALUES_KEY.findall(text):
        chart = charts.get(chart_name)
        if chart is None or not any(
            has_key(yaml.safe_load(values.read_text()), key) for values in chart.path.glob("values*.yaml")
        ):
            problems.append(f"unknown values key {chart_name}:{key}")
    for line in code_fragments(text):
        if "pytest" in line:
            problems += [f"unknown pytest option {option}" for option in OPTION.findall(line) if option not in options]
            for expression in MARKER_EXPRESSION.findall(line):
                words = set(re.findall(r"[a-z]+", expression)) - {"or", "and", "not"}
                problems += [f"unknown marker {word}" for word in sorted(words - set(SUITE_MARKERS))]
    for link in LINK.findall(text):
        if not link.startswith(("http://", "https://", "mailto:")) and not (path.parent / link).exists():
            problems.append(f"broken link {link}")
    for number, block in enumerate(SHELL_BLOCK.findall(text), 1):
        parsed = subprocess.run(["bash", "-n"], input=block, capture_output=True, text=True, timeout=10, check=False)
        if parsed.returncode != 0:
            problems.append(f"shell block {number} does not parse: {parsed.stderr.strip()}")
    return problems


@pytest.fixture(scope="module")
def known() -> tuple[set[str], set[str]]:
    return pytest_options(), make_targets()


@pytest.mark.parametrize("doc", DOCS, ids=[doc.name for doc in DOCS])
def test_doc_names_only_what_exists(doc: Path, known: tuple[set[str], set[str]]) -> None:
    assert problems_in(doc, *known) == []


def test_a_made_up_check_id_is_caught(tmp_path: Path, known: tuple[set[str], set[str]]) -> None:
    copy = tmp_path / "docs"
    shutil.copytree(REPO / "docs", copy)
    runbook = copy / "PROD-RUNBOOK.md"
    runbook.write_text(runbook.read_text() + "\n| `preflight.nodes.made-up` | nothing |\n")
    assert "unknown check ID preflight.nodes.made-up" in problems_in(runbook, *known)


def test_the_required_documents_exist() -> None:
    names = {doc.name for doc in DOCS}
    assert {"PROD-RUNBOOK.md", "SECRETS.md", "HARDENING.md", "CENTRAL-ARGO.md", "CHECKS.md", "ARCHITECTURE.md"} <= names
