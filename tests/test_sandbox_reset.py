"""Switching scenarios in place (Sandbox.use) leaves the cluster a restart would: nothing of the last
scenario, nor of what a test wrote, survives; only the API server's own objects are kept."""

from __future__ import annotations

from fixtures.sandbox import Sandbox
from fixtures.sandbox.loader import Loader, server_owned

LEFT_BY_A_TEST = "left-by-a-test"


def _contents(sandbox: Sandbox) -> set[tuple[str, str, str, str]]:
    with sandbox.admin_transport() as transport:
        return {
            (api.group, api.resource, str(metadata.get("namespace") or ""), str(metadata.get("name")))
            for api, metadata in Loader(transport).inventory()
            if not server_owned(api, metadata)
        }


def test_a_switch_in_place_leaves_what_a_restart_leaves(sandbox: Sandbox) -> None:
    sandbox.use("app-namespace-terminating")  # a Namespace stuck Terminating, as no controller runs here
    with sandbox.admin_transport() as transport:
        transport.request("POST", "/api/v1/namespaces", body={"metadata": {"name": LEFT_BY_A_TEST}})
        held = {"metadata": {"name": "held", "finalizers": ["example.com/never-removed"]}}
        transport.request("POST", f"/api/v1/namespaces/{LEFT_BY_A_TEST}/configmaps", body=held)
        transport.request("DELETE", f"/api/v1/namespaces/{LEFT_BY_A_TEST}")  # Terminating too, holding "held"
    generation = sandbox.state.generation

    sandbox.use("route-503")
    assert sandbox.state.generation == generation, "the switch restarted the API server"
    in_place = _contents(sandbox)
    assert not {entry for entry in in_place if LEFT_BY_A_TEST in entry}

    sandbox.use("route-503", fresh=True)
    assert sandbox.state.generation == generation + 1
    assert _contents(sandbox) == in_place


def test_a_change_of_crds_restarts(sandbox: Sandbox) -> None:
    sandbox.use("route-503")
    generation = sandbox.state.generation
    sandbox.use("plain-kubernetes")
    assert sandbox.state.generation == generation + 1
    assert not {entry for entry in _contents(sandbox) if entry[0] == "argoproj.io"}
