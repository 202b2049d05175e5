"""Invocation: bad options end in one line and exit 4; no cluster is touched before the session."""

from __future__ import annotations

from pathlib import Path

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
    ],
)
def test_bad_option_values_are_usage_errors(run_suite: RunSuite, option: str, value: str, message: str) -> None:
    run = run_suite("-m", "preflight", "--env", "prod", option, value)
    assert run.exit_code == 4
    assert message in usage_error_line(run.output)


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


def test_without_env_cluster_checks_skip_naming_the_option(run_suite: RunSuite) -> None:
    run = run_suite("-m", "preflight", "-rs", user=None)
    assert run.exit_code == 0, run.output
    assert "no --env given: pass --env NAME (local, prod)" in run.output
    assert set(run.ids("SKIP")) >= {"preflight.access.cluster-admin"}


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
