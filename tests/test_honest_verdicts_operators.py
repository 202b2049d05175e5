"""Operator, secret and env-comparison checks that used to pass without judging: each now judges its
input or says NOT-EVALUATED.

- preflight.operators.package-available compares the PackageManifest's catalog with the Subscription's
  (or the chart's) source;
- parity.operators.installed and the preflight channel checks do not pass when the OpenShift version
  cannot be told (an unpinned channel is still judged: it is wrong whatever the version);
- preflight.operators.chart-channels judges the values helm renders the env with, overrides included;
- parity.envs.same-components does not compare empty envs;
- the registry secret's `.dockerconfigjson` is judged by structure, with no value in any output;
- "production" is envs[].production in charts/argocd-apps/values.yaml, not the name prod.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.cluster import REDACTED, docker_config_structure, redact_secret
from fixtures.envs import load_envs
from fixtures.errors import ConfigurationError
from fixtures.operators import OPENSHIFT_VERSION_CHECK
from fixtures.sandbox import Sandbox
from fixtures.sandbox.scenarios import load
from tests.conftest import REPO, RunSuite, SuiteRun
from tests.test_parity_scenarios import compare_envs

CHART_CHANNELS = "preflight.operators.chart-channels"
CHANNEL_PINNED = "preflight.operators.channel-pinned"
PACKAGE_AVAILABLE = "preflight.operators.package-available"
INSTALLED = "parity.operators.installed"
SAME_COMPONENTS = "parity.envs.same-components"
PLANTED = "bitiq-planted-fake-secret-5c1e9a77d04b"  # in scenario registry-secret-empty-auths
NOT_EVALUATED = "NOT-EVALUATED"


def records(run: SuiteRun, check_id: str, **where: str) -> list[dict[str, Any]]:
    found = [r for r in run.results if r["id"] == check_id and all(r.get(k) == v for k, v in where.items())]
    assert found, f"no record of {check_id} {where}: {run.output[-3000:]}"
    return found


def copy_charts(tmp_path: Path) -> Path:
    charts = tmp_path / "charts"
    shutil.copytree(REPO / "charts", charts)
    return charts


def auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def encoded(document: Any) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


# --- preflight.operators.package-available ------------------------------------------------------


def test_package_served_by_another_catalog_only_names_both(run_suite: RunSuite) -> None:
    run = run_suite("-m", "preflight", "--env", "prod", "-k", "package_available", scenario="package-other-catalog")
    pipelines = records(run, PACKAGE_AVAILABLE, target="openshift-pipelines-operator-rh")[0]
    assert pipelines["verdict"] == "WARN", run.output[-3000:]  # advisory: its level is kept
    assert "served by catalog openshift-marketplace/cs-redhat-operator-index only" in pipelines["evidence"]
    assert "not by catalog openshift-marketplace/redhat-operators" in pipelines["evidence"]
    assert "--catalog-source" in pipelines["evidence"]  # where the wanted catalog comes from
    gitops = records(run, PACKAGE_AVAILABLE, target="openshift-gitops-operator")[0]
    assert gitops["verdict"] == "PASS", run.output[-3000:]
    assert "from catalog openshift-marketplace/redhat-operators" in gitops["evidence"]


# --- the OpenShift version cannot be told -------------------------------------------------------


def test_installed_operators_are_not_evaluated_when_the_version_is_unknown(run_suite: RunSuite) -> None:
    run = run_suite("-m", "parity", "--env", "prod", "-k", "operator_installed", scenario="version-unknown")
    installed = records(run, INSTALLED)
    assert {r["verdict"] for r in installed} == {NOT_EVALUATED}, run.output[-3000:]
    for record in installed:
        assert "not judged: the OpenShift version is unknown" in record["evidence"]
        assert "ClusterVersion 'version' names no running version" in record["evidence"]
        assert record.get("root_cause") == OPENSHIFT_VERSION_CHECK
    assert run.exit_code != 0, "a check that could not look is never a pass"


def test_an_unpinned_channel_fails_whatever_the_version(run_suite: RunSuite) -> None:
    run = run_suite(
        "-m", "parity", "--env", "prod", "-k", "operator_installed", scenario="version-unknown-channel-latest"
    )
    verdicts = {r["target"]: r for r in records(run, INSTALLED)}
    assert verdicts["openshift-gitops-operator"]["verdict"] == "FAIL", run.output[-3000:]
    assert "channel latest is unpinned" in verdicts["openshift-gitops-operator"]["evidence"]
    assert verdicts["openshift-pipelines-operator-rh"]["verdict"] == NOT_EVALUATED
    assert run.exit_code == 1


def test_preflight_channels_are_not_evaluated_when_the_version_is_unknown(run_suite: RunSuite) -> None:
    run = run_suite("-m", "preflight", "--env", "prod", scenario="version-unknown")
    assert run.verdicts()["preflight.cluster.openshift-version"] == "FAIL", run.output[-3000:]
    assert {r["verdict"] for r in records(run, CHANNEL_PINNED)} == {NOT_EVALUATED}
    chart = records(run, CHART_CHANNELS)[0]
    assert chart["verdict"] == NOT_EVALUATED, run.output[-3000:]
    assert "values.yaml operators.gitops: channel gitops-1.18 not judged" in chart["evidence"]


# --- preflight.operators.chart-channels: the values the env renders with -------------------------


def test_an_env_override_of_the_channel_is_judged(run_suite: RunSuite, tmp_path: Path) -> None:
    charts = copy_charts(tmp_path)
    (charts / "bootstrap-operators" / "values-prod.yaml").write_text(
        "operators:\n  gitops:\n    channel: latest\n", encoding="utf-8"
    )
    args = ("-m", "preflight", "-k", "chart_channels", "-o", f"bitiq_charts_dir={charts}")
    run = run_suite(*args, "--env", "prod", "--env", "local", scenario="empty")
    prod = records(run, CHART_CHANNELS, env="prod")[0]
    assert prod["verdict"] == "FAIL", run.output[-3000:]
    assert "values-prod.yaml operators.gitops: channel latest is not pinned" in prod["evidence"]
    # local renders values.yaml + values-local.yaml: the prod override is not its channel.
    local = records(run, CHART_CHANNELS, env="local")[0]
    assert local["verdict"] == "PASS", run.output[-3000:]
    assert "values.yaml + values-local.yaml" in local["evidence"]


# --- production is a property of the env --------------------------------------------------------


def test_production_is_a_property_of_the_env_not_its_name(run_suite: RunSuite, tmp_path: Path) -> None:
    charts = copy_charts(tmp_path)
    values_file = charts / "argocd-apps" / "values.yaml"
    values = yaml.safe_load(values_file.read_text(encoding="utf-8"))
    prod = next(env for env in values["envs"] if env["name"] == "prod")
    live = {**prod, "name": "live", "appNamespace": "bitiq-live", "production": True}
    prod["production"] = False  # named prod, but not production any more
    values["envs"].append(live)
    values_file.write_text(yaml.safe_dump(values), encoding="utf-8")
    run = run_suite(
        "-m",
        "preflight",
        "--env",
        "live",
        "--env",
        "prod",
        "-k",
        "channel_pinned",
        "-o",
        f"bitiq_charts_dir={charts}",
        scenario="channel-latest",
    )
    live_gitops = records(run, CHANNEL_PINNED, env="live", target="openshift-gitops-operator")[0]
    assert live_gitops["verdict"] == "FAIL", run.output[-3000:]
    assert "channel latest is not pinned" in live_gitops["evidence"]
    assert "env live is production" in live_gitops["evidence"]
    prod_gitops = records(run, CHANNEL_PINNED, env="prod", target="openshift-gitops-operator")[0]
    assert prod_gitops["verdict"] == "WARN", run.output[-3000:]
    assert run.exit_code == 1


def test_envs_read_the_production_flag(tmp_path: Path) -> None:
    envs = load_envs(REPO / "charts" / "argocd-apps" / "values.yaml")
    assert {name: env.production for name, env in envs.items()} == {"local": False, "prod": True}
    entry = {"name": "qa", "clusterServer": "https://kubernetes.default.svc", "appNamespace": "q", "baseDomain": "q.x"}
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump({"envs": [entry]}), encoding="utf-8")
    assert load_envs(values_file)["qa"].production is False
    values_file.write_text(yaml.safe_dump({"envs": [{**entry, "production": "yes"}]}), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"envs\[0\]\.production is 'yes': write true or false"):
        load_envs(values_file)


# --- parity.envs.same-components: nothing found is nothing compared -----------------------------


def test_empty_envs_are_not_evaluated_rather_than_equal(run_suite: RunSuite, sandbox: Sandbox) -> None:
    kubeconfig = sandbox.kubeconfig("admin")
    run = run_suite(*compare_envs(kubeconfig, kubeconfig), scenario="empty")
    record = run.record(SAME_COMPONENTS)
    assert record["verdict"] == NOT_EVALUATED, run.output[-3000:]
    assert "no components found in env local, prod" in record["evidence"]
    assert "no Application labelled bitiq.io/env=prod in openshift-gitops" in record["evidence"]
    assert run.exit_code != 0


# --- registry secret structure, never its value -------------------------------------------------


def test_registry_secret_without_credentials_is_named_and_never_printed(
    run_suite: RunSuite, pytester: pytest.Pytester
) -> None:
    scenario = load("registry-secret-empty-auths")
    secret = next(o for o in scenario.objects if o["kind"] == "Secret" and o["metadata"]["name"] == "quay-auth")
    value = secret["data"][".dockerconfigjson"]
    assert PLANTED in base64.b64decode(value).decode(), "the scenario must carry the planted token"
    junit = pytester.path / "junit.xml"
    html = pytester.path / "report.html"
    preflight = run_suite(
        "-m",
        "preflight",
        "--env",
        "prod",
        "--junitxml",
        str(junit),
        "--html",
        str(html),
        "--self-contained-html",
        "-v",
        scenario="registry-secret-empty-auths",
    )
    warned = records(preflight, "preflight.secrets.present", target="quay-auth")[0]
    assert warned["verdict"] == "WARN", preflight.output[-3000:]
    assert warned["evidence"].startswith("Secret openshift-pipelines/quay-auth: no registry credentials")
    assert "has no entry under auths" in warned["evidence"]
    parity = run_suite("-m", "parity", "--env", "prod", "-v", scenario="registry-secret-empty-auths")
    failed = records(parity, "parity.secrets.present", target="quay-auth")[0]
    assert failed["verdict"] == "FAIL", parity.output[-3000:]
    assert "Secret openshift-pipelines/quay-auth: no registry credentials" in failed["evidence"]
    assert junit.is_file(), preflight.output[-2000:]
    assert html.is_file(), preflight.output[-2000:]
    outputs = {"preflight output": preflight.output, "parity output": parity.output}
    for path in [junit, html, *(pytester.path / "reports").rglob("*")]:
        if path.is_file():
            outputs[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    leaks = [where for where, text in outputs.items() if PLANTED in text or value in text]
    assert leaks == [], f"the secret value reached {leaks}"


def test_redaction_keeps_the_structure_and_drops_every_value() -> None:
    config = {"auths": {"quay.io": {"auth": auth("robot", PLANTED)}, "https://u:pw@registry.example/v1": {}}}
    secret = {
        "kind": "Secret",
        "metadata": {"name": "quay-auth", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": PLANTED}},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": encoded(config)},
    }
    redacted = redact_secret(secret)
    assert redacted["data"] == {".dockerconfigjson": REDACTED}
    assert redacted["bitiq.io/structure"][".dockerconfigjson"] == {
        "unreadable": "",
        "registries": [
            {"registry": "quay.io", "credentials": True},
            {"registry": "registry.example/v1", "credentials": False},
        ],
    }
    text = repr(redacted)
    assert [word for word in (PLANTED, "robot", "u:pw") if word in text] == []


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"auths": {}}, {"unreadable": "", "registries": []}),
        ({"auths": {"r": {"username": "u", "password": "p"}}}, [True]),
        ({"auths": {"r": {"username": "u"}}}, [False]),
        ({"auths": {"r": {"auth": "not base64!"}}}, [False]),
        ({"auths": {"r": {"auth": base64.b64encode(b"no-colon").decode()}}}, [False]),
        ({"auths": {"r": {"identitytoken": "t"}}}, [False]),  # the kubelet reads auth or username/password only
        ({"credsStore": "desktop"}, {"unreadable": "has no auths mapping", "registries": []}),
    ],
)
def test_docker_config_structure(config: dict[str, Any], expected: Any) -> None:
    structure = docker_config_structure(encoded(config))
    if isinstance(expected, list):
        assert [entry["credentials"] for entry in structure["registries"]] == expected
    else:
        assert structure == expected


def test_unreadable_docker_config_says_so_without_quoting_it() -> None:
    structure = docker_config_structure(base64.b64encode(f"{{{PLANTED}".encode()).decode())
    assert structure == {"unreadable": "is not base64-encoded JSON", "registries": []}
