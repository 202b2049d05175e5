"""Parity: the platform lets the stack do its work, asked with SubjectAccessReviews (never tried).

Argo CD's application controller may create what the Applications deploy; the `pipeline` ServiceAccount
may use its SCC; the EventListener's ServiceAccount may read the cluster-scoped interceptors and bindings.
Only review APIs and the Applications (already read by the GitOps checks) are needed, so the in-cluster
runner answers these with its own RBAC.
"""

from __future__ import annotations

from typing import Any

import pytest

from fixtures.checks import BLOCKING, check, fail, not_evaluated, note
from fixtures.cluster import AccessReview, Cluster, service_account_user
from fixtures.conventions import (
    ARGOCD_CONTROLLER_SERVICE_ACCOUNT,
    GITOPS_NAMESPACE,
    PIPELINE_SERVICE_ACCOUNT,
    PIPELINES_NAMESPACE,
    PIPELINES_SCC,
)
from fixtures.platform_rbac import resource_of
from fixtures.settings import EnvTarget

pytestmark = pytest.mark.parity

ARGO = "argoproj.io"
TRIGGERS = "triggers.tekton.dev"
# The EventListener of charts/ci-pipelines runs as the chart's serviceAccount: `pipeline`.
EVENTLISTENER_SERVICE_ACCOUNT = PIPELINE_SERVICE_ACCOUNT
CLUSTER_READS = ("clusterinterceptors", "clustertriggerbindings")


