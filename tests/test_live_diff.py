"""fixtures/live_diff.py without a cluster: the field comparison, ignoreDifferences, the override files."""

from __future__ import annotations

from pathlib import Path

from fixtures.live_diff import (
    Comparison,
    Finding,
    compare_object,
    describe,
    ignore_rules,
    pointer_of,
    substitute,
    with_overrides,
)
from tests.conftest import RunSuite

CHECK = "parity.gitops.live-matches-git"

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "bitiq-prod", "labels": {"app": "web"}},
    "spec": {
        "replicas": 2,
        "template": {
            "spec": {
                "containers": [{"name": "web", "image": "quay.io/x/web:v1", "resources": {"requests": {"cpu": "0.5"}}}]
            }
        },
    },
}


def live_of(rendered: dict, **changes: object) -> dict:
    """The object as the API server returns it: defaults, server metadata, canonical quantities."""
    live = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "bitiq-prod",
            "uid": "0000",
            "labels": {"app": "web", "app.kubernetes.io/instance": "bitiq-sample-app-prod"},
        },
        "spec": {
            "replicas": rendered["spec"]["replicas"],
            "progressDeadlineSeconds": 600,
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "quay.io/x/web:v1",
                            "imagePullPolicy": "IfNotPresent",
                            "resources": {"requests": {"cpu": "500m"}},
                        }
                    ],
                    "restartPolicy": "Always",
                }
            },
        },
        "status": {"replicas": 2},
    }
    live["spec"].update(changes)
    return live


def test_server_fields_and_canonical_quantities_are_not_drift() -> None:
    assert compare_object(DEPLOYMENT, live_of(DEPLOYMENT), ()) == []
    as_number = {
        **DEPLOYMENT,
        "spec": {
            **DEPLOYMENT["spec"],
            "template": {
                "spec": {
                    "containers": [
                        {"name": "web", "image": "quay.io/x/web:v1", "resources": {"requests": {"cpu": 0.5}}}
                    ]
                }
            },
        },
    }
    assert compare_object(as_number, live_of(DEPLOYMENT), ()) == []


def test_a_changed_field_is_named_with_both_values() -> None:
    live = live_of(DEPLOYMENT, replicas=3)
    assert compare_object(DEPLOYMENT, live, ()) == ["/spec/replicas"]
    assert describe(DEPLOYMENT, live, "/spec/replicas") == "/spec/replicas (git 2, live 3)"


def test_json_pointer_and_plain_jq_path_are_honoured_others_are_not() -> None:
    live = live_of(DEPLOYMENT, replicas=3)
    assert compare_object(DEPLOYMENT, live, ("/spec/replicas",)) == []
    assert pointer_of(".spec.replicas") == "/spec/replicas"
    assert pointer_of('.metadata.annotations["a/b"]') == "/metadata/annotations/a~1b"
    assert pointer_of(".spec.template.spec.containers[0].image") == "/spec/template/spec/containers/0/image"
    assert pointer_of('.spec.containers[] | select(.name == "x")') is None
    app = {
        "spec": {
            "ignoreDifferences": [
                {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]},
                {"group": "apps", "kind": "Deployment", "name": "other", "jsonPointers": ["/spec"]},
                {"group": "apps", "kind": "Deployment", "jqPathExpressions": [".spec.x | select(.y)"]},
                {"group": "", "kind": "Deployment", "jsonPointers": ["/metadata"]},
                {"group": "apps", "kind": "Deployment", "managedFieldsManagers": ["kube-controller-manager"]},
            ]
        }
    }
    rules = ignore_rules(app, DEPLOYMENT)
    assert rules.pointers == ("/spec/replicas",)
    assert len(rules.unsupported) == 2


def test_unsupported_rule_makes_an_object_unverified_not_failed() -> None:
    comparison = Comparison(
        findings=[
            Finding("Deployment a", paths=["/spec/replicas"], unverified="jqPathExpressions '.x | y'"),
            Finding("Deployment b", paths=["/spec/replicas"]),
            Finding("Route c", missing="missing live"),
        ]
    )
    assert [finding.where for finding in comparison.drifted] == ["Deployment b", "Route c"]
    assert [finding.where for finding in comparison.unverified] == ["Deployment a"]


def test_secret_keys_compared_never_values() -> None:
    rendered = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"token": "planted"}}
    live = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"other": "<redacted>"}}
    paths = compare_object(rendered, live, ())
    assert paths == ["/data/other", "/data/token"]
    assert all("planted" not in describe(rendered, live, path) for path in paths)


def test_service_account_lists_the_platform_appends_to() -> None:
    rendered = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "p"}, "secrets": [{"name": "q"}]}
    live = dict(rendered, secrets=[{"name": "q"}, {"name": "p-dockercfg-x7k2p"}])
    assert compare_object(rendered, live, ()) == []
    assert compare_object(rendered, dict(live, secrets=[{"name": "p-dockercfg-x7k2p"}]), ()) == ["/secrets"]


def test_override_files_merge_in_argo_cd_order(tmp_path: Path) -> None:
    source = {
        "repoURL": "https://git.example/r.git",
        "path": "charts/app",
        "targetRevision": "main",
        "helm": {"parameters": [{"name": "a", "value": "1"}], "valueFiles": ["values.yaml"]},
    }
    (tmp_path / ".argocd-source.yaml").write_text("helm:\n  parameters:\n  - {name: a, value: '2'}\npath: elsewhere\n")
    (tmp_path / ".argocd-source-app-prod.yaml").write_text("helm:\n  parameters:\n  - {name: image.tag, value: v2}\n")
    merged, read = with_overrides(source, tmp_path, "app-prod")
    assert read == [".argocd-source.yaml", ".argocd-source-app-prod.yaml"]
    # RFC 7396: a list is replaced whole; repoURL, path and targetRevision stay the Application's.
    assert merged["helm"] == {"parameters": [{"name": "image.tag", "value": "v2"}], "valueFiles": ["values.yaml"]}
    assert merged["path"] == "charts/app"
    assert with_overrides(source, tmp_path, "another-app")[0]["helm"]["parameters"] == [{"name": "a", "value": "2"}]


def test_build_environment_substitution() -> None:
    environment = {"ARGOCD_APP_NAME": "app-prod", "ARGOCD_APP_REVISION": "abc"}
    assert substitute("${ARGOCD_APP_NAME}-$ARGOCD_APP_REVISION $OTHER", environment) == "app-prod-abc $OTHER"


def test_an_unreadable_repository_is_not_evaluated(run_suite: RunSuite, tmp_path: Path) -> None:
    """A directory that holds no git repository: the check cannot look, never a pass; the reason says what failed."""
    missing = tmp_path / "not-a-repository"
    missing.mkdir()
    run = run_suite(
        "-m", "parity", "--env", "prod", "--check", CHECK, "--git-repo", str(missing), scenario="healthy-prod"
    )
    record = run.record(CHECK)
    assert record["verdict"] == "NOT-EVALUATED", run.output[-3000:]
    assert "cannot render what Argo CD synced" in record["evidence"]
    assert "bitiq-umbrella-prod" in record["evidence"]
    assert run.exit_code == 1
