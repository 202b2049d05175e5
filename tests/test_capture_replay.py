"""--capture-to and --replay: runs captured on a sandbox, replayed with the sandbox stopped and no socket.

A module-scoped sandbox of its own holds each scenario in turn while the suite captures
`-m "preflight or parity or smoke"` on it (as the admin user the scenario CASES use); the sandbox is
then stopped, and every replay runs in a subprocess with none of the sandbox's variables, an audit
hook recording every socket.connect and socket.bind. Verdicts and evidence must equal the captured
run's, record by record.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

from fixtures.cluster import Cluster
from fixtures.sandbox import Sandbox
from tests.conftest import REPO, SUITE_RUN_TIMEOUT, VERIFIED_COMPATIBILITY

MARKERS = "preflight or parity or smoke"
# Each fault comes from the scenario CASES (tests/test_parity_scenarios.py), one per kind of read:
SCENARIOS = {
    "healthy-prod": "nothing fails; Secrets carry planted values",
    "umbrella-degraded": "API: an Application Degraded",
    "route-dns-missing": "DNS: a route host does not resolve",
    "route-503": "HTTP probe: a route answers 503",
    "image-missing": "registry: the pushed image is not there",
    "write-back-stale": "git: the write-back commit is behind the registry",
}
PLANTED = "planted-7c1e9a4b2f-never-in-a-capture"
SANDBOX_VARIABLES = (
    "KUBECONFIG",
    "BASE_DOMAIN",
    "BITIQ_NAMESERVER",
    "BITIQ_INGRESS_ADDRESS",
    "BITIQ_REGISTRY_ENDPOINT",
    "BITIQ_REGISTRY_AUTH",
    "BITIQ_GIT_REPO",
    "REPO_URL",
    "PYTEST_ADDOPTS",
)
AUDIT_PLUGIN = '''
"""Records every socket.connect and socket.bind of this process (a pytest plugin, loaded with -p)."""
import json
import os
import sys

_LOG = open(os.environ["BITIQ_SOCKET_LOG"], "a", encoding="utf-8")


def _hook(event, args):
    if event in ("socket.connect", "socket.bind"):
        frame, stack = sys._getframe(1), []
        while frame is not None and len(stack) < 6:
            stack.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name}")
            frame = frame.f_back
        _LOG.write(json.dumps({"event": event, "address": repr(args[1]), "stack": stack}) + "\\n")
        _LOG.flush()


sys.addaudithook(_hook)
'''


def pytest_process(*args: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``pytest <args> suites`` in this checkout, as a user starts it, in a process of its own."""
    command = [sys.executable, "-m", "pytest", "-c", str(REPO / "pyproject.toml"), "--rootdir", str(REPO)]
    return subprocess.run(
        [*command, "-p", "no:cacheprovider", *args, str(REPO / "suites")],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=SUITE_RUN_TIMEOUT,
        check=False,
    )


def run_suite(*args: str, report_dir: Path, environment: dict[str, str]) -> dict[str, Any]:
    completed = pytest_process(
        "--report-dir",
        str(report_dir),
        "--compatibility",
        str(VERIFIED_COMPATIBILITY),
        *args,
        environment=environment,
    )
    output = completed.stdout + completed.stderr
    results = report_dir / "results.json"
    assert results.exists(), output[-3000:]
    document: dict[str, Any] = json.loads(results.read_text())
    document["_exit_code"], document["_output"] = completed.returncode, output
    return document


def clean_environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name not in SANDBOX_VARIABLES}


