"""One home for each thing: the option table, the markers, the memo, the YAML reader, and suites that
depend on library types only (never on the plugin)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest
import yaml

from fixtures.checks import CHECK_ID
from fixtures.errors import ConfigurationError
from fixtures.markers import SUITE_MARKERS
from fixtures.memo import Memo
from fixtures.options import ENV_CONFIG_KEYS, OPTIONS, PATH_OPTIONS, render_markdown
from fixtures.yamlfiles import load_mapping
from tests.conftest import REPO, RunSuite

README_TABLE = re.compile(r"<!-- options:begin -->\n(.*?)<!-- options:end -->", re.DOTALL)


def test_readme_option_table_is_the_generated_one() -> None:
    match = README_TABLE.search((REPO / "README.md").read_text())
    assert match, "README.md lacks the <!-- options:begin --> ... <!-- options:end --> markers"
    generated = subprocess.run(
        [sys.executable, "-m", "fixtures.options", "--markdown"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert generated == render_markdown()
    assert match.group(1) == generated, "README's option table is stale: run python -m fixtures.options --markdown"


def test_option_table_rows_are_consistent() -> None:
    flags = [option.flag for option in OPTIONS]
    assert len(flags) == len(set(flags))
    assert len({option.dest for option in OPTIONS}) == len(OPTIONS)
    inis = [option.ini for option in OPTIONS if option.ini]
    assert len(inis) == len(set(inis))
    assert ENV_CONFIG_KEYS[:2] == ("kubeconfig", "context")  # named first in the "expected a mapping" error
    assert "ca-bundle" in ENV_CONFIG_KEYS
    for option in OPTIONS:
        assert option.help, option.flag
        assert not (option.action and option.parse), f"{option.flag}: a switch or a list takes no parser"
    assert {"--kubeconfig", "--report-dir", "--ca-bundle", "--git-repo", "--html", "--junitxml"} <= PATH_OPTIONS


SUITES = sorted((REPO / "suites").rglob("*.py"))


@pytest.mark.parametrize("module", SUITES, ids=[str(path.relative_to(REPO)) for path in SUITES])
def test_suites_import_library_types_not_the_plugin(module: Path) -> None:
    tree = ast.parse(module.read_text())
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [name for name in imported if name and name.startswith("fixtures.plugin")]
    assert not [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module == "fixtures"
        and any(alias.name == "plugin" for alias in node.names)
    ]
    stash_reads = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "stash"]
    if module.name != "conftest.py":
        assert stash_reads == [], f"{module.name} reads config.stash: take the `settings` fixture"


def test_the_catalog_does_not_load_the_plugin() -> None:
    """No runtime cycle plugin -> catalog -> suites -> plugin: the suites load without the plugin."""
    code = "import sys, fixtures.catalog as c; c.all_checks(); print('fixtures.plugin' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert loaded.strip() == "False"


def test_markers_are_declared_once() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "markers" not in pyproject["tool"]["pytest"]["ini_options"], "markers live in fixtures/markers.py"
    assert "sandbox" not in SUITE_MARKERS
    assert CHECK_ID.pattern.startswith("^(" + "|".join(SUITE_MARKERS) + ")")


def test_the_plugin_registers_the_markers(pytester: pytest.Pytester) -> None:
    """--strict-markers knows the suite's markers in any project where the plugin is installed."""
    pytester.makepyfile("import pytest\n\n@pytest.mark.preflight\n@pytest.mark.static\ndef test_marked():\n    pass\n")
    result = pytester.runpytest_subprocess("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    markers = pytester.runpytest_subprocess("--markers", "-p", "no:cacheprovider")
    for name in SUITE_MARKERS:
        markers.stdout.fnmatch_lines([f"@pytest.mark.{name}: *"])
    assert "@pytest.mark.sandbox" not in markers.stdout.str()


def test_memo_computes_each_key_once_even_concurrently() -> None:
    memo: Memo = Memo(remember=(KeyError,))
    calls: list[str] = []
    gate = threading.Barrier(4)

    def compute() -> int:
        calls.append("x")
        return 42

    def ask() -> None:
        gate.wait()
        assert memo.get("x", compute) == 42

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["x"]

    def broken() -> int:
        calls.append("broken")
        raise KeyError("gone")

    for _ in range(2):
        with pytest.raises(KeyError):
            memo.get("broken", broken)
    assert calls.count("broken") == 1  # a remembered error is raised again, not recomputed

    def flaky() -> int:
        calls.append("flaky")
        raise ValueError("once")

    for _ in range(2):
        with pytest.raises(ValueError):
            memo.get("flaky", flaky)
    assert calls.count("flaky") == 2  # an error it was not told to remember is computed again


def test_yaml_reader_checks_keys(tmp_path: Path) -> None:
    path = tmp_path / "file.yaml"
    path.write_text(yaml.safe_dump({"waivers": [], "waiver": []}))
    with pytest.raises(ConfigurationError, match=r"^waivers .*: unknown key waiver$"):
        load_mapping(path, f"waivers {path}", keys=("waivers",))
    path.write_text("- a list\n")
    with pytest.raises(ConfigurationError, match=r": expected a mapping of a, b$"):
        load_mapping(path, keys=("a", "b"))
    path.write_text("")
    assert load_mapping(path) == {}
    with pytest.raises(ConfigurationError, match="expected a mapping"):
        load_mapping(path, required=True)
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_mapping(tmp_path / "missing.yaml")
    path.write_text("a: [\n")
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_mapping(path)


def test_ca_bundle_is_settable_per_env(run_pytest: RunSuite, tmp_path: Path) -> None:
    """Two clusters with different ingress CAs: each env's --env-config names its own bundle."""
    prod_ca, run_wide_ca = tmp_path / "prod-ca.crt", tmp_path / "ca.crt"
    prod_ca.write_text("not read before a route check\n")
    run_wide_ca.write_text("not read before a route check\n")
    config = tmp_path / "prod.yaml"
    config.write_text(yaml.safe_dump({"ca-bundle": str(prod_ca)}))
    kubeconfig = str(REPO / "tests" / "data" / "unreachable-kubeconfig.yaml")
    run = run_pytest(
        "--collect-only",
        "-m",
        "parity",
        "--env",
        "local",
        "--env",
        "prod",
        "--kubeconfig",
        kubeconfig,
        "--ca-bundle",
        str(run_wide_ca),
        "--env-config",
        f"prod={config}",
    )
    assert run.exit_code == 0, run.output
    assert f"env prod probes: route TLS verified with {prod_ca}" in run.output
    assert f"env local probes: route TLS verified with {run_wide_ca}" in run.output


def test_a_missing_per_env_ca_bundle_is_a_usage_error(run_pytest: RunSuite, tmp_path: Path) -> None:
    config = tmp_path / "prod.yaml"
    config.write_text("ca-bundle: /nonexistent/prod-ca.crt\n")
    kubeconfig = str(REPO / "tests" / "data" / "unreachable-kubeconfig.yaml")
    run = run_pytest(
        "--collect-only", "-m", "parity", "--env", "prod", "--kubeconfig", kubeconfig, "--env-config", f"prod={config}"
    )
    assert run.exit_code == 4, run.output
    assert "--env-config ca-bundle /nonexistent/prod-ca.crt: no such file" in run.output


def test_architecture_lists_every_library_module() -> None:
    text = (REPO / "docs" / "ARCHITECTURE.md").read_text()
    layout = text[text.index("## Layout") : text.index("## The check model")]
    modules = sorted(path.name for path in (REPO / "fixtures").glob("*.py") if path.name != "__init__.py")
    missing = [name for name in modules if not re.search(rf"^\s+{re.escape(name)}\s", layout, re.MULTILINE)]
    assert missing == [], f"docs/ARCHITECTURE.md's layout lacks {', '.join(missing)}"
