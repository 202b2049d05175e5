"""Preflight: namespaces bootstrap writes into, and the secrets it will need."""

import pytest

from fixtures.checks import ADVISORY, BLOCKING, check, fail, note
from fixtures.cluster import Cluster
from fixtures.conventions import PLATFORM_NAMESPACES, REQUIRED_SECRETS, RequiredSecret, require_secret
from fixtures.openshift import name_of
from fixtures.settings import EnvTarget

pytestmark = pytest.mark.preflight


@check(
    "preflight.namespaces.ready",
    level=BLOCKING,
    remediation="A Terminating namespace blocks bootstrap: find what holds it (`oc get namespace <ns>"
    " -o yaml`, its finalizers and remaining resources) and let the deletion finish before bootstrapping.",
    sources=("namespace-terminating-forbids-create",),
)
def test_namespaces_ready(cluster: Cluster, env: EnvTarget) -> None:
    """openshift-gitops, openshift-pipelines and the env's appNamespace are Active, or absent (bootstrap
    creates them), never Terminating."""
    wanted = (*PLATFORM_NAMESPACES, env.config.app_namespace)
    namespaces = {name_of(ns): ns for ns in cluster.list_kind("", "namespaces")}
    terminating, present, absent = [], [], []
    for name in wanted:
        namespace = namespaces.get(name)
        if namespace is None:
            absent.append(name)
        elif (namespace.get("status") or {}).get("phase") == "Terminating" or (namespace.get("metadata") or {}).get(
            "deletionTimestamp"
        ):
            terminating.append(name)
        else:
            present.append(name)
    if terminating:
        fail(f"Terminating: {', '.join(terminating)}")
    parts = []
    if present:
        parts.append(f"Active: {', '.join(present)}")
    if absent:
        parts.append(f"created by bootstrap: {', '.join(absent)}")
    note("; ".join(parts))


@check(
    "preflight.secrets.present",
    level=ADVISORY,
    remediation="Create the secret before bootstrap, from stdin or a file, never on the command line"
    " (docs/SECRETS.md), or let External Secrets / Sealed Secrets create it (charts/secrets-examples).",
    sources=("k8s-dockerconfigjson-secret",),
)
@pytest.mark.parametrize("secret", REQUIRED_SECRETS, ids=lambda secret: secret.name)
def test_secret_present(cluster: Cluster, secret: RequiredSecret) -> None:
    """A secret bootstrap needs exists with the expected type and keys (values are never read into output)."""
    require_secret(cluster, secret)
