"""Preflight: is the cluster itself fit for the stack (version, nodes, storage)?"""

from typing import Any

import pytest

from fixtures.checks import ADVISORY, BLOCKING, check, fail, not_applicable, note, warn
from fixtures.cluster import Cluster
from fixtures.openshift import (
    MIN_OPENSHIFT_VERSION,
    cluster_version_state,
    condition,
    condition_is,
    describe_condition,
    name_of,
    node_state,
)
from fixtures.settings import RunSettings

pytestmark = pytest.mark.preflight

CLUSTER_VERSIONS = ("config.openshift.io", "clusterversions")
DEFAULT_CLASS_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)


def cluster_version_or_na(cluster: Cluster) -> dict[str, Any]:
    """The ClusterVersion 'version'; N/A on a cluster that is not OpenShift."""
    if not cluster.serves(*CLUSTER_VERSIONS):
        not_applicable("not an OpenShift cluster (see preflight.cluster.openshift-version)")
    found = cluster.find(*CLUSTER_VERSIONS, "version")
    if found is None:
        not_applicable("ClusterVersion 'version' does not exist (see preflight.cluster.openshift-version)")
    return found


@check(
    "preflight.cluster.openshift-version",
    level=BLOCKING,
    remediation="Bootstrap needs OpenShift 4.19 or newer: update the cluster (`oc adm upgrade channel"
    " stable-4.19` then `oc adm upgrade --to-latest`) or target a 4.19 cluster.",
    sources=("clusterversion-running-version",),
)
def test_openshift_version(cluster: Cluster) -> None:
    """The cluster runs OpenShift 4.19 or newer: the version of its newest Completed update."""
    if not cluster.serves(*CLUSTER_VERSIONS):
        fail(
            "not an OpenShift cluster: config.openshift.io/v1 ClusterVersion is not served"
            " (plain Kubernetes?); the stack needs OpenShift 4.19 or newer"
        )
    cluster_version = cluster.find(*CLUSTER_VERSIONS, "version")
    if cluster_version is None:
        fail("ClusterVersion 'version' does not exist: is the cluster-version operator installed?")
    state = cluster_version_state(cluster_version)
    if state.running is None:
        fail(f"cannot tell which version runs: {state}")
    if state.running < MIN_OPENSHIFT_VERSION:
        fail(f"OpenShift {state.running.minor_line} is older than {MIN_OPENSHIFT_VERSION}: {state}")
    note(f"OpenShift {state}")


@check(
    "preflight.cluster.version-available",
    level=BLOCKING,
    remediation="Fix the failing cluster operators before bootstrapping: `oc adm upgrade` shows the"
    " reason, `oc get clusteroperators` the degraded ones.",
    sources=("clusterversion-conditions",),
)
def test_cluster_version_available(cluster: Cluster) -> None:
    """ClusterVersion reports Available=True and Failing is not True."""
    cluster_version = cluster_version_or_na(cluster)
    problems = []
    if not condition_is(cluster_version, "Available", "True"):
        problems.append(describe_condition(condition(cluster_version, "Available")))
    if condition_is(cluster_version, "Failing", "True"):
        problems.append(describe_condition(condition(cluster_version, "Failing")))
    if problems:
        fail("ClusterVersion: " + "; ".join(problems))
    note(describe_condition(condition(cluster_version, "Available")))


@check(
    "preflight.cluster.not-upgrading",
    level=ADVISORY,
    remediation="Let the update finish (`oc adm upgrade` shows progress) before bootstrapping:"
    " operators installed mid-update may be rescheduled or fail to resolve.",
    sources=("clusterversion-conditions", "clusterversion-running-version"),
)
def test_not_upgrading(cluster: Cluster) -> None:
    """No cluster update is in progress (ClusterVersion Progressing is not True)."""
    cluster_version = cluster_version_or_na(cluster)
    if condition_is(cluster_version, "Progressing", "True"):
        state = cluster_version_state(cluster_version)
        fail(f"upgrade in progress: {describe_condition(condition(cluster_version, 'Progressing'))}; {state}")
    note(describe_condition(condition(cluster_version, "Progressing")))


