"""Many clusters in one matrix: `python -m fixtures.fleet merge` of runs made on each cluster separately.

Three clusters, each run on its own and writing its own results.json: env local on the
healthy-local sandbox, env prod on the healthy-prod sandbox, and a third env, stage, on a sandbox
bootstrapped for stage. The charts declare only local and prod (charts/argocd-apps/values.yaml
envs[]), so stage is declared in a copy of the charts (--charts-dir), which the sandbox renders its
healthy-stage scenario from ($BITIQ_SANDBOX_CHARTS). A fourth run, stage against the prod cluster,
which was never bootstrapped for it, shows the merged cross-env check failing. The merge of local
and prod alone must give the cross-env row a single run of `--env local --env prod` gives.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from fixtures.fleet import SAME_COMPONENTS, USAGE_ERROR, main
from fixtures.reporting import RESULTS_SCHEMA_VERSION
from fixtures.sandbox import Sandbox
from fixtures.sandbox.scenarios import CHARTS_ENV, SCENARIO_DIR, SCENARIOS_ENV
from tests.conftest import REPO, RESULTS_SCHEMA, RunSuite, SuiteRun
from tests.test_parity_scenarios import compare_envs

COMPARED = ("verdict", "evidence", "level", "requirement", "remediation", "markers", "root_cause", "env", "target")


def saved(run: SuiteRun, path: Path) -> Path:
    """A run's results.json kept aside (each run of the self-test writes the same report dir)."""
    assert run.document, run.output[-3000:]
    path.write_text(json.dumps(run.document), encoding="utf-8")
    return path


def charts_with_stage(tmp_path: Path) -> Path:
    """A copy of the charts declaring a third env, stage, configured like prod."""
    charts = tmp_path / "charts"
    shutil.copytree(REPO / "charts", charts)
    for values in charts.glob("*/values-prod.yaml"):
        # prod's values with stage's names: env, its filter, namespace and domain (comments left alone).
        lines = values.read_text(encoding="utf-8").splitlines(keepends=True)
        renamed = [line if line.lstrip().startswith("#") else line.replace("prod", "stage") for line in lines]
        values.with_name("values-stage.yaml").write_text("".join(renamed), encoding="utf-8")
    apps = charts / "argocd-apps" / "values.yaml"
    text = apps.read_text(encoding="utf-8")
    stage = (
        "  - name: stage\n    clusterServer: https://kubernetes.default.svc\n    appNamespace: bitiq-stage\n"
        "    baseDomain: apps.stage.example\n    platforms: linux/amd64\n    production: true\n"
    )
    assert "  - name: prod\n" in text
    apps.write_text(text.replace("  - name: prod\n", stage + "  - name: prod\n", 1), encoding="utf-8")
    return charts


