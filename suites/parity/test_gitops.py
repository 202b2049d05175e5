"""Parity: Argo CD has rendered and synced the env's app of apps (plan: bitiq-umbrella-<env> Healthy/Synced)."""

import pytest

from fixtures.argo import judge, wait_for
from fixtures.checks import BLOCKING, ObjectRef, check, fail, note
from fixtures.cluster import Cluster
from fixtures.conventions import GITOPS_NAMESPACE, NESTED_APPS, PIPELINES_NAMESPACE
from fixtures.openshift import condition, condition_is, describe_condition
from fixtures.settings import EnvTarget, RunSettings

pytestmark = pytest.mark.parity

ARGO = "argoproj.io"
APPSET = "bitiq-umbrella-by-env"


@check(
    "parity.gitops.applicationset-ok",
    level=BLOCKING,
    remediation="Read the error: `oc -n openshift-gitops get applicationset bitiq-umbrella-by-env -o yaml`;"
    " re-run `make bootstrap ENV=<env>` if it is missing.",
    sources=("applicationset-conditions",),
)
def test_applicationset_up_to_date(cluster: Cluster) -> None:
    """ApplicationSet bitiq-umbrella-by-env exists, ErrorOccurred is not True and ResourcesUpToDate is True."""
    appset = cluster.find(ARGO, "applicationsets", APPSET, GITOPS_NAMESPACE)
    if appset is None:
        fail(f"ApplicationSet {GITOPS_NAMESPACE}/{APPSET} does not exist")
    problems = []
    if condition_is(appset, "ErrorOccurred", "True"):
        problems.append(describe_condition(condition(appset, "ErrorOccurred")))
    if not condition_is(appset, "ResourcesUpToDate", "True"):
        problems.append(describe_condition(condition(appset, "ResourcesUpToDate")) + " (want ResourcesUpToDate=True)")
    if problems:
        fail(f"ApplicationSet {APPSET}: " + "; ".join(problems))
    note(f"ApplicationSet {APPSET}: {describe_condition(condition(appset, 'ResourcesUpToDate'))}")


@check(
    "parity.gitops.umbrella-healthy",
    level=BLOCKING,
    remediation="`argocd app get bitiq-umbrella-<env>` (or the Argo CD UI) shows what is degraded or"
    " out of sync; fix it in git, or pass --timeout to wait for a sync in progress.",
    sources=("argocd-app-status", "argocd-app-freshness"),
)
@pytest.mark.acceptance
@pytest.mark.smoke
def test_umbrella_healthy(cluster: Cluster, env: EnvTarget, settings: RunSettings) -> None:
    """Application bitiq-umbrella-<env> is Healthy and Synced, reconciled after its last sync, no operation running."""
    name = f"bitiq-umbrella-{env.name}"
    if settings.convergence_timeout > 0:
        _, state = wait_for(
            lambda: cluster.fetch(ARGO, "applications", name, GITOPS_NAMESPACE), name, settings.convergence_timeout
        )
    else:
        app = cluster.find(ARGO, "applications", name, GITOPS_NAMESPACE)
        if app is None:
            fail(
                f"Application {GITOPS_NAMESPACE}/{name} does not exist: has the ApplicationSet rendered env {env.name}?"
            )
        state = judge(app)
    if not state.ok:
        fail(str(state), about=[ObjectRef(f"{ARGO}/v1alpha1", "Application", name, GITOPS_NAMESPACE)])
    note(str(state))


@check(
    "parity.gitops.nested-apps-healthy",
    level=BLOCKING,
    remediation="`argocd app get <app>-<env>` shows the failing resources; nested destinations come from"
    " charts/bitiq-umbrella values destinationServer.",
    sources=("argocd-app-status", "argocd-app-freshness"),
)
@pytest.mark.parametrize("app", NESTED_APPS)
def test_nested_app_healthy(cluster: Cluster, env: EnvTarget, app: str) -> None:
    """The nested Application <app>-<env> is Healthy, Synced and fresh, deploying to the env's cluster and namespace."""
    name = f"{app}-{env.name}"
    application = cluster.find(ARGO, "applications", name, GITOPS_NAMESPACE)
    if application is None:
        fail(f"Application {GITOPS_NAMESPACE}/{name} does not exist (the umbrella renders it)")
    state = judge(application)
    destination = (application.get("spec") or {}).get("destination") or {}
    wanted_namespace = {
        "bitiq-sample-app": env.config.app_namespace,
        "ci-pipelines": PIPELINES_NAMESPACE,
        "image-updater": GITOPS_NAMESPACE,
    }[app]
    if destination.get("server") != env.config.cluster_server:
        state.problems.append(f"destination server {destination.get('server')}, want {env.config.cluster_server}")
    if destination.get("namespace") != wanted_namespace:
        state.problems.append(f"destination namespace {destination.get('namespace')}, want {wanted_namespace}")
    if not state.ok:
        fail(str(state), about=[application])
    note(f"{state} -> {destination.get('server')} {destination.get('namespace')}")


@check(
    "parity.gitops.argocd-available",
    level=BLOCKING,
    remediation="`oc -n openshift-gitops get argocd openshift-gitops -o yaml` and the pods of the"
    " components not Running; the GitOps operator's CSV status says why.",
    sources=("argocd-operand-phase",),
)
def test_argocd_available(cluster: Cluster) -> None:
    """The Argo CD instance openshift-gitops/openshift-gitops is Available with its components Running."""
    if not cluster.serves(ARGO, "argocds"):
        fail("the ArgoCD API is not served: is OpenShift GitOps installed?")
    argocd = cluster.find(ARGO, "argocds", "openshift-gitops", GITOPS_NAMESPACE)
    if argocd is None:
        fail(
            "ArgoCD openshift-gitops/openshift-gitops does not exist"
            " (DISABLE_DEFAULT_ARGOCD_INSTANCE without a managed instance?)"
        )
    status = argocd.get("status") or {}
    components = {key: status.get(key) for key in ("applicationController", "repo", "server", "redis")}
    down = [f"{key} {value or 'unknown'}" for key, value in components.items() if value != "Running"]
    if status.get("phase") != "Available" or down:
        fail(
            f"ArgoCD openshift-gitops: phase {status.get('phase') or 'unknown'}"
            + (f"; {', '.join(down)}" if down else "")
        )
    note("ArgoCD openshift-gitops Available; " + ", ".join(f"{key} Running" for key in components))


@check(
    "parity.namespaces.app-namespace-active",
    level=BLOCKING,
    remediation="The umbrella creates bitiq-<env> (sync-wave -1): check bitiq-umbrella-<env> in Argo CD;"
    " a Terminating namespace needs its finalizers looked at.",
    sources=("namespace-terminating-forbids-create",),
)
@pytest.mark.acceptance
def test_app_namespace_active(cluster: Cluster, env: EnvTarget) -> None:
    """The env's application namespace (bitiq-<env>) exists and is Active."""
    namespace = cluster.find("", "namespaces", env.config.app_namespace)
    if namespace is None:
        fail(f"Namespace {env.config.app_namespace} does not exist")
    phase = (namespace.get("status") or {}).get("phase")
    if phase != "Active":
        fail(f"Namespace {env.config.app_namespace} is {phase}")
    note(f"Namespace {env.config.app_namespace} Active")
