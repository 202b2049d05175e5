"""The benchmark's tools: a scaled sandbox (fixtures/sandbox/scale.py) and a latency proxy
(fixtures/sandbox/latency_proxy.py) in front of the real API server."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from fixtures.cluster import Cluster
from fixtures.kube import KubeTransport, Target
from fixtures.sandbox import Sandbox
from fixtures.sandbox.latency_proxy import LatencyProxy
from fixtures.sandbox.scale import APPS_NAMESPACE, ROUTES_NAMESPACE, Scale

ARGO = "argoproj.io"


@pytest.fixture
def scaled(sandbox: Sandbox) -> Iterator[Sandbox]:
    sandbox.use("healthy-prod", fresh=True)
    try:
        yield sandbox
    finally:
        sandbox.use("healthy-prod", fresh=True)  # the copies must not outlive this test


def test_scale_copies_the_scenarios_own_objects(scaled: Sandbox) -> None:
    with scaled.admin_transport() as transport:
        before = Cluster(transport)
        nodes = len(before.list_kind("", "nodes"))
        apps = len(before.list_kind(ARGO, "applications"))
    written = scaled.scale(Scale(nodes=nodes + 4, applications=3, routes=2))
    assert written == 4 + 3 + 2 + 2  # two namespaces of other tenants
    with scaled.admin_transport() as transport:
        after = Cluster(transport)
        workers = [n for n in after.list_kind("", "nodes") if n["metadata"]["name"].startswith("bench-worker-")]
        tenants = list(after.objects(ARGO, "applications", APPS_NAMESPACE))
        routes = list(after.objects("route.openshift.io", "routes", ROUTES_NAMESPACE))
        assert len(after.list_kind(ARGO, "applications")) == apps + 3
    assert len(workers) == 4
    assert all("node-role.kubernetes.io/worker" in n["metadata"]["labels"] for n in workers)
    # Copies keep the status (a healthy cluster stays healthy) but are nobody's bitiq objects.
    assert all((n.get("status") or {}).get("conditions") for n in workers)
    assert all("bitiq.io/env" not in (a["metadata"].get("labels") or {}) for a in tenants)
    assert all(a.get("status") for a in tenants)
    assert {r["spec"]["host"].split(".")[0] for r in routes} == {"tenant-route-0000", "tenant-route-0001"}


def test_latency_proxy_delays_each_way(sandbox: Sandbox, tmp_path: object) -> None:
    sandbox.use("healthy-prod")
    one_way = 0.05
    with LatencyProxy(("127.0.0.1", sandbox.state.apiserver.port), one_way=one_way) as proxy:
        config = tmp_path / "kubeconfig"  # type: ignore[operator]
        text = sandbox.kubeconfig("reader").read_text().replace(sandbox.server, f"https://127.0.0.1:{proxy.port}")
        config.write_text(text)
        with KubeTransport(Target(kubeconfig=str(config))) as transport:
            transport.get("/version")  # connection and TLS set up
            started = time.monotonic()
            version = transport.get("/version")
            elapsed = time.monotonic() - started
    assert version["major"] == "1"
    # One round trip on a reused connection: at least the two delays, not much more.
    assert 2 * one_way <= elapsed < 2 * one_way + 0.5
    assert proxy.connections == 1  # the second request reused the first one's connection