def plant_secrets(sandbox: Sandbox) -> list[str]:
    """Gives the Secrets the suite reads unique values; returns every form a value takes in the API."""
    forms = [PLANTED]
    with sandbox.admin_transport() as transport:
        cluster = Cluster(transport)
        for namespace, name in (
            ("openshift-pipelines", "github-webhook-secret"),
            ("openshift-gitops", "image-updater-git-creds"),
            ("openshift-pipelines", "quay-auth"),
        ):
            path = f"/api/v1/namespaces/{namespace}/secrets/{name}"
            secret = transport.get(path)
            data = dict(secret.get("data") or {})
            for key, value in data.items():
                if key == ".dockerconfigjson":
                    document = json.loads(base64.b64decode(value))
                    for entry in (document.get("auths") or {}).values():
                        entry["auth"] = base64.b64encode(f"bot:{PLANTED}".encode()).decode()
                        forms.append(entry["auth"])
                    data[key] = base64.b64encode(json.dumps(document).encode()).decode()
                else:
                    data[key] = base64.b64encode(f"{PLANTED}-{key}".encode()).decode()
                forms.append(data[key])
            transport.request("PUT", path, body={**secret, "data": data})
        assert cluster.read("", "secrets", "github-webhook-secret", "openshift-pipelines") is not None
    return forms


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each scenario captured, then the sandbox stopped: {scenario: (capture file, results, planted forms)}."""
    root = tmp_path_factory.mktemp("capture")
    sandbox = Sandbox(root / "sandbox")
    taken: dict[str, Any] = {}
    try:
        sandbox.up("empty")
        for scenario in SCENARIOS:
            sandbox.use(scenario, fresh=scenario == "healthy-prod")
            forms = plant_secrets(sandbox) if scenario == "healthy-prod" else []
            environment = clean_environment() | {
                name: value for name, value in sandbox.exports("admin").items() if name != "KUBECONFIG"
            }
            capture = root / f"{scenario}.tar.gz"
            results = run_suite(
                "--kubeconfig",
                str(sandbox.kubeconfig("admin")),
                "-m",
                MARKERS,
                "--env",
                "prod",
                "--capture-to",
                str(capture),
                report_dir=root / f"{scenario}-captured",
                environment=environment,
            )
            assert capture.is_file(), results["_output"][-3000:]
            taken[scenario] = (capture, results, forms)
    finally:
        sandbox.down()
    assert not sandbox.apiserver_running()
    return taken


def replay(capture: Path, tmp_path: Path, *args: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Replays ``capture`` with no sandbox variables; returns the results and the sockets it opened."""
    (tmp_path / "socket_audit.py").write_text(textwrap.dedent(AUDIT_PLUGIN))
    log = tmp_path / "sockets.jsonl"
    environment = clean_environment() | {"PYTHONPATH": str(tmp_path), "BITIQ_SOCKET_LOG": str(log)}
    environment.pop("KUBECONFIG", None)
    results = run_suite(
        "-p", "socket_audit", "--replay", str(capture), *args, report_dir=tmp_path / "replayed", environment=environment
    )
    # The hook was live: urllib3's import-time IPv6 probe (below) is always recorded.
    assert log.exists(), "the socket audit hook recorded nothing: was it loaded?"
    sockets = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(ipv6_probe(event) for event in sockets), sockets
    return results, [event for event in sockets if not ipv6_probe(event)]


def ipv6_probe(event: dict[str, Any]) -> bool:
    """urllib3's import-time question "does this host have IPv6?" (urllib3/util/connection.py
    `_has_ipv6`): a bind of ::1 to port 0, closed at once; nothing is sent or received."""
    return (
        event["event"] == "socket.bind"
        and event["address"] == "('::1', 0)"
        and any(frame.endswith("urllib3/util/connection.py:_has_ipv6") for frame in event["stack"])
    )


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    """results.json without what differs between two runs of the same answers: times, request counts."""
    results = sorted(
        ({key: value for key, value in record.items() if key != "duration"} for record in document["results"]),
        key=lambda record: record["nodeid"],
    )
    clusters = [{key: value for key, value in c.items() if key != "api_requests"} for c in document["clusters"]]
    return {"results": results, "clusters": clusters, "exit_status": document["exit_status"]}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_replay_gives_the_captured_verdicts_and_evidence_with_no_socket(
    captures: dict[str, Any], scenario: str, tmp_path: Path
) -> None:
    capture, captured, _ = captures[scenario]
    replayed, sockets = replay(capture, tmp_path, "-m", MARKERS, "--env", "prod")
    assert sockets == [], f"the replay opened sockets: {sockets[:5]}"
    assert replayed["_exit_code"] == captured["_exit_code"], replayed["_output"][-3000:]
    assert len(captured["results"]) > 50
    assert comparable(replayed) == comparable(captured)
    assert not [r for r in replayed["results"] if "holds no" in r["evidence"]], "a read was missing from the capture"


def test_the_faults_are_the_ones_captured(captures: dict[str, Any]) -> None:
    """Each fault scenario failed where its CASES entry says, so the replays above compared real findings."""
    from tests.test_parity_scenarios import CASES  # noqa: PLC0415 - the pinned verdicts, read here only

    for scenario in SCENARIOS:
        _, captured, _ = captures[scenario]
        failing = {r["id"] for r in captured["results"] if r["verdict"] == "FAIL" and r["id"].startswith("parity.")}
        expected = {key.split("[")[0] for key in CASES[scenario]}
        assert failing == expected, (scenario, failing)


def test_a_capture_holds_no_secret_value(captures: dict[str, Any]) -> None:
    capture, captured, forms = captures["healthy-prod"]
    assert len(forms) >= 4
    blobs = [capture.read_bytes()]
    with tarfile.open(capture, "r:gz") as archive:
        names = archive.getnames()
        for member in archive.getmembers():
            handle = archive.extractfile(member)
            assert handle is not None
            blobs.append(handle.read())
    assert sorted(names) == ["answers.json", "manifest.json"]
    for form in forms:
        for blob in blobs:
            assert form.encode() not in blob, f"a planted secret value ({form[:12]}...) is in the capture"
    answers = blobs[2].decode() if names[1] == "answers.json" else blobs[1].decode()
    # The Secrets were read (and kept, redacted): the test above would prove nothing otherwise.
    assert "github-webhook-secret" in answers
    assert "<redacted>" in answers
    assert captured["results"]
    assert not any(PLANTED in r["evidence"] for r in captured["results"])


