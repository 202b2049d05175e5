"""Static: every image the sample app runs is built by a pipeline of its env, and tracked by the Image Updater.

Three lists must name the same image repositories, per env: the containers of bitiq-sample-app, the
`image-repository` of every Pipeline charts/ci-pipelines renders (one per component), and the
Image Updater's `image-list` annotation on bitiq-sample-app-<env>. An image nobody builds never
changes; a pipeline whose image nobody runs builds for nothing; an image the updater does not list
is never rolled out, and one it lists that nothing runs is a write-back into nowhere.
"""

from collections import defaultdict

import pytest

from fixtures.charts import Chart, Renderer, containers, discover
from fixtures.checks import BLOCKING, check, fail, note
from fixtures.gitops import IMAGE_UPDATER_PREFIX, by_kind, nested_applications, umbrella_for
from fixtures.openshift import name_of
from fixtures.settings import RunSettings

pytestmark = pytest.mark.static

SAMPLE_APP = "bitiq-sample-app"
CI_PIPELINES = "ci-pipelines"
IMAGE_PARAM = "image-repository"


def _chart(settings: RunSettings, chart_name: str) -> Chart:
    for chart in discover(settings.charts_dir):
        if chart.name == chart_name:
            return chart
    fail(f"chart {chart_name} not found under {settings.charts_dir}")


def repository_of(image: str) -> str:
    """The repository of an image reference, without its tag or digest."""
    image = image.split("@", 1)[0]
    last = image.rsplit("/", 1)[-1]
    return image.rsplit(":", 1)[0] if ":" in last else image


def images_run(renderer: Renderer, chart: Chart, env: str) -> dict[str, list[str]]:
    """repository -> the containers of the sample app that run it."""
    found: dict[str, list[str]] = defaultdict(list)
    for obj in renderer.objects(chart, env):
        for where, container, _ in containers(obj):
            found[repository_of(str(container.get("image", "")))].append(where)
    return dict(found)


def images_built(renderer: Renderer, chart: Chart, env: str) -> dict[str, list[str]]:
    """repository -> the Pipelines whose `image-repository` parameter pushes it."""
    found: dict[str, list[str]] = defaultdict(list)
    for pipeline in by_kind(renderer.objects(chart, env), "Pipeline"):
        params = {str(p.get("name")): p for p in (pipeline.get("spec") or {}).get("params") or []}
        default = (params.get(IMAGE_PARAM) or {}).get("default")
        if default:
            found[repository_of(str(default))].append(f"Pipeline {name_of(pipeline)}")
        else:
            found[""].append(f"Pipeline {name_of(pipeline)} (no {IMAGE_PARAM} default)")
    return dict(found)


def images_tracked(renderer: Renderer, settings: RunSettings, env: str) -> dict[str, list[str]]:
    """repository -> the aliases of the Image Updater's image-list on bitiq-sample-app-<env>.

    Each entry is `[<alias>=]<image_path>[:<version_constraint>]` (docs/SOURCES.md imageupdater-image-list).
    """
    umbrella = umbrella_for(renderer, _chart(settings, "argocd-apps"), env)
    applications = nested_applications(renderer, _chart(settings, "bitiq-umbrella"), umbrella)
    sample = next((app for app in applications if name_of(app) == f"{SAMPLE_APP}-{env}"), None)
    if sample is None:
        fail(f"no Application {SAMPLE_APP}-{env} in the umbrella render")
    annotations = (sample.get("metadata") or {}).get("annotations") or {}
    found: dict[str, list[str]] = defaultdict(list)
    for entry in str(annotations.get(f"{IMAGE_UPDATER_PREFIX}image-list", "")).split(","):
        if entry.strip():
            alias, _, image = entry.strip().rpartition("=")
            found[repository_of(image)].append(alias or image)
    return dict(found)


@check(
    "static.pipelines.images-built",
    level=BLOCKING,
    remediation="Give every image bitiq-sample-app runs an entry in charts/ci-pipelines values `pipelines`"
    " (image.repository), drop pipelines whose image nothing runs, and keep bitiq-umbrella's imageUpdater"
    " repositories (the image-list annotation) to exactly those images.",
    sources=("ci-pipelines-per-component", "imageupdater-image-list", "tekton-v1-results"),
)
def test_images_built_by_pipelines(renderer: Renderer, settings: RunSettings, chart_env: str) -> None:
    """Per env, every image the sample app runs is pushed by a ci-pipelines Pipeline, every Pipeline's image
    is run, and the Image Updater's image-list names exactly those images."""
    run = images_run(renderer, _chart(settings, SAMPLE_APP), chart_env)
    built = images_built(renderer, _chart(settings, CI_PIPELINES), chart_env)
    tracked = images_tracked(renderer, settings, chart_env)
    problems = []
    for repository, where in sorted(run.items()):
        if repository not in built:
            problems.append(f"{repository} (run by {', '.join(where)}) is built by no Pipeline of {CI_PIPELINES}")
        if repository not in tracked:
            problems.append(f"{repository} (run by {', '.join(where)}) is not in the Image Updater's image-list")
    for repository, pipelines in sorted(built.items()):
        if repository not in run:
            problems.append(
                f"{', '.join(pipelines)} builds {repository or '(no image)'}, which no container of {SAMPLE_APP} runs"
            )
    for repository, aliases in sorted(tracked.items()):
        if repository not in run:
            problems.append(
                f"the Image Updater's image-list names {', '.join(aliases)}={repository}, which no container of"
                f" {SAMPLE_APP} runs"
            )
    if problems:
        fail(f"env {chart_env}: " + "; ".join(problems))
    note(
        f"env {chart_env}: "
        + "; ".join(
            f"{repository}: run by {len(run[repository])} container(s), built by {', '.join(built[repository])},"
            f" tracked as {', '.join(tracked[repository])}"
            for repository in sorted(run)
        )
    )
