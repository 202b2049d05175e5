"""Static: the platform's rules the charts must respect, on the app of apps as Argo CD expands it per env."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from fixtures.charts import Chart, Renderer, discover
from fixtures.checks import BLOCKING, check, fail, not_applicable, note
from fixtures.conventions import ARGOCD_CONTROLLER_SERVICE_ACCOUNT, ARGOCD_MANAGED_BY_LABEL, GITOPS_NAMESPACE
from fixtures.gitops import by_kind, nested_applications, umbrella_for
from fixtures.openshift import name_of
from fixtures.platform_rbac import (
    CLUSTER_CONFIG_RULES,
    CLUSTER_SCOPED_KINDS,
    MANAGED_NAMESPACE_RULES,
    api_group,
    resource_of,
    rules_allow,
)
from fixtures.settings import RunSettings

pytestmark = pytest.mark.static

UMBRELLA_CHART = "bitiq-umbrella"


@dataclass(frozen=True)
class Write:
    """One object an Application makes Argo CD's application controller create."""

    chart: str
    app: str
    kind: str
    group: str
    namespace: str  # "" for a cluster-scoped object

    @property
    def resource(self) -> str:
        return resource_of(self.kind)


def _charts(settings: RunSettings) -> dict[str, Chart]:
    return {chart.name: chart for chart in discover(settings.charts_dir)}


def _writes(chart: Chart, app: str, objects: list[dict[str, Any]], default_namespace: str) -> list[Write]:
    writes = []
    for obj in objects:
        kind = str(obj.get("kind", ""))
        scoped = kind in CLUSTER_SCOPED_KINDS
        namespace = "" if scoped else str((obj.get("metadata") or {}).get("namespace") or default_namespace)
        writes.append(Write(chart.name, app, kind, api_group(obj), namespace))
    return writes


def _explicit_grants(objects: list[dict[str, Any]], argocd_namespace: str) -> dict[str, list[dict[str, Any]]]:
    """Rules of Roles the charts bind to the application controller's ServiceAccount, by namespace."""
    roles = {(str(obj["metadata"].get("namespace", "")), name_of(obj)): obj for obj in by_kind(objects, "Role")}
    grants: dict[str, list[dict[str, Any]]] = {}
    for binding in by_kind(objects, "RoleBinding"):
        namespace = str(binding["metadata"].get("namespace", ""))
        subjects = binding.get("subjects") or []
        if not any(
            subject.get("kind") == "ServiceAccount"
            and subject.get("name") == ARGOCD_CONTROLLER_SERVICE_ACCOUNT
            and subject.get("namespace") == argocd_namespace
            for subject in subjects
        ):
            continue
        role = roles.get((namespace, str((binding.get("roleRef") or {}).get("name", ""))))
        if role is not None and (binding.get("roleRef") or {}).get("kind") == "Role":
            grants.setdefault(namespace, []).extend(role.get("rules") or [])
    return grants


@check(
    "static.gitops.managed-namespaces",
    level=BLOCKING,
    remediation="Label every namespace a nested app writes to argocd.argoproj.io/managed-by=openshift-gitops"
    " (charts/bitiq-umbrella/templates/namespace.yaml), or render a Role and RoleBinding for"
    " openshift-gitops/openshift-gitops-argocd-application-controller covering each kind there"
    " (charts/bitiq-umbrella values argocdRbac); the label's admin rules never cover ResourceQuota or LimitRange.",
    sources=("gitops-managed-by-label", "gitops-default-instance-cluster-rules", "k8s-admin-excludes-quota"),
)
def test_managed_namespaces(renderer: Renderer, settings: RunSettings, chart_env: str) -> None:
    """Every object an Application of the env deploys is one the default Argo CD instance may create there:
    its namespace carries argocd.argoproj.io/managed-by=<Argo CD namespace> (or is that namespace) and the
    kind is in the rules that label grants, or the charts bind the application controller to a Role that
    covers the kind, or the controller's cluster-wide rules cover it."""
    charts = _charts(settings)
    umbrella = umbrella_for(renderer, charts["argocd-apps"], chart_env)
    if umbrella.central:
        not_applicable(
            f"env {chart_env} is in central-Argo mode: the nested apps deploy to a remote cluster with the"
            " rights of its cluster secret's ServiceAccount (docs/CENTRAL-ARGO.md), not the managed-by label"
        )
    overrides = {key: value for key, value in umbrella.parameters.items() if key != "repoUrl"}
    umbrella_objects = renderer.objects(charts[UMBRELLA_CHART], chart_env, overrides)
    applications = nested_applications(renderer, charts[UMBRELLA_CHART], umbrella)
    argocd_namespace = next(
        (str(app["metadata"].get("namespace")) for app in applications if app["metadata"].get("namespace")),
        GITOPS_NAMESPACE,
    )
    labelled = {
        name_of(namespace)
        for namespace in by_kind(umbrella_objects, "Namespace")
        if ((namespace.get("metadata") or {}).get("labels") or {}).get(ARGOCD_MANAGED_BY_LABEL) == argocd_namespace
    }
    writes = _writes(
        charts[UMBRELLA_CHART],
        f"{UMBRELLA_CHART}-{chart_env}",
        umbrella_objects,
        charts[UMBRELLA_CHART].namespace(chart_env),
    )
    every_object = list(umbrella_objects)
    for application in applications:
        spec = application.get("spec") or {}
        chart_name = str((spec.get("source") or {}).get("path", "")).rstrip("/").rsplit("/", 1)[-1]
        if chart_name not in charts:
            fail(
                f"env {chart_env}: {name_of(application)} deploys chart {chart_name!r}, not under {settings.charts_dir}"
            )
        parameters = {
            str(parameter["name"]): str(parameter.get("value", ""))
            for parameter in ((spec.get("source") or {}).get("helm") or {}).get("parameters") or []
        }
        objects = renderer.objects(charts[chart_name], chart_env, parameters or None)
        every_object += objects
        destination = str((spec.get("destination") or {}).get("namespace") or charts[chart_name].namespace(chart_env))
        writes += _writes(charts[chart_name], name_of(application), objects, destination)
    grants = _explicit_grants(every_object, argocd_namespace)
    problems, granted = [], set()
    for write in writes:
        how = _granted_by(write, argocd_namespace, labelled, grants)
        if how is None:
            where = f"namespace {write.namespace}" if write.namespace else "cluster-wide"
            problems.append(
                f"chart {write.chart}, env {chart_env}, app {write.app}: {write.kind} ({write.group or 'core'}/"
                f"{write.resource}) in {where}: the application controller {argocd_namespace}/"
                f"{ARGOCD_CONTROLLER_SERVICE_ACCOUNT} may not create it ({_why_not(write, argocd_namespace, labelled)})"
            )
        else:
            granted.add(f"{write.namespace or 'cluster'} by {how}")
    if problems:
        fail("; ".join(sorted(set(problems))))
    note(f"env {chart_env}: {len(writes)} objects; " + ", ".join(sorted(granted)))