def healthy_stage(sandbox: Sandbox, charts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loads healthy-stage, healthy-prod's twin rendered for stage from ``charts``, into ``sandbox``."""
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    text = (SCENARIO_DIR / "healthy-prod.yaml").read_text(encoding="utf-8")
    for old, new in (
        ("scenario: healthy-prod", "scenario: healthy-stage"),
        ("render: prod", "render: stage\ndomain: apps.stage.example"),
        ("- env: prod", "- env: stage"),
    ):
        assert old in text, old
        text = text.replace(old, new)
    (scenarios / "healthy-stage.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv(CHARTS_ENV, str(charts))
    monkeypatch.setenv(SCENARIOS_ENV, str(scenarios))
    sandbox.use("healthy-stage")


def merge(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fixtures.fleet", "merge", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def read(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def test_runs_on_each_cluster_merge_into_one_matrix(  # noqa: PLR0917 - one story, three clusters
    run_pytest: RunSuite,
    run_suite: RunSuite,
    sandbox: Sandbox,
    sandbox_local: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local_kubeconfig, prod_kubeconfig = sandbox_local.kubeconfig("admin"), sandbox.kubeconfig("admin")
    # On the local cluster, as its own CI job would run: its DNS, router, registry and git.
    for variable, value in sandbox_local.exports("admin").items():
        if variable != "KUBECONFIG":
            monkeypatch.setenv(variable, value)
    local = run_pytest(f"--kubeconfig={local_kubeconfig}", "-m", "parity", "--env", "local")
    assert local.exit_code == 0, local.output[-3000:]
    local_file = saved(local, tmp_path / "local.json")
    prod = run_suite("-m", "parity", "--env", "prod", scenario="healthy-prod")
    prod_file = saved(prod, tmp_path / "prod.json")
    charts = charts_with_stage(tmp_path)
    unbootstrapped_args = ("--env", "stage", f"--charts-dir={charts}", "--env-kubeconfig", f"stage={prod_kubeconfig}")
    unbootstrapped = run_suite("-m", "parity", *unbootstrapped_args)
    unbootstrapped_file = saved(unbootstrapped, tmp_path / "stage-on-prod.json")
    try:
        healthy_stage(sandbox, charts, tmp_path, monkeypatch)
        stage = run_suite("-m", "parity", "--env", "stage", f"--charts-dir={charts}")
    finally:
        monkeypatch.delenv(CHARTS_ENV)
        monkeypatch.delenv(SCENARIOS_ENV)
        sandbox.use("healthy-prod")
    stage_file = saved(stage, tmp_path / "stage.json")
    assert stage.exit_code == 0, stage.output[-3000:]
    # Each single-env run records the inventory the cross-env check compares, from the lists it read.
    for run, env in ((local, "local"), (prod, "prod"), (stage, "stage")):
        assert list(run.document.get("inventory") or {}) == [env], run.output[-2000:]
        assert SAME_COMPONENTS not in run.verdicts(), "deselected in a run of one env"
    assert read(local_file)["inventory"]["local"]["components"], "healthy-local runs components"
    stage_components = read(stage_file)["inventory"]["stage"]["components"]
    assert sorted(c[1:] for c in stage_components) == sorted(
        c[1:] for c in read(prod_file)["inventory"]["prod"]["components"]
    )
    assert not [c for c in read(unbootstrapped_file)["inventory"]["stage"]["components"] if c[1] != "Pipeline"]

    # The same two clusters in one run of two envs: the row the merge must give.
    single = run_suite(*compare_envs(local_kubeconfig, prod_kubeconfig), scenario="healthy-prod")
    expected = single.record(SAME_COMPONENTS)
    assert expected["verdict"] == "PASS", single.output[-3000:]
    assert single.document["inventory"] == {**local.document["inventory"], **prod.document["inventory"]}

    two = tmp_path / "two"
    completed = merge(local_file, prod_file, "--report-dir", two)
    merged = read(two / "results.json")
    jsonschema.validate(merged, RESULTS_SCHEMA)
    row = [r for r in merged["results"] if r["id"] == SAME_COMPONENTS]
    assert len(row) == 1, completed.stdout + completed.stderr
    assert {key: row[0][key] for key in COMPARED} == {key: expected[key] for key in COMPARED}

    three = tmp_path / "three"
    completed = merge(local_file, prod_file, stage_file, "--report-dir", three)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    merged = read(three / "results.json")
    jsonschema.validate(merged, RESULTS_SCHEMA)
    row = [r for r in merged["results"] if r["id"] == SAME_COMPONENTS]
    assert [r["verdict"] for r in row] == ["PASS"], row
    assert read(three / "gate.json")["verdict"] == "pass"

    three = tmp_path / "three-with-stage-unbootstrapped"
    completed = merge(local_file, prod_file, unbootstrapped_file, "--report-dir", three)
    assert completed.returncode == 1, completed.stdout + completed.stderr  # stage is not bootstrapped there
    assert "Traceback" not in completed.stderr
    stage = unbootstrapped
    merged = read(three / "results.json")
    jsonschema.validate(merged, RESULTS_SCHEMA)
    assert [entry["envs"] for entry in merged["merged_from"]] == [["local"], ["prod"], ["stage"]]
    assert {r["env"] for r in merged["results"]} == {"local", "prod", "stage", None}
    per_env = sum(len([r for r in run.results if r["env"]]) for run in (local, prod, stage))
    assert len([r for r in merged["results"] if r["env"]]) == per_env, "every env's records, once"
    row = [r for r in merged["results"] if r["id"] == SAME_COMPONENTS]
    assert len(row) == 1, row
    assert row[0]["verdict"] == "FAIL", row
    assert "local=True, prod=True, stage=False" in row[0]["evidence"], row[0]
    gate = read(three / "gate.json")
    assert gate["verdict"] == "fail"
    assert gate["checks"] == len(merged["results"])
    failing_envs = {f["env"] for f in gate["blocking_failures"]}
    assert {"stage", None} <= failing_envs, gate["blocking_failures"]
    assert any(f["id"] == SAME_COMPONENTS for f in gate["blocking_failures"])
    page = (three / "parity.html").read_text(encoding="utf-8")
    assert "<h1>Parity: local vs prod vs stage</h1>" in page
    for env in ("local", "prod", "stage"):
        assert f"<th>{env}</th>" in page or f">{env}<" in page, env
    assert SAME_COMPONENTS in page


# --- usage errors: one line each, exit 4, no traceback ------------------------------------------


def document(env: str, started: datetime, schema: int = RESULTS_SCHEMA_VERSION) -> dict[str, Any]:
    """A results.json of one env, as a run writes it (one check, with the inventory it listed)."""
    record = {
        "id": "parity.gitops.umbrella-healthy",
        "env": env,
        "target": "",
        "level": "blocking",
        "verdict": "PASS",
        "markers": ["parity"],
        "evidence": "Synced/Healthy",
        "root_cause": None,
        "requirement": "The umbrella is Synced and Healthy.",
        "remediation": "Sync it.",
        "nodeid": f"suites/parity/test_gitops.py::test_umbrella_healthy[{env}]",
        "duration": 0.1,
        "baseline": None,
        "diagnostics": [],
    }
    return {
        "schema_version": schema,
        "suite_version": "0.0.0",
        "started": started.isoformat(timespec="seconds"),
        "finished": (started + timedelta(minutes=2)).isoformat(timespec="seconds"),
        "exit_status": 0,
        "charts_commit": None,
        "clusters": [],
        "gate_profile": None,
        "waivers": [],
        "baseline": None,
        "inventory": {
            env: {"app_namespace": f"bitiq-{env}", "components": [["ci-pipelines", "Pipeline", "bitiq-build"]]}
        },
        "results": [record],
    }


NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def write(path: Path, content: dict[str, Any] | str) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def usage_error(capsys: pytest.CaptureFixture[str], *args: str | Path) -> str:
    assert main(["merge", *map(str, args)]) == USAGE_ERROR
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("fleet: "), captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


def test_merge_of_hand_written_runs(tmp_path: Path) -> None:
    prod = write(tmp_path / "prod.json", document("prod", NOW))
    local = write(tmp_path / "local.json", document("local", NOW + timedelta(minutes=5)))
    assert main(["merge", str(local), str(prod), "--report-dir", str(tmp_path / "out")]) == 0
    merged = read(tmp_path / "out" / "results.json")
    jsonschema.validate(merged, RESULTS_SCHEMA)
    row = next(r for r in merged["results"] if r["id"] == SAME_COMPONENTS)
    assert (row["verdict"], row["evidence"]) == ("PASS", "1 components in each of local, prod")
    assert merged["started"] == NOW.isoformat(timespec="seconds")


def test_a_difference_fails_the_merge_unless_waived(tmp_path: Path) -> None:
    local = document("local", NOW)
    local["inventory"]["local"]["components"].append(["bitiq-sample-app", "Route", "bitiq-sample-app"])
    local_file = write(tmp_path / "local.json", local)
    prod = write(tmp_path / "prod.json", document("prod", NOW))
    assert main(["merge", str(local_file), str(prod), "--report-dir", str(tmp_path / "out")]) == 1
    row = next(r for r in read(tmp_path / "out" / "results.json")["results"] if r["id"] == SAME_COMPONENTS)
    assert row["verdict"] == "FAIL"
    assert (
        row["evidence"] == "present in some envs only: bitiq-sample-app Route/bitiq-sample-app: local=True, prod=False"
    )
    waiver = {"check": SAME_COMPONENTS, "env": None, "reason": "r", "issue": "#1", "expires": "2999-01-01"}
    local["waivers"] = [{**waiver, "expired": False}]
    write(local_file, local)
    assert main(["merge", str(local_file), str(prod), "--report-dir", str(tmp_path / "out")]) == 0
    row = next(r for r in read(tmp_path / "out" / "results.json")["results"] if r["id"] == SAME_COMPONENTS)
    assert row["verdict"] == "WAIVED"
    assert row["evidence"].endswith("(waived until 2999-01-01: r (#1))")


def test_a_run_without_inventory_is_not_evaluated(tmp_path: Path) -> None:
    bare = document("local", NOW)
    del bare["inventory"]
    local = write(tmp_path / "local.json", bare)
    prod = write(tmp_path / "prod.json", document("prod", NOW))
    assert main(["merge", str(local), str(prod), "--report-dir", str(tmp_path / "out")]) == 1
    row = next(r for r in read(tmp_path / "out" / "results.json")["results"] if r["id"] == SAME_COMPONENTS)
    assert row["verdict"] == "NOT-EVALUATED"
    assert f"no inventory recorded for env local ({local})" in row["evidence"]


def test_not_a_results_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prod = write(tmp_path / "prod.json", document("prod", NOW))
    gate = write(tmp_path / "gate.json", {"verdict": "pass", "checks": 3})
    line = usage_error(capsys, prod, gate, "--report-dir", tmp_path / "out")
    assert line == f"fleet: {gate} is not a results.json: it lacks schema_version, started, finished, results"
    garbage = write(tmp_path / "garbage.json", "not json {")
    assert f"{garbage} is not a results.json" in usage_error(capsys, prod, garbage, "--report-dir", tmp_path / "o")
    assert not (tmp_path / "out").exists()


def test_mixed_schema_versions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = write(tmp_path / "old.json", document("local", NOW, schema=RESULTS_SCHEMA_VERSION - 1))
    prod = write(tmp_path / "prod.json", document("prod", NOW))
    line = usage_error(capsys, old, prod, "--report-dir", tmp_path / "out")
    assert line.startswith(f"fleet: mixed schema versions ({old} schema {RESULTS_SCHEMA_VERSION - 1}, {prod} schema")


def test_duplicate_env_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = write(tmp_path / "one.json", document("prod", NOW))
    two = write(tmp_path / "two.json", document("prod", NOW))
    line = usage_error(capsys, one, two, "--report-dir", tmp_path / "out")
    assert line == f"fleet: env prod is in both {one} and {two}: merge each env once"


def test_clock_skew(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local = write(tmp_path / "local.json", document("local", NOW))
    prod = write(tmp_path / "prod.json", document("prod", NOW + timedelta(hours=3)))
    line = usage_error(capsys, local, prod, "--report-dir", tmp_path / "out")
    assert line.startswith(f"fleet: clock skew: {local} started 2026-11-29T12:00:00+00:00 and {prod} started")
    assert "are 3h00m apart, more than --max-skew 1h00m" in line
    out = tmp_path / "out"
    assert main(["merge", str(local), str(prod), "--report-dir", str(out), "--max-skew", "4h"]) == 0


def test_fewer_than_two_envs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prod = write(tmp_path / "prod.json", document("prod", NOW))
    line = usage_error(capsys, prod, "--report-dir", tmp_path / "out")
    assert line == "fleet: 1 env (prod) in 1 file(s): a merge compares at least two envs"


def test_usage_error_from_the_command_line(tmp_path: Path) -> None:
    """As a user types it: exit 4, one line on stderr, no traceback."""
    prod = write(tmp_path / "prod.json", document("prod", NOW))
    completed = merge(prod, prod, "--report-dir", tmp_path / "out")
    assert completed.returncode == USAGE_ERROR
    assert completed.stderr.strip().splitlines() == [
        f"fleet: env prod is in both {prod} and {prod}: merge each env once"
    ]
    completed = merge("--report-dir", tmp_path / "out")
    assert completed.returncode == USAGE_ERROR
    assert len(completed.stderr.strip().splitlines()) == 1
