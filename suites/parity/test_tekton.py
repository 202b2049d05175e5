"""Parity: Tekton builds and pushes the sample app as SA `pipeline` (plan: PipelineRuns build and push images).

Every component has its own Pipeline (charts/ci-pipelines `pipelines`), so the run checks are
parametrised per pipeline: the matrix shows the backend and frontend rows apart, and a failed
frontend build fails only the frontend rows. The registry secret is the ServiceAccount's, shared by
every pipeline, so that check stays one per env.
"""

from typing import Any

import pytest

from fixtures.checks import BLOCKING, check, fail, not_evaluated, note
from fixtures.cluster import Cluster
from fixtures.conventions import (
    BUILD_PIPELINES,
    PIPELINE_SERVICE_ACCOUNT,
    PIPELINES_NAMESPACE,
    SECRETS_READ,
    BuildPipeline,
    registry_credential_problems,
)
from fixtures.openshift import condition, describe_condition, name_of
from fixtures.registry import ImageRef, RegistryClient

pytestmark = pytest.mark.parity

TEKTON = "tekton.dev"
SUCCEEDED_REASONS = ("Succeeded", "Completed")  # Completed: succeeded with some tasks skipped
per_pipeline = pytest.mark.parametrize("pipeline", BUILD_PIPELINES, ids=str)


def _runs(cluster: Cluster, pipeline: BuildPipeline) -> list[dict[str, Any]]:
    """The PipelineRuns of the pipeline, newest first (FAIL when there is none)."""
    runs = [
        run
        for run in cluster.objects(TEKTON, "pipelineruns", PIPELINES_NAMESPACE)
        if ((run.get("spec") or {}).get("pipelineRef") or {}).get("name") == pipeline.name
        or ((run.get("metadata") or {}).get("labels") or {}).get("tekton.dev/pipeline") == pipeline.name
    ]
    if not runs:
        exists = cluster.find(TEKTON, "pipelines", pipeline.name, PIPELINES_NAMESPACE) is not None
        fail(
            f"no PipelineRun of {PIPELINES_NAMESPACE}/{pipeline.name} ({pipeline.component}) yet"
            + (
                ": push to the app repository or start one"
                if exists
                else f", and no Pipeline {pipeline.name}: is it rendered for this env (charts/ci-pipelines pipelines)?"
            )
        )

    def started(run: dict[str, Any]) -> str:
        return str(
            (run.get("status") or {}).get("startTime") or (run.get("metadata") or {}).get("creationTimestamp") or ""
        )

    return sorted(runs, key=started, reverse=True)


def latest_run(cluster: Cluster, pipeline: BuildPipeline) -> dict[str, Any]:
    return _runs(cluster, pipeline)[0]


def succeeded(run: dict[str, Any]) -> bool:
    found = condition(run, "Succeeded")
    return found is not None and str(found.get("status")) == "True" and str(found.get("reason")) in SUCCEEDED_REASONS


def latest_successful_run(cluster: Cluster, pipeline: BuildPipeline) -> dict[str, Any]:
    """The newest PipelineRun that Succeeded: the one whose image must be in the registry."""
    runs = _runs(cluster, pipeline)
    run = next((run for run in runs if succeeded(run)), None)
    if run is None:
        fail(
            f"none of the {len(runs)} PipelineRun(s) of {PIPELINES_NAMESPACE}/{pipeline.name} has succeeded"
            f" (latest: {name_of(runs[0])}, {describe_condition(condition(runs[0], 'Succeeded'))}): no image was pushed"
        )
    return run


def results(run: dict[str, Any]) -> dict[str, str]:
    status = run.get("status") or {}
    # tekton.dev/v1 says results, v1beta1 pipelineResults: read whichever the cluster served.
    entries = status.get("results") or status.get("pipelineResults") or []
    return {str(entry.get("name")): str(entry.get("value")) for entry in entries}


@check(
    "parity.tekton.latest-run-succeeded",
    level=BLOCKING,
    remediation="`tkn pipelinerun describe <run> -n openshift-pipelines` (or `oc describe`) shows the failed"
    " task; fix it and push again.",
    sources=("tekton-succeeded-condition", "ci-pipelines-per-component"),
)
@pytest.mark.acceptance
@pytest.mark.smoke
@per_pipeline
def test_latest_run_succeeded(cluster: Cluster, pipeline: BuildPipeline) -> None:
    """The latest PipelineRun of each component's pipeline Succeeded (reason Succeeded or Completed)."""
    run = latest_run(cluster, pipeline)
    succeeded = condition(run, "Succeeded")
    if succeeded is None or str(succeeded.get("status")) != "True":
        state = "still running" if succeeded is not None and str(succeeded.get("status")) == "Unknown" else "failed"
        fail(f"PipelineRun {name_of(run)} {state}: {describe_condition(succeeded)}", about=[run])
    note(f"PipelineRun {name_of(run)}: {describe_condition(succeeded)}")


