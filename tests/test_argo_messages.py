"""Argo CD's messages as the suite reports them: the end of a long one kept, a retrying sync's reason shown."""

from __future__ import annotations

from fixtures.argo import clip, judge

HELM_ERROR = "Error: execution error at (bitiq-sample-app/templates/x.yaml:1:4): values.broken is required"
COMPARISON = (
    "Failed to load target state: failed to generate manifest for source 1 of 1: rpc error: code = Unknown"
    " desc = `helm template . --name-template bitiq-sample-app-prod --namespace bitiq-prod --kube-version 1.32"
    " --values /tmp/a1b2c3/charts/bitiq-sample-app/values-prod.yaml --api-versions apps/v1 --api-versions"
    " route.openshift.io/v1 --include-crds` failed exit status 1: " + HELM_ERROR
)


def application(**status: object) -> dict[str, object]:
    return {"metadata": {"name": "bitiq-sample-app-prod"}, "status": status}


def test_a_long_comparison_error_keeps_helms_own_error_at_its_end() -> None:
    assert len(COMPARISON) > 400
    state = judge(
        application(
            health={"status": "Healthy"},
            sync={"status": "Unknown"},
            conditions=[{"type": "ComparisonError", "message": COMPARISON}],
        )
    )
    evidence = str(state)
    assert HELM_ERROR in evidence
    assert "Failed to load target state" in evidence
    assert state.terminal


def test_a_retrying_sync_says_what_the_last_attempt_met() -> None:
    forbidden = (
        'one or more objects failed to apply, reason: deployments.apps "bitiq-sample-backend" is forbidden: User'
        ' "system:serviceaccount:openshift-gitops:openshift-gitops-argocd-application-controller" cannot patch'
        ' resource "deployments" in API group "apps" in the namespace "bitiq-prod"'
    )
    state = judge(
        application(
            health={"status": "Healthy"},
            sync={"status": "OutOfSync"},
            operationState={"phase": "Running", "retryCount": 2, "message": forbidden},
        )
    )
    assert "an operation is Running (retried 2 times): one or more objects failed to apply" in str(state)
    assert "is forbidden" in str(state)
    assert not state.terminal


def test_a_short_message_is_one_line_unchanged() -> None:
    assert clip("a\n  b") == "a b"
    assert clip(None) == ""
