"""OLM in the suite: Manual approval told apart (first install vs upgrade), unverified compatibility rows, and
the catalog source of mirrored clusters (issue 12, points 1, 6 and 7)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.conftest import REPO, RunSuite, SuiteRun

PIPELINES = "openshift-pipelines-operator-rh"
GITOPS = "openshift-gitops-operator"
HEALTHY = "preflight.operators.subscription-healthy"
INSTALLED = "parity.operators.installed"
MIRRORED = "cs-redhat-operator-index-v4-19"


def record(run: SuiteRun, check_id: str, target: str | None) -> dict[str, str]:
    found = [r for r in run.results if r["id"] == check_id and (r.get("target") or None) == target]
    assert len(found) == 1, [(r["id"], r.get("target")) for r in run.results]
    return found[0]


def test_first_install_waiting_for_approval_fails_with_the_exact_command(run_suite: RunSuite) -> None:
    command = (
        """oc -n openshift-operators patch installplan install-7xk2p --type merge -p '{"spec":{"approved":true}}'"""
    )
    preflight = run_suite("-m", "preflight", "--env", "prod", scenario="first-install-pending")
    for run, check_id in ((preflight, HEALTHY), (run_suite("-m", "parity", "--env", "prod"), INSTALLED)):
        result = record(run, check_id, PIPELINES)
        assert result["verdict"] == "FAIL", run.output
        assert "first install waiting for approval" in result["evidence"]
        assert "make bootstrap" in result["evidence"]
        assert command in result["evidence"]


def test_upgrade_waiting_for_approval_passes_with_the_pending_version(run_suite: RunSuite) -> None:
    preflight = run_suite("-m", "preflight", "--env", "prod", scenario="upgrade-pending")
    parity = run_suite("-m", "parity", "--env", "prod")
    for run, check_id in ((preflight, HEALTHY), (parity, INSTALLED)):
        result = record(run, check_id, PIPELINES)
        assert result["verdict"] == "PASS", run.output
        assert "CSV openshift-pipelines-operator-rh.v1.20.1 Succeeded" in result["evidence"]
        assert "upgrade to openshift-pipelines-operator-rh.v1.20.2 waits for approval" in result["evidence"]


def test_upgrade_waiting_for_approval_does_not_fail_the_prod_gate(run_suite: RunSuite) -> None:
    run = run_suite("--gate-profile", str(REPO / "gates" / "prod.yaml"), scenario="upgrade-pending")
    assert run.exit_code == 0, run.output[-3000:]


def charts_with_unverified(tmp_path: Path, package: str, channel: str) -> Path:
    """A copy of the charts whose compatibility.yaml marks ``channel`` of ``package`` unverified on 4.19."""
    charts = tmp_path / "charts"
    shutil.copytree(REPO / "charts", charts)
    table = charts / "bootstrap-operators" / "compatibility.yaml"
    document = yaml.safe_load(table.read_text())
    document["operators"][package]["unverified"] = {"4.19": [channel]}
    table.write_text(yaml.safe_dump(document))
    return charts


def test_the_shipped_table_warns_unverified_on_the_pinned_channels(run_suite: RunSuite) -> None:
    """No Red Hat page confirmed gitops-1.18 or pipelines-1.20 on OpenShift 4.19: with the shipped table,
    every check that judges them says WARN "unverified" on a healthy cluster, never a silent PASS."""
    shipped = ("--compatibility", str(REPO / "charts" / "bootstrap-operators" / "compatibility.yaml"))
    preflight = run_suite("-m", "preflight", "--env", "prod", *shipped, scenario="healthy-prod")
    parity = run_suite("-m", "parity", "--env", "prod", *shipped)
    for run, check_id, target, channel in (
        (preflight, "preflight.operators.channel-pinned", GITOPS, "gitops-1.18"),
        (preflight, "preflight.operators.channel-pinned", PIPELINES, "pipelines-1.20"),
        (preflight, "preflight.operators.chart-channels", None, "gitops-1.18"),
        (parity, INSTALLED, GITOPS, "gitops-1.18"),
        (parity, INSTALLED, PIPELINES, "pipelines-1.20"),
    ):
        result = record(run, check_id, target)
        assert result["verdict"] == "WARN", run.output
        assert "unverified" in result["evidence"]
        assert channel in result["evidence"]
    static = run_suite("-m", "static", "-k", "test_operator_channels", *shipped, user=None)
    statics = [r for r in static.results if r["id"] == "static.operators.channels-pinned"]
    assert statics, static.output
    assert {r["verdict"] for r in statics} == {"WARN"}, static.output
    assert all("unverified" in r["evidence"] for r in statics)


def test_a_verified_row_passes_where_the_same_unverified_row_warns(run_suite: RunSuite, tmp_path: Path) -> None:
    """The table decides: with a row marked unverified in a copy, that one channel WARNs and the other passes."""
    charts = charts_with_unverified(tmp_path, GITOPS, "gitops-1.18")
    table = charts / "bootstrap-operators" / "compatibility.yaml"
    document = yaml.safe_load(table.read_text())
    document["operators"][PIPELINES]["unverified"] = {}
    table.write_text(yaml.safe_dump(document))
    run = run_suite("-m", "preflight", "--env", "prod", "--compatibility", str(table), scenario="healthy-prod")
    assert record(run, "preflight.operators.channel-pinned", GITOPS)["verdict"] == "WARN", run.output
    assert record(run, "preflight.operators.channel-pinned", PIPELINES)["verdict"] == "PASS", run.output


def test_the_real_table_cites_a_source_per_row() -> None:
    document = yaml.safe_load((REPO / "charts" / "bootstrap-operators" / "compatibility.yaml").read_text())
    for package, entry in document["operators"].items():
        for minor in entry["supported"]:
            assert entry.get("sources", {}).get(minor), f"{package} {minor}: no source cited"
        for minor, channels in (entry.get("unverified") or {}).items():
            assert set(channels) <= set(entry["supported"][minor]), f"{package} {minor}: unverified lists others"


def test_mirrored_catalog_is_named_by_the_option_or_the_env_config(run_suite: RunSuite, tmp_path: Path) -> None:
    default = run_suite("-m", "preflight", "--env", "prod", scenario="catalog-mirrored")
    ready = default.record("preflight.operators.catalog-ready")
    assert ready["verdict"] == "WARN", default.output
    assert "openshift-marketplace/redhat-operators" in ready["evidence"]
    assert "--catalog-source" in ready["evidence"]
    assert f"openshift-marketplace/{MIRRORED}" in ready["evidence"]  # what the cluster has instead
    named = run_suite("-m", "preflight", "--env", "prod", "--catalog-source", MIRRORED)
    assert named.record("preflight.operators.catalog-ready")["verdict"] == "PASS", named.output
    assert MIRRORED in named.record("preflight.operators.catalog-ready")["evidence"]
    env_config = tmp_path / "prod.yaml"
    env_config.write_text(yaml.safe_dump({"catalog-source": MIRRORED}))
    configured = run_suite("-m", "preflight", "--env", "prod", "--env-config", f"prod={env_config}")
    assert configured.record("preflight.operators.catalog-ready")["verdict"] == "PASS", configured.output
    ini = run_suite("-m", "preflight", "--env", "prod", "-o", f"bitiq_catalog_source={MIRRORED}")
    assert ini.record("preflight.operators.catalog-ready")["verdict"] == "PASS", ini.output
