"""Invocation: bad options end in one line and exit 4; no cluster is touched before the session."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, RunSuite


def usage_error_line(output: str) -> str:
    errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, output
    assert "Traceback" not in output
    return errors[0]


def test_unknown_env_is_a_usage_error(run_suite: RunSuite) -> None:
    run = run_suite("-m", "preflight", "--env", "staging")
    assert run.exit_code == 4
    line = usage_error_line(run.output)
    assert "unknown env 'staging'" in line
    assert "local, prod" in line


def test_missing_kubeconfig_is_a_usage_error(run_suite: RunSuite, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    run = run_suite("-m", "preflight", "--env", "prod", "--kubeconfig", str(missing), user=None)
    assert run.exit_code == 4
    assert f"--kubeconfig {missing}: no such file" in usage_error_line(run.output)


def test_unloadable_kubeconfig_is_a_usage_error(run_suite: RunSuite, tmp_path: Path) -> None:
    broken = tmp_path / "kubeconfig"
    broken.write_text("apiVersion: v1\nkind: Config\ncontexts: []\nclusters: []\nusers: []\n")
    run = run_suite("-m", "preflight", "--env", "prod", "--kubeconfig", str(broken), user=None)
    assert run.exit_code == 4
    assert "cannot load cluster credentials" in usage_error_line(run.output)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--request-timeout", "soon", "--request-timeout takes a number of seconds > 0"),
        ("--request-timeout", "-1", "--request-timeout takes a number of seconds > 0"),
        ("--base-domain", "not a domain", "is not a DNS domain"),
        ("--min-workers", "0", "--min-workers takes a whole number >= 1"),
        ("--min-workers", "three", "--min-workers takes a whole number >= 1"),
        ("--min-control-plane", "0", "--min-control-plane takes a whole number >= 1"),
        ("--nameserver", "bad:host:port", "--nameserver 'bad:host:port' is not an IP address"),
        ("--nameserver", "dns.example.com", "is not an IP address"),
        ("--nameserver", "127.0.0.1:99999", "is not an IP address"),
        ("--timeout", "-5", "--timeout takes a number of seconds >= 0"),
        ("--writeback-grace", "later", "--writeback-grace takes a number of seconds >= 0"),
        ("--ingress-address", "router", "--ingress-address 'router' is not HOST:PORT"),
        ("--ca-bundle", "/nonexistent/ca.crt", "--ca-bundle /nonexistent/ca.crt: no such file"),
        ("--registry-auth", "/nonexistent/auth.json", "--registry-auth /nonexistent/auth.json: no such file"),
        ("--registry-endpoint", "quay.io", "is not REGISTRY=http(s)://HOST:PORT"),
        ("--git-repo", "/nonexistent/repo.git", "--git-repo /nonexistent/repo.git: neither a git URL"),
        ("--report-dir", "/etc/hostname", "--report-dir /etc/hostname: exists and is not a directory"),
        ("--charts-dir", "/tmp", "--charts-dir /tmp: no argocd-apps/values.yaml there"),
        ("--check", "preflight.no.such-check", "unknown check ID preflight.no.such-check"),
        ("--skip-check", "preflight.no.such-check", "unknown check ID preflight.no.such-check"),
        ("--waivers", "/nonexistent/waivers.yaml", "cannot read waivers"),
        ("--gate-profile", "/nonexistent/gate.yaml", "/nonexistent/gate.yaml"),
        ("--baseline", "/nonexistent/results.json", "cannot read baseline"),
        ("--context", "no-such-context", "cannot load cluster credentials"),
        ("--env-kubeconfig", "prod", "--env-kubeconfig 'prod' is not ENV=VALUE"),
        ("--env-context", "staging=ctx", "--env-context: unknown env 'staging'"),
    ],
)
def test_bad_option_values_are_usage_errors(
    run_suite: RunSuite,
    audit_offset: Callable[[], list[dict[str, Any]]],
    option: str,
    value: str,
    message: str,
) -> None:
    """Each option's bad value is one ERROR line and exit 4 before any check runs, in either spelling, and
    the cluster gets no request (the prefetch starts only once the selection has succeeded)."""
    for spelling in ((option, value), (f"{option}={value}",)):
        run = run_suite("-m", "preflight", "--env", "prod", *spelling)
        assert run.exit_code == 4, run.output[-2000:]
        assert message in usage_error_line(run.output)
        assert "Traceback" not in run.output
    assert [event["requestURI"] for event in audit_offset() if event["user"]["username"] == "admin"] == []


def test_cluster_marker_without_env_is_a_usage_error(run_suite: RunSuite) -> None:
    """A forgotten --env must not read as a green run of skipped checks."""
    run = run_suite("-m", "preflight", user=None)
    assert run.exit_code == 4, run.output
    line = usage_error_line(run.output)
    assert "no --env: pass --env NAME (local, prod)" in line
    assert run.results == []


def test_path_options_work_from_outside_the_checkout(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """`--report-dir DIR` (space form) with DIR elsewhere once made pytest take DIR as the rootdir."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    pytester.chdir()
    # With --charts-dir, then without it: the default charts are this checkout's, whatever the rootdir.
    for charts in (["--charts-dir", str(REPO / "charts")], []):
        result = pytester.runpytest_subprocess(
            *("-p", "no:cacheprovider", "-m", "static", "-k", "values_schema", "--report-dir", str(elsewhere)),
            *charts,
            str(REPO / "suites"),
            timeout=120,
        )
        output = "\n".join(result.outlines + result.errlines)
        assert result.ret == 0, output
        assert "cannot read the environment list" not in output
        assert (elsewhere / "results.json").is_file()


