"""The Image Updater's git write-back credentials: the Secret the annotation names, and whether the updater's
ServiceAccount may read it, asked with a SubjectAccessReview against the sandbox's real RBAC."""

from __future__ import annotations

import base64

import pytest

from tests.conftest import RunSuite

CHECK = "parity.imageupdater.git-credentials"
# The sandbox's values of the Secret (fixtures/sandbox/scenarios/fragments/operated.yaml): never in evidence.
VALUES = ("sandbox-bot", "sandbox-git-token")


def evidence_of(run_suite: RunSuite, scenario: str) -> tuple[str, str]:
    run = run_suite("-m", "parity", "--env", "prod", "-k", "git_credentials or test_annotations", scenario=scenario)
    record = run.record(CHECK)
    for value in VALUES:
        assert value not in run.output
        assert base64.b64encode(value.encode()).decode() not in run.output
    return record["verdict"], record["evidence"]


def test_healthy_names_the_secret_and_the_review(run_suite: RunSuite) -> None:
    verdict, evidence = evidence_of(run_suite, "healthy-prod")
    assert verdict == "PASS", evidence
    assert "git with credentials Secret openshift-gitops/image-updater-git-creds" in evidence
    assert "user=system:serviceaccount:openshift-gitops:argocd-image-updater" in evidence
    assert "name=image-updater-git-creds" in evidence
    assert "allowed=true" in evidence


@pytest.mark.parametrize(
    ("scenario", "wanted"),
    [
        ("imageupdater-git-creds-missing", "Secret openshift-gitops/image-updater-git-creds does not exist"),
        ("imageupdater-role-lacks-git-creds", "allowed=false"),
    ],
)
def test_failing_scenarios_say_why(run_suite: RunSuite, scenario: str, wanted: str) -> None:
    verdict, evidence = evidence_of(run_suite, scenario)
    assert verdict == "FAIL", evidence
    assert wanted in evidence
