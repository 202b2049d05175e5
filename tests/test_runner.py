"""The conformance-runner chart: its RBAC applied to the real sandbox, and the suite run as its ServiceAccount.

The identity the chart creates must read everything the suite reads (the same verdicts as the sandbox's
admin, no denial in any evidence), send nothing but reads and the two self-reviews (the audit log), and
need every rule it has: take one away and a check reports the denial.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fixtures.charts import Chart, Renderer, discover, find_helm
from fixtures.kube import KubeTransport
from fixtures.sandbox import Sandbox
from fixtures.sandbox.loader import Loader
from suites.static.test_charts import validate_object
from tests.conftest import REPO, SUITE_RUN_TIMEOUT, RunSuite, SuiteRun

SCENARIO = "healthy-prod"
ENV = "prod"
RBAC_KINDS = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
SELECTION = ("-m", "preflight or parity", "--env", ENV)
# The one check that must differ: it asks whether the identity is cluster-admin, and the runner is not.
NOT_ADMIN = "preflight.access.cluster-admin"
DENIAL = re.compile(r"\b403\b|forbidden", re.IGNORECASE)
READ_VERBS = {"get", "list", "watch"}
REVIEW_RESOURCES = {"selfsubjectreviews", "selfsubjectaccessreviews", "subjectaccessreviews"}
MULTI_ENV_ONLY = ("tekton.dev", "pipelines", "")
# Read only for the diagnostics of a failing check (fixtures/diagnostics.py), or asked only when the RBAC
# objects do not allow something (a SubjectAccessReview; fixtures/rbac_policy.py): unused by a green run.
DIAGNOSTICS_ONLY = frozenset(
    {
        ("authorization.k8s.io", "subjectaccessreviews", ""),
        ("", "events", ""),
        ("", "endpoints", ""),
        ("discovery.k8s.io", "endpointslices", ""),
        ("tekton.dev", "taskruns", ""),
        ("operators.coreos.com", "installplans", ""),
    }
)
RBAC_SETTLE_SECONDS = 10.0  # the authorizer sees new bindings through its informers, within milliseconds


@dataclass(frozen=True)
class Runner:
    """The chart's RBAC applied to a fresh healthy-prod sandbox, and a kubeconfig of its ServiceAccount."""

    namespace: str
    service_account: str
    cluster_role: dict[str, Any]
    kubeconfig: Path
    granted: frozenset[tuple[str, str, str]]  # (api group, resource, namespace or "") of every rule
    # A grant limited to resourceNames (Secrets): one of its names, which a review must name to be allowed.
    named: dict[tuple[str, str, str], str]

    @property
    def username(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"

    def grant_for(self, ref: dict[str, Any]) -> tuple[str, str, str]:
        """The grant an audited request was allowed by: a Role's in its namespace, else the ClusterRole's."""
        namespaced = (ref.get("apiGroup", ""), ref["resource"], ref.get("namespace", ""))
        return namespaced if namespaced in self.granted else (*namespaced[:2], "")


def runner_chart() -> Chart:
    return next(chart for chart in discover(REPO / "charts") if chart.name == "conformance-runner")


def render(extra: dict[str, str] | None = None) -> list[dict[str, Any]]:
    helm = find_helm()
    assert helm is not None, "helm not found: run `scripts/install-tools.sh helm`"
    return Renderer(helm).objects(runner_chart(), ENV, extra)


def granted_by(roles: list[dict[str, Any]]) -> frozenset[tuple[str, str, str]]:
    return frozenset(
        (group, resource, str(role["metadata"].get("namespace", "")) if role["kind"] == "Role" else "")
        for role in roles
        for rule in role.get("rules") or []
        for group in rule.get("apiGroups") or []
        for resource in rule.get("resources") or []
    )


def named_grants(roles: list[dict[str, Any]]) -> dict[tuple[str, str, str], str]:
    return {
        (group, resource, str(role["metadata"].get("namespace", "")) if role["kind"] == "Role" else ""): str(
            rule["resourceNames"][0]
        )
        for role in roles
        for rule in role.get("rules") or []
        if rule.get("resourceNames")
        for group in rule.get("apiGroups") or []
        for resource in rule.get("resources") or []
    }


def allowed(admin: KubeTransport, runner: Runner, group: str, resource: str, namespace: str) -> bool:
    """A SubjectAccessReview for the ServiceAccount, asked as admin: waiting costs the runner no request.
    A grant limited to names (Secrets: get only) is asked with one of its names."""
    name = runner.named.get((group, resource, namespace), "")
    verb = "create" if resource in REVIEW_RESOURCES else "get" if name else "list"
    attributes = {"verb": verb, "group": group, "resource": resource} | ({"namespace": namespace} if namespace else {})
    attributes |= {"name": name} if name else {}
    review = admin.request(
        "POST",
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        body={
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": runner.username,
                "groups": [
                    "system:serviceaccounts",
                    f"system:serviceaccounts:{runner.namespace}",
                    "system:authenticated",
                ],
                "resourceAttributes": attributes,
            },
        },
    )
    return bool((review.get("status") or {}).get("allowed"))


