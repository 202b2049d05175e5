"""Reports: results.json (schema-checked by every run), gate.json, parity.html, JUnit and HTML; selection
by check ID; --exit-zero; no secret value anywhere; the same verdicts under pytest-xdist."""

from __future__ import annotations

import base64
import csv
import json
import re
from pathlib import Path
from xml.etree import ElementTree

from fixtures.sandbox import Sandbox
from tests.conftest import RunSuite, write_waivers


def reports(run_dir: Path) -> Path:
    return run_dir / "reports"


def test_every_artefact_is_written(run_suite: RunSuite, pytester: object) -> None:
    path = Path(str(pytester.path))  # type: ignore[attr-defined]
    run = run_suite(
        "-m",
        "preflight or parity",
        "--env",
        "prod",
        "--junitxml",
        str(path / "junit.xml"),
        "--html",
        str(path / "report.html"),
        "--self-contained-html",
        scenario="healthy-prod",
    )
    assert run.exit_code == 0, run.output[-3000:]
    gate = json.loads((reports(path) / "gate.json").read_text())
    assert gate["verdict"] == "pass"
    assert gate["checks"] == len(run.results)
    [cluster] = run.document["clusters"]
    assert cluster["api_requests"] > 0
    assert (cluster["envs"], cluster["openshift_version"]) == (["prod"], "4.19.14")
    assert cluster["kubernetes_version"].startswith("v1.")
    cases = ElementTree.parse(path / "junit.xml").getroot().iter("testcase")  # noqa: S314 - our own report
    properties = [{p.get("name"): p.get("value") for p in case.iter("property")} for case in cases]
    assert all(props.get("check_id") and props.get("level") and props.get("verdict") for props in properties)
    assert sum(props.get("env") == "prod" for props in properties) >= len(properties) - 1  # one check spans envs
    page = (path / "report.html").read_text()
    assert "Check ID" in page
    assert re.search(r"<h1[^>]*>bitiq-conformance report: prod: OpenShift 4\.19\.14 \(Kubernetes v1\.", page)
    assert "parity.gitops.umbrella-healthy" in page
    matrix = (reports(path) / "parity.html").read_text()
    assert "parity.routes.serve-200 [svc-api]" in matrix
    assert not re.search(r"(src|href)=\"https?://", matrix), "parity.html must not load anything"


def test_gate_fails_naming_the_check(run_suite: RunSuite, pytester: object) -> None:
    path = Path(str(pytester.path))  # type: ignore[attr-defined]
    run = run_suite("-m", "acceptance", "--env", "prod", "--exit-zero", scenario="umbrella-degraded")
    assert run.exit_code == 0, "--exit-zero writes the reports and exits 0"
    gate = json.loads((reports(path) / "gate.json").read_text())
    assert gate["verdict"] == "fail"
    assert [failure["id"] for failure in gate["blocking_failures"]] == ["parity.gitops.umbrella-healthy"]


def test_selection_by_check_id(run_suite: RunSuite) -> None:
    run = run_suite("-m", "preflight", "--env", "prod", "--check", "preflight.access.logged-in", scenario="empty")
    assert {record["id"] for record in run.results} == {"preflight.access.logged-in"}
    run = run_suite("-m", "preflight", "--env", "prod", "--skip-check", "preflight.secrets.present")
    assert "preflight.secrets.present" not in {record["id"] for record in run.results}
    assert run.exit_code == 0
    run = run_suite("-m", "preflight", "--env", "prod", "--check", "preflight.nodes.made-up")
    assert run.exit_code == 4
    assert "unknown check ID preflight.nodes.made-up" in run.output


def planted_secrets(sandbox: Sandbox) -> list[str]:
    values = ["sandbox-webhook-secret", "sandbox-image-updater-token"]
    with (sandbox.state_dir / "auth" / "tokens.csv").open() as handle:
        values += [row[0] for row in csv.reader(handle) if row]
    values.append((sandbox.state_dir / "registry" / "password").read_text().strip())
    return values + [base64.b64encode(value.encode()).decode() for value in values]


