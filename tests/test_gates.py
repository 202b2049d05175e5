"""The gate as data: gate profiles (gates/*.yaml) and baselines, run against the sandbox."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.catalog import all_checks
from tests.conftest import REPO, RunSuite, write_waivers

UMBRELLA = "parity.gitops.umbrella-healthy"


def gate_of(pytester: pytest.Pytester) -> dict[str, Any]:
    return json.loads((pytester.path / "reports" / "gate.json").read_text())  # type: ignore[no-any-return]


def write_profile(directory: Path, body: str, name: str = "release") -> Path:
    profile = directory / f"{name}.yaml"
    profile.write_text(body)
    return profile


def test_the_prod_profile_runs_its_markers_on_its_env(run_suite: RunSuite, pytester: pytest.Pytester) -> None:
    run = run_suite("--gate-profile", str(REPO / "gates" / "prod.yaml"), scenario="healthy-prod")
    assert run.exit_code == 0, run.output[-3000:]
    assert {record["env"] for record in run.results} == {"prod"}
    assert all("acceptance" in record["markers"] for record in run.results)
    gate = gate_of(pytester)
    assert (gate["verdict"], gate["profile"], gate["strict"]) == ("pass", "prod", True)
    assert "gate [profile prod]: pass" in run.output
    assert run.document["gate_profile"] == "prod"


def test_every_shipped_profile_is_valid(run_suite: RunSuite) -> None:
    """Each profile collects every mandatory check it names (exit 0, never an empty selection)."""
    functions = {entry.spec.id: entry.spec.function.split(":")[1] for entry in all_checks()}
    profiles = sorted((REPO / "gates").glob("*.yaml"))
    assert profiles
    for profile in profiles:
        run = run_suite("--gate-profile", str(profile), "--collect-only", "-q")
        assert run.exit_code == 0, f"{profile.name}: {run.output[-2000:]}"
        collected = [line for line in run.output.splitlines() if "::" in line]
        mandatory = yaml.safe_load(profile.read_text()).get("mandatory") or []
        missing = [
            check_id
            for check_id in mandatory
            if not any(f"::{functions[check_id]}[" in c or c.endswith(f"::{functions[check_id]}") for c in collected)
        ]
        assert collected, f"{profile.name} collects nothing"
        assert missing == [], f"{profile.name} does not collect {missing}"


def test_a_profile_naming_an_unknown_check_is_a_usage_error(run_suite: RunSuite, tmp_path: Path) -> None:
    profile = write_profile(tmp_path, "env: prod\nmarkers: acceptance\nmandatory: [parity.gitops.made-up]\n")
    run = run_suite("--gate-profile", str(profile))
    assert run.exit_code == 4
    assert "gate profile release names unknown check ID parity.gitops.made-up" in run.output
    assert "Traceback" not in run.output


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("env: prod\nmarkers: smoke\nmandatory: [parity.routes.dns]\n", "never runs under -m 'smoke'"),
        ("env: prod\nmarkers: acceptance and (\n", "markers 'acceptance and ('"),
        ("env: prod\nfail_on: sometimes\n", "fail_on must be one of any, new"),
        ("env: prod\nmandatory: [parity.routes.dns]\noptional: [parity.routes.dns]\n", "both mandatory and optional"),
        ("env: prod\nrequired: []\n", "unknown key required"),
        ("env: staging\n", "unknown env 'staging'"),
    ],
    ids=["mandatory-outside-markers", "bad-expression", "bad-fail-on", "both", "unknown-key", "unknown-env"],
)
def test_a_malformed_profile_is_a_usage_error(run_suite: RunSuite, tmp_path: Path, body: str, message: str) -> None:
    run = run_suite("--gate-profile", str(write_profile(tmp_path, body)))
    assert run.exit_code == 4, run.output[-2000:]
    assert message in run.output
    assert "Traceback" not in run.output


def test_a_contradicting_marker_or_env_is_a_usage_error(run_suite: RunSuite) -> None:
    profile = str(REPO / "gates" / "prod.yaml")
    run = run_suite("--gate-profile", profile, "-m", "smoke")
    assert run.exit_code == 4
    assert "-m 'smoke' contradicts gate profile prod" in run.output
    run = run_suite("--gate-profile", profile, "--env", "local")
    assert run.exit_code == 4
    assert "gate profile prod judges env prod, not local" in run.output


CHANNEL_PINNED = "preflight.operators.channel-pinned"


def test_without_a_profile_a_blocking_check_that_did_not_evaluate_fails_the_gate(
    run_suite: RunSuite, pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """Before bootstrap channel-pinned is N/A (no Subscription): the run exits 0, but gate.json cannot pass."""
    run = run_suite("-m", "preflight", "--env", "prod", scenario="empty")
    assert run.exit_code == 0, run.output[-3000:]
    gate = gate_of(pytester)
    assert gate["verdict"] == "fail", gate
    assert {(entry["id"], entry["verdict"]) for entry in gate["unevaluated"]} == {(CHANNEL_PINNED, "N/A")}
    assert "blocking check(s) SKIP or N/A" in gate["reason"]
    assert f"{CHANNEL_PINNED}[prod-openshift-gitops-operator] N/A (not evaluated)" in run.output
    # A waiver says otherwise, and gate.json says what it tolerated.
    waivers = write_waivers(tmp_path, "2999-12-31", check=CHANNEL_PINNED)
    run = run_suite("-m", "preflight", "--env", "prod", "--waivers", str(waivers))
    gate = gate_of(pytester)
    assert (gate["verdict"], gate["unevaluated"]) == ("pass", []), gate
    assert {entry["id"] for entry in gate["tolerated_unevaluated"]} == {CHANNEL_PINNED}


def test_the_preflight_profile_passes_a_cluster_ready_to_bootstrap(
    run_suite: RunSuite, pytester: pytest.Pytester
) -> None:
    profile = str(REPO / "gates" / "preflight.yaml")
    run = run_suite("--gate-profile", profile, scenario="empty")
    assert run.exit_code == 0, run.output[-3000:]
    gate = gate_of(pytester)
    assert (gate["verdict"], gate["mandatory_unmet"], gate["unevaluated"]) == ("pass", [], []), gate
    assert {entry["id"] for entry in gate["tolerated_unevaluated"]} == {CHANNEL_PINNED}
    assert gate["reason"] == "pass: every mandatory check of profile preflight was evaluated and held"
    run = run_suite("--gate-profile", profile, scenario="two-workers")
    assert run.exit_code == 1
    assert "preflight.nodes.workers-ready" in {entry["id"] for entry in gate_of(pytester)["blocking_failures"]}


def test_a_mandatory_check_that_did_not_run_fails_the_gate(run_suite: RunSuite, pytester: pytest.Pytester) -> None:
    profile = str(REPO / "gates" / "prod.yaml")
    run = run_suite("--gate-profile", profile, "--skip-check", UMBRELLA, scenario="healthy-prod")
    assert run.exit_code == 1, "every check that ran passed, but a mandatory one did not run"
    gate = gate_of(pytester)
    assert gate["verdict"] == "fail"
    assert [unmet["id"] for unmet in gate["mandatory_unmet"]] == [UMBRELLA]
    assert f"gate [profile prod]: FAIL: {UMBRELLA} (not run" in run.output


def test_an_optional_failure_does_not_fail_the_gate(
    run_suite: RunSuite, pytester: pytest.Pytester, tmp_path: Path
) -> None:
    profile = write_profile(tmp_path, f"env: prod\nmarkers: acceptance\noptional: [{UMBRELLA}]\n")
    run = run_suite("--gate-profile", str(profile), scenario="umbrella-degraded")
    assert run.record(UMBRELLA)["verdict"] == "FAIL", "reports still show the failure"
    assert run.exit_code == 0, run.output[-3000:]
    gate = gate_of(pytester)
    assert gate["verdict"] == "pass"
    assert [failure["id"] for failure in gate["optional_failures"]] == [UMBRELLA]
    assert "1 optional failing" in run.output


def test_a_baseline_tells_new_from_known_failures_and_lists_the_fixed(
    run_suite: RunSuite, pytester: pytest.Pytester, tmp_path: Path
) -> None:
    selection = ("-m", "preflight or parity", "--env", "prod")
    results = pytester.path / "reports" / "results.json"

    healthy = run_suite(*selection, scenario="healthy-prod")
    assert healthy.exit_code == 0, healthy.output[-3000:]
    shutil.copy(results, tmp_path / "healthy.json")

    degraded = run_suite(*selection, "--baseline", str(tmp_path / "healthy.json"), scenario="umbrella-degraded")
    assert degraded.exit_code == 1
    assert degraded.record(UMBRELLA)["baseline"] == "new"
    assert "(new)" in degraded.output
    shutil.copy(results, tmp_path / "degraded.json")

    again = run_suite(*selection, "--baseline", str(tmp_path / "degraded.json"), "--fail-on-new-only")
    assert again.record(UMBRELLA)["baseline"] == "known"
    assert again.exit_code == 0, "a known failure does not fail a new-failures-only gate"
    gate = gate_of(pytester)
    assert (gate["verdict"], gate["fail_on"]) == ("pass", "new")
    assert [failure["id"] for failure in gate["known_failures"]] == [UMBRELLA]

    fixed = run_suite(*selection, "--baseline", str(tmp_path / "degraded.json"), scenario="healthy-prod")
    assert fixed.exit_code == 0
    assert fixed.document["baseline"]["fixed"] == [{"id": UMBRELLA, "env": "prod", "target": ""}]
    assert [entry["id"] for entry in gate_of(pytester)["fixed"]] == [UMBRELLA]


def test_baseline_misuse_is_a_usage_error(run_pytest: RunSuite, tmp_path: Path) -> None:
    run = run_pytest("-m", "static", "--fail-on-new-only")
    assert run.exit_code == 4
    assert "--fail-on-new-only: failures are new only against a baseline" in run.output
    not_results = tmp_path / "gate.json"
    not_results.write_text('{"verdict": "pass"}')
    run = run_pytest("-m", "static", "--baseline", str(not_results))
    assert run.exit_code == 4
    assert "is not a bitiq-conformance results.json" in run.output


def test_a_waiver_passes_the_prod_gate_until_it_expires(
    run_suite: RunSuite, pytester: pytest.Pytester, tmp_path: Path
) -> None:
    profile = str(REPO / "gates" / "prod.yaml")
    for expires, verdict, exit_code in (("2999-12-31", "pass", 0), ("2020-01-31", "fail", 1)):
        waivers = write_waivers(tmp_path, expires)
        run = run_suite("--gate-profile", profile, "--waivers", str(waivers), scenario="umbrella-degraded")
        assert (run.exit_code, gate_of(pytester)["verdict"]) == (exit_code, verdict), run.output[-3000:]
        assert run.document["waivers"][0]["expired"] is (verdict == "fail")
