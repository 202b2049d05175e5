"""Who may deploy and run where: the static rule on the charts and the live reviews on the sandbox.

The healthy scenarios hold what the GitOps and Pipelines operators would create (fixtures/platform_rbac.py)
plus the charts' own RBAC; each failing scenario takes one grant away and the live check names the
ServiceAccount, verb, kind and namespace it was refused.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fixtures.conventions import ARGOCD_CONTROLLER_SERVICE_ACCOUNT, GITOPS_NAMESPACE
from fixtures.platform_rbac import (
    CLUSTER_CONFIG_RULES,
    MANAGED_NAMESPACE_RULES,
    controller_cluster_role_name,
    controller_role_name,
    gitops_operator_objects,
    resource_of,
    rules_allow,
)
from tests.conftest import REPO, RunSuite

CHECKS = (
    "parity.platform.argocd-may-deploy",
    "parity.platform.pipeline-scc",
    "parity.platform.eventlistener-cluster-read",
)
CONTROLLER = f"system:serviceaccount:{GITOPS_NAMESPACE}:{ARGOCD_CONTROLLER_SERVICE_ACCOUNT}"
SCENARIOS: dict[str, dict[str, tuple[str, ...]]] = {
    "healthy-prod": {},
    "argocd-namespace-unlabelled": {
        "parity.platform.argocd-may-deploy": (
            f"user={CONTROLLER}",
            "verb=create group=apps resource=deployments in namespace bitiq-prod",
            "bitiq-sample-app-prod deploys Deployment",
            "resource=routes in namespace bitiq-prod",
        )
    },
    "pipeline-scc-unbound": {
        "parity.platform.pipeline-scc": (
            "user=system:serviceaccount:openshift-pipelines:pipeline",
            "verb=use group=security.openshift.io resource=securitycontextconstraints name=pipelines-scc",
            "in namespace openshift-pipelines",
        )
    },
    "eventlistener-cluster-read-unbound": {
        "parity.platform.eventlistener-cluster-read": (
            "user=system:serviceaccount:openshift-pipelines:pipeline",
            "verb=list group=triggers.tekton.dev resource=clusterinterceptors cluster-wide",
            "resource=clustertriggerbindings cluster-wide",
        )
    },
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_live_reviews(run_suite: RunSuite, scenario: str) -> None:
    """Each check PASSes on healthy-prod and FAILs, naming SA, verb, kind and namespace, where a grant is gone."""
    selection = [argument for check_id in CHECKS for argument in ("--check", check_id)]
    run = run_suite("-m", "parity", "--env", "prod", *selection, scenario=scenario)
    verdicts = {record["id"]: record for record in run.results}
    assert set(verdicts) == set(CHECKS), run.output[-2000:]
    for check_id in CHECKS:
        record = verdicts[check_id]
        wanted = "FAIL" if check_id in SCENARIOS[scenario] else "PASS"
        assert record["verdict"] == wanted, f"{check_id}: {record['verdict']}: {record['evidence']}"
        for text in SCENARIOS[scenario].get(check_id, ()):
            assert text in record["evidence"], f"{text!r} not in {record['evidence']}"
    assert "Traceback" not in run.output


def _mutated(tmp_path: Path, path: str, old: str, new: str) -> Path:
    charts = tmp_path / "charts"
    shutil.copytree(REPO / "charts", charts)
    target = charts / path
    text = target.read_text()
    assert old in text, f"{old!r} not in {target}"
    target.write_text(text.replace(old, new, 1))
    return charts


# mutation -> (file under charts/, text, replacement, what the evidence must name)
MUTATIONS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "namespace-unlabelled": (
        "bitiq-umbrella/templates/namespace.yaml",
        "argocd.argoproj.io/managed-by: {{ .Values.argocdNamespace }}",
        "",
        (
            "chart bitiq-sample-app, env prod, app bitiq-sample-app-prod: Deployment (apps/deployments) in"
            " namespace bitiq-prod",
            "chart bitiq-sample-app, env local, app bitiq-sample-app-local",
            "(not labelled argocd.argoproj.io/managed-by=openshift-gitops, and no Role",
        ),
    ),
    "pipelines-namespace-unbound": (
        "bitiq-umbrella/values.yaml",
        "    openshift-pipelines:\n",
        "    openshift-pipelines-elsewhere:\n",
        (
            "chart ci-pipelines, env prod, app ci-pipelines-prod: ResourceQuota (core/resourcequotas) in"
            " namespace openshift-pipelines",
            "chart ci-pipelines, env local, app ci-pipelines-local: EventListener",
        ),
    ),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_static_rule_names_chart_env_app_namespace(run_pytest: RunSuite, tmp_path: Path, mutation: str) -> None:
    """Without the label (or the explicit Role) the static check FAILs per env, naming chart, app and namespace."""
    path, old, new, wanted = MUTATIONS[mutation]
    charts = _mutated(tmp_path, path, old, new)
    run = run_pytest("-m", "static", "--check", "static.gitops.managed-namespaces", "-o", f"bitiq_charts_dir={charts}")
    assert run.exit_code == 1, run.output[-3000:]
    evidence = " | ".join(record["evidence"] for record in run.results if record["verdict"] == "FAIL")
    for text in wanted:
        assert text in evidence, f"{text!r} not in {evidence}"


def test_label_rules_never_cover_quota_or_limits() -> None:
    """The managed-by label gives `admin`'s rules: Deployments and Routes yes, ResourceQuota and LimitRange no."""
    assert rules_allow(MANAGED_NAMESPACE_RULES, "create", "apps", "deployments")
    assert rules_allow(MANAGED_NAMESPACE_RULES, "create", "route.openshift.io", "routes")
    for resource in ("resourcequotas", "limitranges"):
        assert not rules_allow(MANAGED_NAMESPACE_RULES, "create", "", resource)
        assert not rules_allow(CLUSTER_CONFIG_RULES, "create", "", resource)
    assert not rules_allow(CLUSTER_CONFIG_RULES, "create", "apps", "deployments")


def test_gitops_operator_objects_named_as_the_operator_names_them() -> None:
    objects = {
        (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        for obj in gitops_operator_objects(["bitiq-prod"])
    }
    assert controller_cluster_role_name() == "openshift-gitops-openshift-gitops-argocd-application-controller"
    assert controller_role_name() == ARGOCD_CONTROLLER_SERVICE_ACCOUNT
    for namespace in ("openshift-gitops", "bitiq-prod"):
        assert ("RoleBinding", namespace, controller_role_name()) in objects
    assert ("ClusterRoleBinding", "", controller_cluster_role_name()) in objects
    assert [resource_of(kind) for kind in ("ResourceQuota", "Ingress", "NetworkPolicy", "Route")] == [
        "resourcequotas",
        "ingresses",
        "networkpolicies",
        "routes",
    ]