def _env_applications(cluster: Cluster, env: str) -> list[dict[str, Any]]:
    """The umbrella of the env and its nested Applications (labelled bitiq.io/env and part-of bitiq-umbrella)."""
    return sorted(
        (
            app
            for app in cluster.objects(ARGO, "applications", GITOPS_NAMESPACE)
            if ((app.get("metadata") or {}).get("labels") or {}).get("bitiq.io/env") == env
            and ((app.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/part-of") == "bitiq-umbrella"
        ),
        key=lambda app: str(app["metadata"].get("name")),
    )


def _resource(cluster: Cluster, group: str, kind: str) -> str:
    served = cluster.discovery().for_kind(group, kind)
    return served.resource if served is not None else resource_of(kind)


@check(
    "parity.platform.argocd-may-deploy",
    level=BLOCKING,
    remediation="Label the namespace `oc label namespace <ns> argocd.argoproj.io/managed-by=openshift-gitops`"
    " (charts/bitiq-umbrella renders bitiq-<env> labelled) and wait for the GitOps operator's RoleBinding"
    " openshift-gitops-argocd-application-controller there, or bind the controller to a Role covering the kind"
    " (charts/bitiq-umbrella argocdRbac, as for openshift-pipelines); docs/PROD-RUNBOOK.md"
    " 'Namespaces Argo CD and Tekton may use'.",
    sources=(
        "gitops-managed-by-label",
        "gitops-default-instance-cluster-rules",
        "k8s-admin-excludes-quota",
        "k8s-rbac-authorizer",
        "openshift-authorization-modes",
    ),
)
def test_argocd_may_deploy(cluster: Cluster, env: EnvTarget) -> None:
    """The default instance's application controller (SA openshift-gitops-argocd-application-controller) may
    create every kind each Application of the env deploys, in the namespace it deploys it to
    (SubjectAccessReview per namespace and kind, from the Applications' status.resources)."""
    applications = _env_applications(cluster, env.name)
    if not applications:
        fail(f"no Application of env {env.name} in {GITOPS_NAMESPACE} (parity.gitops.umbrella-healthy says why)")
    user = service_account_user(GITOPS_NAMESPACE, ARGOCD_CONTROLLER_SERVICE_ACCOUNT)
    questions: dict[tuple[str, str, str], str] = {}
    unlisted = []
    for app in applications:
        resources = (app.get("status") or {}).get("resources") or []
        if not resources:
            unlisted.append(str(app["metadata"].get("name")))
        for entry in resources:
            group, kind, namespace = str(entry.get("group") or ""), str(entry.get("kind", "")), entry.get("namespace")
            questions.setdefault((group, kind, str(namespace or "")), f"{app['metadata'].get('name')} deploys {kind}")
    reviews = cluster.subjects_can(
        [
            (user, "create", group, _resource(cluster, group, kind), namespace or None)
            for group, kind, namespace in questions
        ]
    )
    asked: dict[tuple[str, str, str], tuple[str, AccessReview]] = {
        key: (what, review) for (key, what), review in zip(questions.items(), reviews, strict=True)
    }
    if not asked:
        not_evaluated(
            f"no Application of env {env.name} lists its resources yet ({', '.join(unlisted)}): nothing to ask about"
        )
    denied = [f"{what}: {review}" for what, review in asked.values() if not review.allowed]
    if denied:
        fail("; ".join(denied))
    namespaces = sorted({key[2] or "cluster-wide" for key in asked})
    grants = sorted({review.granted_by or "a SubjectAccessReview" for _, review in asked.values()})
    note(
        f"{user[0]} may create all {len(asked)} kind/namespace pairs the Applications of {env.name} deploy"
        f" ({', '.join(namespaces)}), allowed by {'; '.join(grants)}"
        + (f"; no resources listed yet by {', '.join(unlisted)}" if unlisted else "")
    )


@check(
    "parity.platform.pipeline-scc",
    level=BLOCKING,
    remediation="Bind SA `pipeline` to ClusterRole pipelines-scc-clusterrole in openshift-pipelines"
    " (charts/ci-pipelines templates/platform-rbac.yaml, RoleBinding bitiq-pipeline-scc): the Pipelines operator"
    " does not create it in ^(openshift|kube)- namespaces.",
    sources=("pipelines-operator-ignores-openshift-namespaces", "k8s-rbac-authorizer", "openshift-authorization-modes"),
)
def test_pipeline_scc(cluster: Cluster) -> None:
    """The `pipeline` ServiceAccount in openshift-pipelines may `use` the SCC pipelines-scc (security.openshift.io
    securitycontextconstraints), which OpenShift Pipelines runs TaskRun pods with."""
    user = service_account_user(PIPELINES_NAMESPACE, PIPELINE_SERVICE_ACCOUNT)
    review = cluster.subject_can(
        user,
        "use",
        "security.openshift.io",
        "securitycontextconstraints",
        namespace=PIPELINES_NAMESPACE,
        name=PIPELINES_SCC,
    )
    if not review.allowed:
        fail(f"SA {PIPELINES_NAMESPACE}/{PIPELINE_SERVICE_ACCOUNT} may not use SCC {PIPELINES_SCC}: {review}")
    note(str(review))


@check(
    "parity.platform.eventlistener-cluster-read",
    level=BLOCKING,
    remediation="Bind the EventListener's SA to a ClusterRole with get/list/watch on triggers.tekton.dev"
    " clusterinterceptors and clustertriggerbindings (charts/ci-pipelines templates/platform-rbac.yaml,"
    " ClusterRoleBinding bitiq-eventlistener-cluster-read).",
    sources=(
        "triggers-eventlistener-cluster-read",
        "pipelines-operator-ignores-openshift-namespaces",
        "k8s-rbac-authorizer",
        "openshift-authorization-modes",
    ),
)
def test_eventlistener_cluster_read(cluster: Cluster) -> None:
    """The EventListener's ServiceAccount (`pipeline` in openshift-pipelines) may list clusterinterceptors and
    clustertriggerbindings (triggers.tekton.dev) cluster-wide, which its sink watches."""
    user = service_account_user(PIPELINES_NAMESPACE, EVENTLISTENER_SERVICE_ACCOUNT)
    reviews = cluster.subjects_can([(user, "list", TRIGGERS, resource, None) for resource in CLUSTER_READS])
    denied = [str(review) for review in reviews if not review.allowed]
    if denied:
        fail(f"SA {PIPELINES_NAMESPACE}/{EVENTLISTENER_SERVICE_ACCOUNT} may not list: " + "; ".join(denied))
    note("; ".join(str(review) for review in reviews))
