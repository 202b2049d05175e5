"""Checks that could not look must not pass: the Image Updater write-back, the pushed image, route DNS.

The registry is the sandbox's distribution server. Distribution 2.8 (Debian's) lists every tag in one
answer, so the paging of the OCI distribution spec (`?n=`, `last`, `Link: <...>; rel="next"`) and
the answers it never gives on its own (429, 503) come from a real HTTP server on loopback in front
of it (``RegistryFront``): every other request is relayed to the registry unchanged.
"""

from __future__ import annotations

import calendar
import hashlib
import http.client
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from fixtures.registry import ImageRef, RegistryClient, RegistryUnreadable, basic_auth
from fixtures.sandbox import Sandbox, servers
from tests.conftest import RunSuite, SuiteRun

REGISTRY = "quay.io"  # the registry the charts name; the sandbox's endpoint stands in for it
BACKEND = "bitiq/bitiq-sample-backend"
FRONTEND = "bitiq/bitiq-sample-frontend"
WRITE_BACK = "parity.imageupdater.write-back"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
RELAYED_HEADERS = ("Content-Type", "Content-Length", "Docker-Content-Digest", "WWW-Authenticate", "Location")


class RegistryFront:
    """A real HTTP server on loopback relaying to the sandbox registry, except for tags/list, which
    it pages per the OCI distribution spec (``mode="page"``) or answers with ``mode`` as a status."""

    def __init__(self, upstream_port: int, mode: str = "page") -> None:
        self.upstream_port = upstream_port
        self.mode = mode
        self.tag_requests: list[str] = []  # the path and query of every tags/list request
        front = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                front.handle(self, "GET")

            def do_HEAD(self) -> None:
                front.handle(self, "HEAD")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> RegistryFront:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def relay(self, method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=10)
        try:
            connection.request(method, path, headers=headers)
            answer = connection.getresponse()
            body = answer.read()
            return answer.status, {k: v for k, v in answer.getheaders() if k in RELAYED_HEADERS}, body
        finally:
            connection.close()

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        headers = {k: v for k, v in request.headers.items() if k in ("Authorization", "Accept")}
        parts = urlsplit(request.path)
        if parts.path.endswith("/tags/list"):
            self.tag_requests.append(request.path)
            if self.mode != "page":
                status = int(self.mode)
                extra = {"Retry-After": "30"} if status == 429 else {}
                self.answer(request, status, {"Content-Type": "application/json", **extra}, b'{"errors":[]}')
                return
            status, answer_headers, body = self.relay(method, parts.path, headers)
            if status == 200:
                body, link = self.page(json.loads(body), parts.path, parse_qs(parts.query))
                answer_headers = {"Content-Type": "application/json", **link}
            self.answer(request, status, answer_headers, body)
            return
        self.answer(request, *self.relay(method, request.path, headers))

    @staticmethod
    def page(listing: dict[str, Any], path: str, query: dict[str, list[str]]) -> tuple[bytes, dict[str, str]]:
        """One page of the tag list: lexical order, after ``last``, at most ``n``, Link to the rest."""
        tags = sorted(listing.get("tags") or [])
        last = (query.get("last") or [""])[0]
        tags = [tag for tag in tags if tag > last]
        size = int((query.get("n") or [str(len(tags) or 1)])[0])
        shown, rest = tags[:size], tags[size:]
        link = {"Link": f'<{path}?n={size}&last={shown[-1]}>; rel="next"'} if rest else {}
        return json.dumps({"name": listing.get("name"), "tags": shown}).encode(), link

    @staticmethod
    def answer(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
        request.send_response(status)
        for key, value in headers.items():
            if key != "Content-Length":
                request.send_header(key, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(body)


def registry_port(sandbox: Sandbox) -> int:
    port = sandbox.state.registry.port
    assert port, "the scenario starts no registry"
    return port


def auths(sandbox: Sandbox) -> dict[str, str]:
    return {REGISTRY: basic_auth(servers.REGISTRY_USER, servers.registry_password(sandbox.state_dir))}


@pytest.fixture
def fresh(sandbox: Sandbox) -> Iterator[Any]:
    """Loads a scenario afresh for a test that pushes to its registry, and leaves it marked as
    changed so that the next test using that scenario loads it again."""

    def load(scenario: str) -> Sandbox:
        sandbox.use(scenario, fresh=True)
        return sandbox

    yield load
    sandbox.state.scenario = ""  # what this test pushed must not reach another test


def push_blob(session: requests.Session, base: str, repository: str, blob: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    started = session.post(f"{base}/v2/{repository}/blobs/uploads/", timeout=10)
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    upload = location if location.startswith("http") else base + location
    finished = session.put(
        f"{upload}{'&' if '?' in upload else '?'}digest={digest}",
        data=blob,
        headers={"Content-Type": "application/octet-stream"},
        timeout=10,
    )
    assert finished.status_code == 201, finished.text
    return digest


def push_manifest(
    session: requests.Session, base: str, repository: str, reference: str, document: Any
) -> dict[str, Any]:
    """PUTs a manifest or index; returns its descriptor."""
    content = json.dumps(document, sort_keys=True).encode()
    put = session.put(
        f"{base}/v2/{repository}/manifests/{reference}",
        data=content,
        headers={"Content-Type": document["mediaType"]},
        timeout=10,
    )
    assert put.status_code == 201, put.text
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    return {"mediaType": document["mediaType"], "digest": digest, "size": len(content)}


def push_index(sandbox: Sandbox, repository: str, tag: str, platforms: list[tuple[str, int]]) -> None:
    """A multi-arch OCI image index at ``tag``: one linux image per (architecture, minutes ago built)."""
    base = f"http://127.0.0.1:{registry_port(sandbox)}"
    entries = []
    with requests.Session() as session:
        session.auth = (servers.REGISTRY_USER, servers.registry_password(sandbox.state_dir))
        for architecture, minutes_ago in platforms:
            layer = f"bitiq sandbox image {repository}:{tag} for {architecture}\n".encode()
            created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60 * minutes_ago))
            config = json.dumps(
                {
                    "architecture": architecture,
                    "os": "linux",
                    "created": created,
                    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
                },
                sort_keys=True,
            ).encode()
            manifest = {
                "schemaVersion": 2,
                "mediaType": servers.OCI_MANIFEST,
                "config": {
                    "mediaType": servers.OCI_CONFIG,
                    "digest": push_blob(session, base, repository, config),
                    "size": len(config),
                },
                "layers": [
                    {
                        "mediaType": servers.OCI_LAYER,
                        "digest": push_blob(session, base, repository, layer),
                        "size": len(layer),
                    }
                ],
            }
            digest = "sha256:" + hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()
            descriptor = push_manifest(session, base, repository, digest, manifest)
            entries.append({**descriptor, "platform": {"os": "linux", "architecture": architecture}})
        push_manifest(
            session, base, repository, tag, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        )


def write_back(run: SuiteRun) -> dict[str, Any]:
    return run.record(WRITE_BACK)


# The registry client --------------------------------------------------------------------------


def test_tag_lists_follow_link_pages(sandbox: Sandbox) -> None:
    sandbox.use("write-back-stale")  # three backend tags
    with RegistryFront(registry_port(sandbox)) as front:
        # The registry itself, which answers every tag at once whatever `n` says.
        direct = RegistryClient({REGISTRY: f"http://127.0.0.1:{registry_port(sandbox)}"}, auths(sandbox))
        try:
            wanted = sorted(direct.tags(REGISTRY, BACKEND))
        finally:
            direct.close()
        assert len(wanted) == 3
        for page_size, pages in ((1, 3), (2, 2), (1000, 1)):
            front.tag_requests.clear()
            client = RegistryClient({REGISTRY: front.url}, auths(sandbox), page_size=page_size)
            try:
                assert client.tags(REGISTRY, BACKEND) == wanted
            finally:
                client.close()
            assert len(front.tag_requests) == pages, front.tag_requests
            assert all(f"n={page_size}" in request for request in front.tag_requests)
        bounded = RegistryClient({REGISTRY: front.url}, auths(sandbox), page_size=1, max_pages=2)
        try:
            with pytest.raises(RegistryUnreadable, match="more than 2 pages of 1 tags"):
                bounded.tags(REGISTRY, BACKEND)
        finally:
            bounded.close()


@pytest.mark.parametrize("status", [503, 429])
def test_a_registry_that_does_not_answer_raises(sandbox: Sandbox, status: int) -> None:
    sandbox.use("healthy-prod")
    with RegistryFront(registry_port(sandbox), mode=str(status)) as front:
        client = RegistryClient({REGISTRY: front.url}, auths(sandbox))
        try:
            with pytest.raises(RegistryUnreadable) as raised:
                client.tags(REGISTRY, BACKEND)
            with pytest.raises(RegistryUnreadable):  # remembered, not asked again
                client.tags(REGISTRY, BACKEND)
        finally:
            client.close()
    assert f"registry quay.io answered {status}" in str(raised.value)
    assert f"for tags/list of {BACKEND}" in str(raised.value)
    assert len(front.tag_requests) == 1


def test_refused_credentials_are_named_never_printed(sandbox: Sandbox) -> None:
    sandbox.use("healthy-prod")
    wrong = basic_auth(servers.REGISTRY_USER, "not-the-password")
    client = RegistryClient({REGISTRY: f"http://127.0.0.1:{registry_port(sandbox)}"}, {REGISTRY: wrong})
    try:
        with pytest.raises(RegistryUnreadable) as raised:
            client.tags(REGISTRY, BACKEND)
        lookup = client.manifest_digest(ImageRef(REGISTRY, BACKEND, "v0.3.2-commit.9b1e7d3"))
    finally:
        client.close()
    message = str(raised.value)
    assert (
        message == f"registry quay.io refused the credentials (401) for tags/list of {BACKEND}: check --registry-auth"
    )
    assert lookup.unreadable
    assert "(401)" in lookup.error
    for text in (message, lookup.error):
        assert wrong not in text
        assert "not-the-password" not in text


def test_multi_arch_build_time_is_the_amd64_config(fresh: Any) -> None:
    sandbox = fresh("healthy-prod")
    # arm64 listed first and built later: the time read must be amd64's, not the first entry's nor 0.
    push_index(sandbox, BACKEND, "v0.3.3-commit.1a2b3c4", [("arm64", 1), ("amd64", 20)])
    client = RegistryClient({REGISTRY: f"http://127.0.0.1:{registry_port(sandbox)}"}, auths(sandbox))
    try:
        created = client.created(ImageRef(REGISTRY, BACKEND, "v0.3.3-commit.1a2b3c4"))
    finally:
        client.close()
    age = time.time() - calendar.timegm(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ"))
    assert 19 * 60 < age < 21 * 60, created


# The checks, through the suite ----------------------------------------------------------------


def test_write_back_is_not_evaluated_when_tags_list_answers_503(run_suite: RunSuite, sandbox: Sandbox) -> None:
    sandbox.use("healthy-prod")
    with RegistryFront(registry_port(sandbox), mode="503") as front:
        run = run_suite(
            "-m", "parity", "--env", "prod", "-k", "write_back", "--registry-endpoint", f"{REGISTRY}={front.url}"
        )
    record = write_back(run)
    assert record["verdict"] == "NOT-EVALUATED", run.output[-3000:]
    assert f"registry quay.io answered 503 for tags/list of {BACKEND}" in record["evidence"]
    assert run.exit_code == 1


def test_refused_credentials_leave_registry_checks_not_evaluated(
    run_suite: RunSuite, sandbox: Sandbox, tmp_path: Any
) -> None:
    sandbox.use("healthy-prod")
    wrong = basic_auth(servers.REGISTRY_USER, "not-the-password")
    auth_file = tmp_path / "auth.json"
    auth_file.write_text(json.dumps({"auths": {REGISTRY: {"auth": wrong}}}))
    run = run_suite(
        "-m",
        "parity",
        "--env",
        "prod",
        "-k",
        "write_back or (image_pushed and backend)",
        "--registry-auth",
        str(auth_file),
    )
    for check_id in (WRITE_BACK, "parity.tekton.image-pushed"):
        record = run.record(check_id)
        assert record["verdict"] == "NOT-EVALUATED", run.output[-3000:]
        assert "refused the credentials (401)" in record["evidence"]
    for secret in (wrong, "not-the-password", servers.registry_password(sandbox.state_dir)):
        assert secret not in run.output
        assert secret not in json.dumps(run.document)


def test_write_back_reads_the_build_time_of_a_multi_arch_index(run_suite: RunSuite, fresh: Any) -> None:
    sandbox = fresh("healthy-prod")
    push_index(sandbox, BACKEND, "v0.3.3-commit.1a2b3c4", [("arm64", 1), ("amd64", 20)])
    record = write_back(run_suite("-m", "parity", "--env", "prod", "-k", "write_back"))
    assert record["verdict"] == "FAIL", record
    assert (
        "backend: the newest eligible tag v0.3.3-commit.1a2b3c4 (built 20 min ago) is not written back"
        in (record["evidence"])
    )


def test_write_back_is_not_evaluated_when_an_index_has_no_image(run_suite: RunSuite, fresh: Any) -> None:
    sandbox = fresh("healthy-prod")
    push_index(sandbox, FRONTEND, "v0.3.3-commit.2b3c4d5", [])
    record = write_back(run_suite("-m", "parity", "--env", "prod", "-k", "write_back"))
    assert record["verdict"] == "NOT-EVALUATED", record
    assert (
        f"frontend: registry quay.io: quay.io/{FRONTEND}:v0.3.3-commit.2b3c4d5 is a multi-arch index"
        in (record["evidence"])
    )


@pytest.mark.parametrize(
    ("scenario", "missing"), [("image-list-partial", "frontend"), ("image-list-missing", "backend, frontend")]
)
def test_write_back_fails_naming_the_images_the_list_lacks(run_suite: RunSuite, scenario: str, missing: str) -> None:
    record = write_back(run_suite("-m", "parity", "--env", "prod", "-k", "write_back", scenario=scenario))
    assert record["verdict"] == "FAIL", record
    assert f"lacks {missing}:" in record["evidence"]


def test_image_pushed_reads_the_latest_successful_run(run_suite: RunSuite) -> None:
    run = run_suite("-m", "parity", "--env", "prod", "-k", "tekton and backend", scenario="pipelinerun-latest-failed")
    assert run.record("parity.tekton.latest-run-succeeded")["verdict"] == "FAIL"
    assert "bitiq-build-and-push-r5t8w failed" in run.record("parity.tekton.latest-run-succeeded")["evidence"]
    pushed = run.record("parity.tekton.image-pushed")
    assert pushed["verdict"] == "PASS", run.output[-3000:]
    assert f"quay.io/{BACKEND}:v0.3.2-commit.9b1e7d3@sha256:" in pushed["evidence"]
    run = run_suite("-m", "parity", "--env", "prod", "-k", "image_pushed and backend", scenario="pipelinerun-failed")
    pushed = run.record("parity.tekton.image-pushed")
    assert pushed["verdict"] == "FAIL"
    assert (
        "none of the 2 PipelineRun(s) of openshift-pipelines/bitiq-build-and-push has succeeded" in pushed["evidence"]
    )


def route_dns(run: SuiteRun) -> dict[str, dict[str, Any]]:
    """parity.routes.dns records by route host label."""
    records = [r for r in run.results if r["id"] == "parity.routes.dns"]
    return {label: r for r in records for label in ("svc-api", "svc-web") if label in r["nodeid"]}


def test_route_dns_compares_with_the_router(run_suite: RunSuite, sandbox: Sandbox) -> None:
    run = run_suite("-m", "parity", "--env", "prod", "-k", "route_resolves", scenario="route-dns-stale")
    records = route_dns(run)
    assert records["svc-web"]["verdict"] == "PASS", run.output[-3000:]
    stale = records["svc-api"]
    assert stale["verdict"] == "FAIL"
    assert f"svc-api.{sandbox.domain} resolves to 127.0.0.2" in stale["evidence"]
    assert "want the router's 127.0.0.1" in stale["evidence"]
    assert "127.0.0.2 is not the router" in stale["evidence"]


def test_route_dns_without_a_wildcard_compares_with_the_ingress_address(run_suite: RunSuite, sandbox: Sandbox) -> None:
    run = run_suite("-m", "parity", "--env", "prod", "-k", "route_resolves", scenario="route-dns-host-records")
    records = route_dns(run)
    assert {label: r["verdict"] for label, r in records.items()} == {"svc-api": "PASS", "svc-web": "PASS"}
    assert all("--ingress-address 127.0.0.1" in r["evidence"] for r in records.values())
    port = sandbox.state.router.port
    run = run_suite("-m", "parity", "--env", "prod", "-k", "route_resolves", "--ingress-address", f"localhost:{port}")
    records = route_dns(run)
    assert {label: r["verdict"] for label, r in records.items()} == {
        "svc-api": "NOT-EVALUATED",
        "svc-web": "NOT-EVALUATED",
    }
    assert all("the router's address is unknown" in r["evidence"] for r in records.values())
    assert all("--ingress-address localhost is not an IP address" in r["evidence"] for r in records.values())