def test_no_secret_value_in_any_output(run_suite: RunSuite, sandbox: Sandbox, pytester: object) -> None:
    path = Path(str(pytester.path))  # type: ignore[attr-defined]
    run = run_suite(
        "-m",
        "preflight or parity or smoke or static",
        "--env",
        "prod",
        "--junitxml",
        str(path / "junit.xml"),
        "--html",
        str(path / "report.html"),
        "--self-contained-html",
        "-rA",
        scenario="healthy-prod",
    )
    texts = {"terminal": run.output}
    texts |= {
        file.name: file.read_text(errors="replace")
        for file in path.rglob("*")
        if file.suffix in (".json", ".xml", ".html")
    }
    leaks = [
        (name, secret[:4] + "…")
        for secret in planted_secrets(sandbox)
        for name, text in texts.items()
        if secret in text
    ]
    assert leaks == []
    assert len(texts) >= 5


def test_xdist_gives_the_same_verdicts(run_suite: RunSuite) -> None:
    serial = run_suite("-m", "preflight or parity", "--env", "prod", scenario="route-503")
    parallel = run_suite("-m", "preflight or parity", "--env", "prod", "-n", "2")

    def verdicts(run: object) -> list[tuple[str, str, str]]:
        return sorted((r["id"], r["target"], r["verdict"]) for r in run.results)  # type: ignore[attr-defined]

    assert verdicts(serial) == verdicts(parallel)
    assert ("parity.routes.serve-200", "svc-web", "FAIL") in verdicts(parallel)
    # The workers read the cluster; the controller's report still says which, and how much it cost.
    [cluster] = parallel.document["clusters"]
    assert cluster["envs"] == ["prod"]
    assert cluster["api_requests"] >= serial.document["clusters"][0]["api_requests"]


def test_an_active_waiver_turns_the_gate_to_pass(run_suite: RunSuite, tmp_path: Path, pytester: object) -> None:
    waivers = write_waivers(tmp_path, "2999-12-31")
    run = run_suite("-m", "acceptance", "--env", "prod", "--waivers", str(waivers), scenario="umbrella-degraded")
    assert run.exit_code == 0, run.output[-3000:]
    assert run.record("parity.gitops.umbrella-healthy")["verdict"] == "WAIVED"
    assert "WAIVED [parity.gitops.umbrella-healthy]" in run.output
    gate = json.loads((reports(Path(str(pytester.path))) / "gate.json").read_text())  # type: ignore[attr-defined]
    assert gate["verdict"] == "pass"
    assert [entry["id"] for entry in gate["waived"]] == ["parity.gitops.umbrella-healthy"]


def test_an_expired_waiver_fails_saying_so(run_suite: RunSuite, tmp_path: Path) -> None:
    waivers = write_waivers(tmp_path, "2020-01-31")
    run = run_suite("-m", "acceptance", "--env", "prod", "--waivers", str(waivers), scenario="umbrella-degraded")
    assert run.exit_code == 1
    record = run.record("parity.gitops.umbrella-healthy")
    assert record["verdict"] == "FAIL"
    assert "waiver for this check expired on 2020-01-31" in record["evidence"]


def test_a_waiver_for_an_unknown_check_is_a_usage_error(run_suite: RunSuite, tmp_path: Path) -> None:
    waivers = write_waivers(tmp_path, "2999-12-31", check="parity.gitops.made-up")
    run = run_suite("-m", "acceptance", "--env", "prod", "--waivers", str(waivers))
    assert run.exit_code == 4
    assert "--waivers names unknown check ID parity.gitops.made-up" in run.output


def test_credentials_in_a_git_url_stay_out_of_every_output(run_suite: RunSuite, pytester: object) -> None:
    planted = "planted-git-token-7d1e"
    path = Path(str(pytester.path))  # type: ignore[attr-defined]
    # Port 9 (discard) refuses on loopback: git fails at once, quoting the URL it was given.
    repository = f"https://bot:{planted}@127.0.0.1:9/bitiq-io/gitops.git"
    run = run_suite(
        "-m", "parity", "--env", "prod", "--check", "parity.imageupdater.write-back", "--git-repo", repository,
        "--junitxml", str(path / "junit.xml"), "-rA", scenario="healthy-prod",
    )  # fmt: skip
    assert run.record("parity.imageupdater.write-back")["verdict"] == "FAIL", run.output[-3000:]
    assert "https://127.0.0.1:9/bitiq-io/gitops.git" in run.record("parity.imageupdater.write-back")["evidence"]
    outputs = [run.output] + [file.read_text() for file in path.rglob("*") if file.suffix in (".json", ".xml")]
    assert not [text for text in outputs if planted in text]
