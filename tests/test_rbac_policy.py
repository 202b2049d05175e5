"""fixtures/rbac_policy.py held to the real RBAC authorizer of the sandbox's kube-apiserver (authorization
mode RBAC only): for every question of a grid over the healthy scenario's ServiceAccounts, verbs, kinds,
namespaces and names, an allow read from the RBAC LISTs is exactly the SubjectAccessReview's answer.
And a green run asks no review: the checks read the four RBAC LISTs instead."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from fixtures.cluster import Cluster, service_account_user
from fixtures.kube import KubeTransport, Target
from fixtures.rbac_policy import rule_allows
from fixtures.sandbox import Sandbox
from tests.conftest import RunSuite

USERS = (
    service_account_user("openshift-gitops", "openshift-gitops-argocd-application-controller"),
    service_account_user("openshift-gitops", "argocd-image-updater"),
    service_account_user("openshift-pipelines", "pipeline"),
    service_account_user("bitiq-prod", "default"),
    ("reader", ("system:authenticated",)),
)
KINDS = (
    ("", "services", ""),
    ("", "secrets", ""),
    ("", "secrets", "image-updater-git-creds"),
    ("", "namespaces", ""),
    ("", "resourcequotas", ""),
    ("", "pods", "log"),
    ("apps", "deployments", ""),
    ("apps", "deployments", "scale"),
    ("route.openshift.io", "routes", ""),
    ("rbac.authorization.k8s.io", "rolebindings", ""),
    ("security.openshift.io", "securitycontextconstraints", "pipelines-scc"),
    ("triggers.tekton.dev", "clusterinterceptors", ""),
    ("tekton.dev", "pipelines", ""),
)
VERBS = ("create", "list", "get", "use")
NAMESPACES = (None, "openshift-gitops", "openshift-pipelines", "bitiq-prod")


def authorizer_says(transport: KubeTransport, question: tuple[Any, ...]) -> bool:
    (user, groups), verb, (group, resource, extra), namespace = question
    attributes = {"verb": verb, "group": group, "resource": resource}
    # The third field is a subresource for the kinds that have one here, else an object's name.
    if extra in ("log", "scale"):
        attributes["subresource"] = extra
    elif extra:
        attributes["name"] = extra
    if namespace:
        attributes["namespace"] = namespace
    review = transport.request(
        "POST",
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        body={
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {"user": user, "groups": list(groups), "resourceAttributes": attributes},
        },
    )
    return bool(review["status"].get("allowed"))


def test_allows_exactly_what_the_authorizer_allows(sandbox: Sandbox) -> None:
    sandbox.use("healthy-prod")
    with KubeTransport(Target(kubeconfig=str(sandbox.kubeconfig("admin")))) as transport:
        policy = Cluster(transport).rbac_policy()
        assert policy is not None
        disagreements, allowed = [], 0
        for question in itertools.product(USERS, VERBS, KINDS, NAMESPACES):
            (user, groups), verb, (group, resource, extra), namespace = question
            subresource = extra if extra in ("log", "scale") else ""
            name = "" if subresource else extra
            local = policy.grant(
                user, groups, verb, group, resource, namespace=namespace, name=name, subresource=subresource
            )
            answer = authorizer_says(transport, question)
            allowed += answer
            if (local is not None) != answer:
                disagreements.append((question, local, answer))
    assert disagreements == []
    # The grid asks both ways: a policy allowing nothing, or everything, would fail it.
    total = len(USERS) * len(VERBS) * len(KINDS) * len(NAMESPACES)
    assert 20 < allowed < total - 20, (allowed, total)


@pytest.mark.parametrize(
    ("rule", "request_", "allowed"),
    [
        (
            {"verbs": ["*"], "apiGroups": ["apps"], "resources": ["deployments"]},
            ("delete", "apps", "deployments", "", ""),
            True,
        ),
        ({"verbs": ["get"], "apiGroups": ["*"], "resources": ["*"]}, ("get", "x.io", "things", "", "status"), True),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["*/scale"]}, ("get", "", "anything", "", "scale"), True),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["*/scale"]}, ("get", "", "anything", "", ""), False),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, ("get", "", "pods", "", "log"), False),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]}, ("get", "", "pods", "", "log"), True),
        (
            {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["a"]},
            ("get", "", "secrets", "a", ""),
            True,
        ),
        (
            {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["a"]},
            ("get", "", "secrets", "", ""),
            False,
        ),
        ({"verbs": ["list"], "apiGroups": [""], "resources": ["secrets"]}, ("list", "apps", "secrets", "", ""), False),
    ],
)
def test_rule_semantics(rule: dict[str, Any], request_: tuple[str, ...], allowed: bool) -> None:
    verb, group, resource, name, subresource = request_
    assert rule_allows(rule, verb, group, resource, name=name, subresource=subresource) is allowed


def test_a_green_run_asks_no_review(run_suite: RunSuite, audit_offset: Callable[[], list[dict[str, Any]]]) -> None:
    checks = (
        "parity.platform.argocd-may-deploy",
        "parity.platform.pipeline-scc",
        "parity.platform.eventlistener-cluster-read",
        "parity.imageupdater.git-credentials",
    )
    selection = [argument for check_id in checks for argument in ("--check", check_id)]
    run = run_suite("-m", "parity", "--env", "prod", *selection, user="reader", scenario="healthy-prod")
    verdicts = {record["id"]: record for record in run.results}
    assert {check_id: verdicts[check_id]["verdict"] for check_id in checks} == dict.fromkeys(checks, "PASS"), run.output
    assert (
        "RoleBinding bitiq-prod/openshift-gitops-argocd-application-controller of Role"
        in verdicts["parity.platform.argocd-may-deploy"]["evidence"]
    )
    assert (
        "RBAC user=system:serviceaccount:openshift-pipelines:pipeline verb=use"
        in verdicts["parity.platform.pipeline-scc"]["evidence"]
    )
    reviews = [
        event
        for event in audit_offset()
        if event["user"]["username"] == "reader"
        and (event.get("objectRef") or {}).get("resource") == "subjectaccessreviews"
    ]
    assert reviews == []