@check(
    "preflight.nodes.workers-ready",
    level=BLOCKING,
    remediation="Add or repair worker nodes (`oc get nodes -l node-role.kubernetes.io/worker`),"
    " uncordon drained ones (`oc adm uncordon <node>`), or lower --min-workers for a smaller env.",
    sources=("node-role-labels", "node-ready-unschedulable"),
)
def test_workers_ready(cluster: Cluster, settings: RunSettings) -> None:
    """At least --min-workers (default 3) worker nodes are Ready and schedulable."""
    workers = [state for state in map(node_state, cluster.list_kind("", "nodes")) if state.worker]
    usable = [state.name for state in workers if state.problem is None]
    unusable = [f"{state.name} ({state.problem})" for state in workers if state.problem]
    summary = f"{len(usable)} of {len(workers)} worker nodes Ready and schedulable"
    if unusable:
        summary += f"; not usable: {', '.join(unusable)}"
    if len(usable) < settings.min_workers:
        fail(f"{summary}; need at least {settings.min_workers}")
    note(summary)


@check(
    "preflight.nodes.control-plane-ready",
    level=ADVISORY,
    remediation="A production control plane has three Ready nodes (`oc get nodes -l"
    " node-role.kubernetes.io/control-plane`); single-node clusters are for local envs only.",
    sources=("node-role-labels", "node-ready-unschedulable"),
)
def test_control_plane_ready(cluster: Cluster, settings: RunSettings) -> None:
    """At least --min-control-plane (default 3) control-plane nodes are Ready."""
    nodes = [node_state(node) for node in cluster.list_kind("", "nodes")]
    control_plane = [state for state in nodes if state.control_plane]
    ready = [state.name for state in control_plane if state.ready]
    if len(ready) >= settings.min_control_plane:
        note(f"{len(ready)} control-plane nodes Ready: {', '.join(ready)}")
        return
    if len(nodes) == 1 and control_plane and control_plane[0].worker:
        fail(
            f"single-node cluster: {control_plane[0].name} carries the control-plane and worker roles,"
            f" so the control plane has no redundancy (want {settings.min_control_plane} nodes)"
        )
    not_ready = [state.name for state in control_plane if not state.ready]
    fail(
        f"{len(ready)} of {len(control_plane)} control-plane nodes Ready"
        + (f" (NotReady: {', '.join(not_ready)})" if not_ready else "")
        + f"; want at least {settings.min_control_plane}"
    )


@check(
    "preflight.storage.default-class",
    level=BLOCKING,
    remediation="Mark exactly one StorageClass default: `oc patch storageclass <name> -p"
    ' \'{"metadata":{"annotations":{"storageclass.kubernetes.io/is-default-class":"true"}}}\'`'
    ' (and set the others to "false").',
    sources=("default-storageclass-annotation",),
)
def test_default_storage_class(cluster: Cluster) -> None:
    """Exactly one StorageClass is the default (none fails; several is a WARN)."""
    classes = cluster.list_kind("storage.k8s.io", "storageclasses")
    defaults = [
        name_of(storage_class)
        for storage_class in classes
        if any(
            ((storage_class.get("metadata") or {}).get("annotations") or {}).get(key) == "true"
            for key in DEFAULT_CLASS_ANNOTATIONS
        )
    ]
    if not defaults:
        names = ", ".join(sorted(name_of(storage_class) for storage_class in classes)) or "none"
        fail(f"no default StorageClass (StorageClasses: {names}): PVCs without a class stay Pending")
    if len(defaults) > 1:
        warn(
            f"{len(defaults)} default StorageClasses: {', '.join(sorted(defaults))};"
            " which one a PVC without a class gets is unclear"
        )
    note(f"default StorageClass {defaults[0]}")