@check(
    "parity.tekton.service-account",
    level=BLOCKING,
    remediation="Run pipelines as SA `pipeline` (TriggerTemplate taskRunTemplate.serviceAccountName in"
    " charts/ci-pipelines); it holds the registry push secret.",
    sources=("tekton-v1-service-account", "ci-pipelines-per-component"),
)
@pytest.mark.acceptance
@per_pipeline
def test_latest_run_service_account(cluster: Cluster, pipeline: BuildPipeline) -> None:
    """The latest PipelineRun of each component's pipeline ran as ServiceAccount `pipeline`."""
    run = latest_run(cluster, pipeline)
    spec = run.get("spec") or {}
    account = (
        (spec.get("taskRunTemplate") or {}).get("serviceAccountName") or spec.get("serviceAccountName") or "default"
    )
    if account != PIPELINE_SERVICE_ACCOUNT:
        fail(f"PipelineRun {name_of(run)} ran as ServiceAccount {account}, want {PIPELINE_SERVICE_ACCOUNT}")
    note(f"PipelineRun {name_of(run)} ran as {account}")


@check(
    "parity.tekton.image-pushed",
    level=BLOCKING,
    remediation="The build-and-push task must emit IMAGE_URL and IMAGE_DIGEST and push to the registry;"
    " check the quay-auth secret and --registry-auth/--registry-endpoint if the registry is not reachable here.",
    sources=(
        "tekton-succeeded-condition",
        "tekton-v1-results",
        "oci-distribution-manifests",
        "ci-pipelines-per-component",
    ),
)
@pytest.mark.acceptance
@per_pipeline
def test_image_pushed(cluster: Cluster, registry: RegistryClient, pipeline: BuildPipeline) -> None:
    """Per pipeline, the latest successful run's IMAGE_URL exists in the registry with the run's IMAGE_DIGEST."""
    run = latest_successful_run(cluster, pipeline)
    values = results(run)
    missing = [key for key in ("IMAGE_URL", "IMAGE_DIGEST") if not values.get(key)]
    if missing:
        fail(f"PipelineRun {name_of(run)} has no result {', '.join(missing)}")
    image = ImageRef.parse(values["IMAGE_URL"])
    lookup = registry.manifest_digest(image)
    if not lookup.found and lookup.unreadable:
        not_evaluated(f"PipelineRun {name_of(run)} pushed {image}; could not read the registry: {lookup.error}")
    if not lookup.found:
        fail(f"PipelineRun {name_of(run)} pushed {image}: {lookup.error}")
    if lookup.digest != values["IMAGE_DIGEST"]:
        fail(f"{image} is {lookup.digest} in the registry, but the run pushed {values['IMAGE_DIGEST']}")
    note(f"{image}@{lookup.digest} in the registry")


@check(
    "parity.tekton.registry-secret-linked",
    level=BLOCKING,
    remediation="`oc -n openshift-pipelines secrets link pipeline quay-auth` (and `--for=pull`); the secret"
    " must be kubernetes.io/dockerconfigjson.",
    sources=("tekton-sa-registry-credentials", "k8s-dockerconfigjson-secret"),
)
@pytest.mark.acceptance
def test_registry_secret_linked(cluster: Cluster) -> None:
    """ServiceAccount `pipeline` links an existing kubernetes.io/dockerconfigjson secret."""
    account = cluster.find("", "serviceaccounts", PIPELINE_SERVICE_ACCOUNT, PIPELINES_NAMESPACE)
    if account is None:
        fail(f"ServiceAccount {PIPELINES_NAMESPACE}/{PIPELINE_SERVICE_ACCOUNT} does not exist")
    linked = {str(ref.get("name")) for ref in (account.get("secrets") or []) + (account.get("imagePullSecrets") or [])}
    # Secrets are read by name (GET), never listed: the stack's own first (the runner may get only those), the
    # other linked ones only while none of those is usable.
    secrets: dict[str, dict[str, Any]] = {}
    for name in sorted(linked, key=lambda name: (name not in SECRETS_READ.get(PIPELINES_NAMESPACE, ()), name)):
        found = cluster.read("", "secrets", name, PIPELINES_NAMESPACE)
        if found is not None:
            secrets[name] = found
            if found.get("type") == "kubernetes.io/dockerconfigjson" and not registry_credential_problems(found):
                break
    docker_configs = [
        name for name in sorted(secrets) if (secrets.get(name) or {}).get("type") == "kubernetes.io/dockerconfigjson"
    ]
    # A linked secret with `{"auths":{}}` pushes nothing: judged by its structure, never its values.
    empty = {name: registry_credential_problems(secrets[name]) for name in docker_configs}
    usable = [name for name in docker_configs if not empty[name]]
    if not usable:
        why = "; ".join(f"{name}: {', '.join(problems)}" for name, problems in empty.items() if problems)
        fail(
            f"ServiceAccount {PIPELINE_SERVICE_ACCOUNT} links {', '.join(sorted(linked)) or 'no secret'};"
            " none is an existing dockerconfigjson secret with registry credentials" + (f" ({why})" if why else "")
        )
    note(f"ServiceAccount {PIPELINE_SERVICE_ACCOUNT} links {', '.join(usable)}")