def test_manifest_says_what_ran(captures: dict[str, Any]) -> None:
    capture, _, _ = captures["route-503"]
    with tarfile.open(capture, "r:gz") as archive:
        handle = archive.extractfile("manifest.json")
        assert handle is not None
        manifest = json.loads(handle.read())
    assert manifest["markers"] == MARKERS
    assert [env["name"] for env in manifest["envs"]] == ["prod"]
    assert manifest["envs"][0]["probes"]["nameserver"]
    assert manifest["clusters"][0]["kubernetes_version"].startswith("v1.")
    assert manifest["suite_version"]
    assert manifest["time"]


def test_a_read_the_capture_lacks_is_not_evaluated_naming_it(captures: dict[str, Any], tmp_path: Path) -> None:
    """A capture of preflight replayed with parity: parity's reads are not in it, and no check passes on them."""
    capture, _, _ = captures["route-503"]
    narrow = tmp_path / "narrow.tar.gz"
    with tarfile.open(capture, "r:gz") as archive:
        members = {name: archive.extractfile(name).read() for name in archive.getnames()}  # type: ignore[union-attr]
    answers = json.loads(members["answers.json"])
    answers["answers"].pop("http")  # every route probe
    members["answers.json"] = json.dumps(answers).encode()
    with tarfile.open(narrow, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    replayed, sockets = replay(narrow, tmp_path, "-m", "parity", "--env", "prod")
    assert sockets == []
    served = [r for r in replayed["results"] if r["id"] == "parity.routes.serve-200"]
    assert served
    assert {r["verdict"] for r in served} == {"NOT-EVALUATED"}, served
    assert all(str(narrow) in r["evidence"] for r in served), served[0]["evidence"]
    assert replayed["_exit_code"] == 1


def test_replay_refuses_an_env_the_capture_lacks(captures: dict[str, Any]) -> None:
    capture, _, _ = captures["route-503"]
    replayed = pytest_process(
        "--replay", str(capture), "--env", "local", "-m", "parity", environment=clean_environment()
    )
    assert replayed.returncode == 4
    assert "env 'local' is not in the capture (it holds prod)" in replayed.stderr, replayed.stderr[-2000:]
    assert len([line for line in replayed.stderr.splitlines() if line.strip()]) == 1, replayed.stderr


def test_capture_refuses_xdist(tmp_path: Path) -> None:
    completed = pytest_process(
        "-n", "2", "--capture-to", str(tmp_path / "c.tar.gz"), "-m", "static", environment=clean_environment()
    )
    assert completed.returncode == 4, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert "--capture-to does not run under xdist (-n)" in completed.stderr


def test_answers_keep_their_types_and_secrets_lose_their_values() -> None:
    """The capture's JSON gives back the dataclasses, tuples and suite errors the seams returned."""
    from fixtures import capture  # noqa: PLC0415
    from fixtures.dns_probe import DnsAnswer  # noqa: PLC0415
    from fixtures.errors import AccessDenied  # noqa: PLC0415
    from fixtures.registry import ImageRef, Lookup  # noqa: PLC0415

    for value in (
        DnsAnswer("a.example", "127.0.0.1:53", ("10.0.0.1",)),
        Lookup(ImageRef("quay.io", "bitiq/app", "v1"), digest="sha256:0"),
        ("one", "two"),
        {"items": [{"a": [1, None]}]},
    ):
        assert capture._decode(json.loads(json.dumps(capture._encode(value)))) == value
    denied = capture._decode_error(
        json.loads(json.dumps(capture._encode_error(AccessDenied("forbidden", verb="list", resource="pods"))))
    )
    assert isinstance(denied, AccessDenied)
    assert (str(denied), denied.verb, denied.resource) == ("forbidden", "list", "pods")
    secret = {
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"token": base64.b64encode(PLANTED.encode()).decode()},
    }
    for path, answer in (
        ("/api/v1/namespaces/n/secrets/s", secret),
        ("/api/v1/namespaces/n/secrets", {"items": [secret]}),
        ("/api/v1/secrets", {"items": [secret]}),
    ):
        assert PLANTED[:8] not in json.dumps(capture.redact_answer(path, answer))
        assert base64.b64encode(PLANTED.encode()).decode() not in json.dumps(capture.redact_answer(path, answer))
    assert capture.redact_answer("/api/v1/namespaces/n/configmaps", {"data": {"k": "v"}}) == {"data": {"k": "v"}}