def wait_for_rbac(admin: KubeTransport, runner: Runner, wanted: Callable[[str, str, str], bool]) -> None:
    deadline = time.monotonic() + RBAC_SETTLE_SECONDS
    while True:  # ends at the deadline: the assert below
        pending = [grant for grant in sorted(runner.granted) if allowed(admin, runner, *grant) != wanted(*grant)]
        if not pending:
            return
        assert time.monotonic() < deadline, f"RBAC did not settle within {RBAC_SETTLE_SECONDS:g} s: {pending}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def runner(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    # Loading a scenario restarts the API server on a fresh etcd prefix, so the RBAC goes in after it.
    sandbox.use(SCENARIO, fresh=True)
    try:
        yield apply_rbac(sandbox, tmp_path_factory.mktemp("runner") / "kubeconfig")
    finally:
        sandbox.use(SCENARIO, fresh=True)  # leave no runner RBAC to the tests that load healthy-prod next


def apply_rbac(sandbox: Sandbox, kubeconfig: Path) -> Runner:
    """Creates the chart's RBAC as admin, asks the TokenRequest API for a token of its ServiceAccount and
    writes a kubeconfig with it, the way a pod's projected token volume would get one."""
    rbac = [obj for obj in render() if obj.get("kind") in RBAC_KINDS]
    account = next(obj for obj in rbac if obj["kind"] == "ServiceAccount")["metadata"]
    with sandbox.admin_transport() as admin:
        loader = Loader(admin)
        loader.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": account["namespace"]}})
        for obj in sorted(rbac, key=lambda obj: RBAC_KINDS.index(obj["kind"])):
            loader.create(obj)
        token_request = admin.request(
            "POST",
            f"/api/v1/namespaces/{account['namespace']}/serviceaccounts/{account['name']}/token",
            body={
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {"expirationSeconds": runner_chart().values(ENV)["tokenExpirationSeconds"]},
            },
        )
        found = Runner(
            namespace=account["namespace"],
            service_account=account["name"],
            cluster_role=next(obj for obj in rbac if obj["kind"] == "ClusterRole"),
            kubeconfig=sandbox.write_kubeconfig(kubeconfig, account["name"], token_request["status"]["token"]),
            granted=granted_by([obj for obj in rbac if obj["kind"] in ("Role", "ClusterRole")]),
            named=named_grants([obj for obj in rbac if obj["kind"] in ("Role", "ClusterRole")]),
        )
        wait_for_rbac(admin, found, lambda *_: True)
    return found


def as_runner(run_suite: RunSuite, runner: Runner, *args: str) -> SuiteRun:
    return run_suite(*args, "--kubeconfig", str(runner.kubeconfig), user=None)


def verdicts(run: SuiteRun) -> dict[tuple[str, str], str]:
    return {(record["id"], record.get("target") or ""): record["verdict"] for record in run.results}


def denials(run: SuiteRun) -> list[str]:
    return [f"{r['id']}: {r['evidence']}" for r in run.results if DENIAL.search(r["evidence"])]


def requests_of(events: list[dict[str, Any]], username: str) -> list[dict[str, Any]]:
    return [event for event in events if event["user"]["username"] == username]