def test_a_path_value_after_a_space_is_refused_not_misread(tmp_path: Path) -> None:
    """From the checkout, `--kubeconfig /elsewhere/config` made pytest take /elsewhere for the rootdir, skip
    pyproject.toml (strict markers, warnings as errors, testpaths) and collect the self-tests: one line instead."""
    kubeconfig = tmp_path / "elsewhere" / "kubeconfig"
    kubeconfig.parent.mkdir()
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-m",
        "static",
        "--kubeconfig",
        str(kubeconfig),
    ]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 4, result.stdout + result.stderr
    line = usage_error_line(result.stdout + result.stderr)
    assert f"write `--kubeconfig={kubeconfig}`" in line
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("content", "entry", "message"),
    [
        ("router: 127.0.0.1:8443\n", "prod={file}", "unknown key router"),
        ("kubeconfig: /nonexistent/kubeconfig\n", "prod={file}", "--env-config /nonexistent/kubeconfig: no such file"),
        ("ingress-address: nowhere\n", "prod={file}", "--ingress-address 'nowhere' is not HOST:PORT"),
        ("- a list\n", "prod={file}", "expected a mapping of kubeconfig, context"),
        ("", "staging={file}", "--env-config: unknown env 'staging'"),
        ("", "prod", "--env-config 'prod' is not ENV=VALUE"),
    ],
    ids=["unknown-key", "missing-kubeconfig", "bad-address", "not-a-mapping", "unknown-env", "no-file"],
)
def test_bad_env_config_is_a_usage_error(
    run_suite: RunSuite, tmp_path: Path, content: str, entry: str, message: str
) -> None:
    config = tmp_path / "prod.yaml"
    config.write_text(content)
    run = run_suite("-m", "preflight", "--env", "prod", "--env-config", entry.format(file=config))
    assert run.exit_code == 4
    assert message in usage_error_line(run.output)


def test_collect_only_needs_no_cluster(run_suite: RunSuite) -> None:
    run = run_suite(
        "--collect-only",
        "-q",
        "-m",
        "preflight",
        "--env",
        "prod",
        "--kubeconfig",
        str(REPO / "tests" / "data" / "unreachable-kubeconfig.yaml"),
        user=None,
    )
    assert run.exit_code == 0, run.output
    assert "test_cluster_admin[prod]" in run.output


def test_help_lists_the_options_without_a_cluster(run_suite: RunSuite) -> None:
    run = run_suite("--help", user=None)
    assert run.exit_code == 0
    for option in (
        "--env=NAME",
        "--kubeconfig=PATH",
        "--context=NAME",
        "--base-domain=DOMAIN",
        "--fail-on-warn",
    ):
        assert option in run.output