def _granted_by(
    write: Write, argocd_namespace: str, labelled: set[str], grants: dict[str, list[dict[str, Any]]]
) -> str | None:
    if rules_allow(CLUSTER_CONFIG_RULES, "create", write.group, write.resource):
        return "the default instance's ClusterRole"
    if not write.namespace:
        return None
    if (write.namespace == argocd_namespace or write.namespace in labelled) and rules_allow(
        MANAGED_NAMESPACE_RULES, "create", write.group, write.resource
    ):
        return "the managed-by label" if write.namespace in labelled else "the instance's own namespace"
    if rules_allow(grants.get(write.namespace, []), "create", write.group, write.resource):
        return "a Role the charts bind"
    return None


def _why_not(write: Write, argocd_namespace: str, labelled: set[str]) -> str:
    if not write.namespace:
        return "the default instance's ClusterRole does not cover it cluster-wide"
    if write.namespace == argocd_namespace or write.namespace in labelled:
        return "the rules the operator grants there (its own plus admin's) exclude it, and no Role of the charts does"
    return f"not labelled {ARGOCD_MANAGED_BY_LABEL}={argocd_namespace}, and no Role for the controller covers it"


SYNC_POLICY_POINTER = "/spec/syncPolicy"


def _ignores_sync_policy(rule: dict[str, Any]) -> bool:
    """Whether one ignoreApplicationDifferences entry covers spec.syncPolicy (a JSON pointer to it or above)."""
    pointers = [str(pointer) for pointer in rule.get("jsonPointers") or []]
    expressions = [str(expression).strip() for expression in rule.get("jqPathExpressions") or []]
    covered = any(SYNC_POLICY_POINTER.startswith(pointer) and pointer for pointer in pointers)
    return covered or any(expression in (".spec.syncPolicy", ".spec") for expression in expressions)


@check(
    "static.gitops.sync-pausable",
    level=BLOCKING,
    remediation="Give the ApplicationSet in charts/argocd-apps/templates/applicationset.yaml"
    " `ignoreApplicationDifferences: [{jsonPointers: [/spec/syncPolicy]}]` so that pausing auto-sync during an"
    " incident (docs/PROD-RUNBOOK.md, the rollback drill) is not undone by the ApplicationSet controller.",
    sources=("rollback-appset-ignore-differences", "rollback-refused-while-autosync"),
)
def test_sync_pausable(renderer: Renderer, settings: RunSettings, chart_env: str) -> None:
    """The ApplicationSet leaves the generated umbrella's syncPolicy alone: auto-sync can be paused for a rollback."""
    chart = _charts(settings).get("argocd-apps")
    if chart is None:
        fail(f"chart argocd-apps not found under {settings.charts_dir}")
    appsets = by_kind(renderer.objects(chart, chart_env), "ApplicationSet")
    if not appsets:
        fail(f"argocd-apps renders no ApplicationSet for env {chart_env}")
    for appset in appsets:
        rules = (appset.get("spec") or {}).get("ignoreApplicationDifferences") or []
        if not any(_ignores_sync_policy(rule) for rule in rules):
            fail(
                f"ApplicationSet {name_of(appset)} (env {chart_env}): ignoreApplicationDifferences {rules or 'absent'}"
                f" does not cover {SYNC_POLICY_POINTER}: a paused auto-sync is re-enabled on the next reconcile,"
                " and `argocd app rollback` refuses while auto-sync is on"
            )
    note(f"{len(appsets)} ApplicationSet(s) ignore {SYNC_POLICY_POINTER} of the Applications they generate")