def answered(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted(
        (event["verb"], event["requestURI"])
        for event in events
        if (event.get("responseStatus") or {}).get("code") != 429
    )


def test_runner_reads_what_admin_reads(
    run_suite: RunSuite,
    runner: Runner,
    audit_offset: Callable[[], list[dict[str, Any]]],
    record_property: Callable[[str, object], None],
) -> None:
    admin_run = run_suite(*SELECTION, user="admin")
    runner_run = as_runner(run_suite, runner, *SELECTION)
    assert runner_run.results, runner_run.output
    assert "Traceback" not in runner_run.output

    assert denials(runner_run) == [], runner_run.output
    assert admin_run.exit_code == 0, admin_run.output
    admin_verdicts, runner_verdicts = verdicts(admin_run), verdicts(runner_run)
    assert admin_verdicts.pop((NOT_ADMIN, "")) == "PASS"
    assert runner_verdicts.pop((NOT_ADMIN, "")) == "FAIL"
    assert runner_verdicts == admin_verdicts
    # The runner's one failure is the answer of a review it may ask, not a refusal.
    not_admin = runner_run.record(NOT_ADMIN)["evidence"]
    assert f"{runner.username} is not cluster-admin" in not_admin
    assert "allowed=false" in not_admin

    events = audit_offset()
    sent = requests_of(events, runner.username)
    record_property("runner_api_requests", len(sent))
    assert sent, "the audit log shows no request from the runner's ServiceAccount"
    writes = [
        f"{event['verb']} {event['requestURI']}"
        for event in sent
        if event["verb"] not in READ_VERBS
        and not (event["verb"] == "create" and (event.get("objectRef") or {}).get("resource") in REVIEW_RESOURCES)
    ]
    assert writes == []
    refused = [f"{e['verb']} {e['requestURI']}" for e in sent if (e.get("responseStatus") or {}).get("code") == 403]
    assert refused == []
    # Secrets are read by name, one GET each, never listed (the Roles grant get on exactly those names).
    secret_reads = [e for e in sent if (e.get("objectRef") or {}).get("resource") == "secrets"]
    assert secret_reads, "the runner read no Secret"
    assert {event["verb"] for event in secret_reads} == {"get"}
    assert all((event.get("objectRef") or {}).get("name") for event in secret_reads)
    # Same reads as admin, request for request: no fallback path taken for want of a permission. (A 429 while
    # the restarted API server fills its caches is retried by the client, for either identity.)
    assert answered(sent) == answered(requests_of(events, "admin"))
    # And every rule is used: the roles grant nothing the suite does not read, except what only a failing
    # check's diagnostics read (test_diagnostics_read_as_the_runner). Pipelines are read to compare
    # several envs (parity.envs.same-components), or at the end of the run for results.json's inventory.
    used = {runner.grant_for(event["objectRef"]) for event in sent if event.get("objectRef")}
    assert used - {MULTI_ENV_ONLY} == runner.granted - {MULTI_ENV_ONLY} - DIAGNOSTICS_ONLY


def test_a_missing_rule_shows_as_a_denial(
    run_suite: RunSuite, runner: Runner, sandbox: Sandbox, audit_offset: Callable[[], list[dict[str, Any]]]
) -> None:
    without_routes = copy.deepcopy(runner.cluster_role)
    without_routes["rules"] = [rule for rule in without_routes["rules"] if "routes" not in rule["resources"]]
    assert len(without_routes["rules"]) == len(runner.cluster_role["rules"]) - 1
    path = f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{without_routes['metadata']['name']}"
    with sandbox.admin_transport() as admin:
        admin.request("PUT", path, body=without_routes)
        try:
            wait_for_rbac(admin, runner, lambda group, resource, _: resource != "routes")
            run = as_runner(run_suite, runner, "-m", "parity", "--env", ENV)
        finally:
            admin.request("PUT", path, body=runner.cluster_role)
            wait_for_rbac(admin, runner, lambda *_: True)
    denied = [record for record in run.results if DENIAL.search(record["evidence"])]
    assert denied, run.output
    assert all("routes.route.openshift.io" in record["evidence"] for record in denied), denied
    # A denied read is a check that could not look, never a finding about the routes themselves.
    assert {record["verdict"] for record in denied} == {"NOT-EVALUATED"}
    assert "forbidden: needs verb 'list' on routes.route.openshift.io" in run.output
    assert run.exit_code == 1
    assert "Traceback" not in run.output
    refused = {
        (event["objectRef"]["resource"], event["responseStatus"]["code"])
        for event in requests_of(audit_offset(), runner.username)
        if (event.get("responseStatus") or {}).get("code") == 403
    }
    assert refused == {("routes", 403)}


def pod_command(runner: Runner, sandbox: Sandbox, reports: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """The CronJob container's command and args as the pod runs them, with the reports volume at ``reports``
    and the ServiceAccount's kubeconfig standing in for the in-cluster configuration."""
    container = next(obj for obj in render() if obj["kind"] == "CronJob")["spec"]["jobTemplate"]["spec"]["template"][
        "spec"
    ]["containers"][0]
    command = [part.replace("/reports", str(reports)) for part in [*container["command"], *container["args"], *extra]]
    environment = {key: value for key, value in sandbox.exports("admin").items() if key != "KUBECONFIG"}
    environment |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(reports.parent),
        "KUBECONFIG": str(runner.kubeconfig),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return subprocess.run(
        command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=SUITE_RUN_TIMEOUT, check=False
    )


def test_pod_command_ends_with_the_gate(runner: Runner, sandbox: Sandbox, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    run = pod_command(runner, sandbox, reports)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1].startswith("gate: pass"), run.stdout
    assert {"results.json", "gate.json", "parity.html"} <= {path.name for path in reports.iterdir()}
    # The runner is not cluster-admin; the chart's default skips the one check that asks for it.
    assert NOT_ADMIN not in {record["id"] for record in json.loads((reports / "results.json").read_text())["results"]}

    # A run that cannot start must not print the verdict an earlier run left on the volume.
    (reports / "gate.json").write_text(json.dumps({"verdict": "pass"}))
    broken = pod_command(runner, sandbox, reports, "--env=staging")
    assert broken.returncode == 4, broken.stdout + broken.stderr
    assert not broken.stdout.splitlines()[-1].startswith("gate: pass"), broken.stdout


def test_on_demand_job_runs_the_cronjob_pod() -> None:
    objects = render({"runNow": "true", "registryAuthSecret": "quay-auth"})
    assert [problem for problem in map(validate_object, objects) if problem] == []
    by_kind = {obj["kind"]: obj for obj in objects}
    cron_pod = by_kind["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]
    job_pod = by_kind["Job"]["spec"]["template"]
    assert job_pod == cron_pod
    assert by_kind["CronJob"]["spec"]["concurrencyPolicy"] == "Forbid"
    assert by_kind["ServiceAccount"]["automountServiceAccountToken"] is False
    pod = job_pod["spec"]
    assert pod["automountServiceAccountToken"] is False
    container = pod["containers"][0]
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    assert set(mounts) >= {"/var/run/secrets/kubernetes.io/serviceaccount", "/tmp", "/reports"}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    sources = volumes[mounts["/var/run/secrets/kubernetes.io/serviceaccount"]]["projected"]["sources"]
    paths = set()
    for source in sources:
        if "serviceAccountToken" in source:
            paths.add(source["serviceAccountToken"]["path"])
        for kind in ("configMap", "downwardAPI", "secret"):
            paths |= {item["path"] for item in (source.get(kind) or {}).get("items", [])}
    # What the Kubernetes client's in-cluster configuration reads, and nothing else.
    assert paths == {"token", "ca.crt", "namespace"}
    token = next(source["serviceAccountToken"] for source in sources if "serviceAccountToken" in source)
    assert 600 <= token["expirationSeconds"] <= 3600
    assert (
        volumes[mounts["/reports"]]["persistentVolumeClaim"]["claimName"]
        == by_kind["PersistentVolumeClaim"]["metadata"]["name"]
    )
    args = container["args"]
    assert args[args.index("-m") + 1] == "preflight or parity or smoke"
    assert "--env=prod" in args
    assert "--report-dir=/reports" in args
    assert "--registry-auth=/var/run/secrets/bitiq/registry/config.json" in args
    assert "python -m fixtures.reporting /reports/gate.json" in container["command"][2]


def test_diagnostics_read_as_the_runner(
    run_suite: RunSuite, sandbox: Sandbox, tmp_path: Path, audit_offset: Callable[[], list[dict[str, Any]]]
) -> None:
    """A failing check's diagnostics are read with the runner's own rights: the rules kept for them are
    enough (the Route's Service and EndpointSlices, the Events), and nothing is refused."""
    sandbox.use("route-503", fresh=True)
    try:
        failing_runner = apply_rbac(sandbox, tmp_path / "kubeconfig")
        run = as_runner(run_suite, failing_runner, "-m", "parity", "--env", ENV, "-k", "serves_200")
        failing = [record for record in run.results if record["verdict"] == "FAIL"]
        assert failing, run.output
        diagnostics = [entry for record in failing for entry in record["diagnostics"]]
        assert {entry["topic"] for entry in diagnostics} >= {"service", "endpoints"}, diagnostics
        assert not [entry for entry in diagnostics if DENIAL.search(entry["text"])], diagnostics
        sent = requests_of(audit_offset(), failing_runner.username)
        assert [e for e in sent if (e.get("responseStatus") or {}).get("code") == 403] == []
    finally:
        sandbox.use(SCENARIO, fresh=True)
