"""Static: every chart lints, renders, takes valid values and renders valid objects, per env."""

import json
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from fixtures.charts import Chart, Renderer
from fixtures.checks import BLOCKING, check, fail, note
from fixtures.crds import SANDBOX_CRDS

pytestmark = pytest.mark.static

KUBERNETES_VERSION = "1.32"  # OpenShift 4.19
OUR_SCHEMAS = {
    (crd.group, crd.kind): crd.manifest()["spec"]["versions"][0]["schema"]["openAPIV3Schema"] for crd in SANDBOX_CRDS
}


@check(
    "static.charts.lint",
    level=BLOCKING,
    remediation="Run `helm lint --strict charts/<chart> -f charts/<chart>/values-<env>.yaml` and fix what it reports.",
)
def test_lint(renderer: Renderer, chart: Chart, chart_env: str) -> None:
    """`helm lint --strict` passes for the chart with the env's values."""
    result = renderer.lint(chart, chart_env)
    if not result.ok:
        fail(f"helm lint {chart.name} ({chart_env}): {result.short()}")
    note(f"helm lint {chart.name} ({chart_env}) clean")


@check(
    "static.charts.render",
    level=BLOCKING,
    remediation="Run `make template` and fix the template or values that `helm template` rejects.",
)
def test_render(renderer: Renderer, chart: Chart, chart_env: str) -> None:
    """`helm template` renders the chart for the env."""
    result = renderer.template(chart, chart_env)
    if not result.ok:
        fail(f"helm template {chart.name} ({chart_env}): {result.short()}")
    note(f"{len(renderer.objects(chart, chart_env))} objects")


@check(
    "static.charts.values-schema",
    level=BLOCKING,
    remediation="Correct the value at the path named, or the chart's values.schema.json if the value is right.",
)
def test_values_schema(chart: Chart, chart_env: str) -> None:
    """The env's merged values validate against the chart's values.schema.json."""
    schema_file = chart.path / "values.schema.json"
    if not schema_file.is_file():
        fail(f"{chart.name} has no values.schema.json")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    problems = [
        f"{'.'.join(str(part) for part in error.absolute_path) or '(top)'}: {error.message[:200]}"
        for error in jsonschema.Draft7Validator(schema).iter_errors(chart.values(chart_env))
    ]
    if problems:
        files = ", ".join(path.name for path in chart.values_files(chart_env)) or "values.yaml"
        fail(f"{chart.name} values ({files}): " + "; ".join(problems))
    note(f"{chart.name} values valid for {chart_env}")


def validate_object(obj: dict[str, Any]) -> str | None:
    api_version = str(obj.get("apiVersion", ""))
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    where = f"{obj.get('kind')} {(obj.get('metadata') or {}).get('name')}"
    ours = OUR_SCHEMAS.get((group, str(obj.get("kind"))))
    if ours is not None:
        errors = list(jsonschema.Draft7Validator(ours).iter_errors(obj))
        if errors:
            path = ".".join(str(part) for part in errors[0].absolute_path)
            return f"{where}: {path}: {errors[0].message[:200]}"
        return None
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return (
            f"{where}: no schema for {api_version} {obj.get('kind')} (neither Kubernetes {KUBERNETES_VERSION} nor ours)"
        )
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(part) for part in error.path)
        return f"{where}: {path}: {error.message[:200]}"
    return None


@check(
    "static.charts.objects-valid",
    level=BLOCKING,
    remediation="Fix the field named: it is not in the Kubernetes 1.32 schema (core kinds) or in the"
    " CRD schema of its kind (fixtures/crds.py).",
)
def test_objects_valid(renderer: Renderer, chart: Chart, chart_env: str) -> None:
    """Every rendered object validates offline: core kinds against Kubernetes 1.32, CRD kinds against our CRDs."""
    objects = renderer.objects(chart, chart_env)
    problems = [problem for problem in map(validate_object, objects) if problem]
    if problems:
        fail("; ".join(problems))
    note(f"{len(objects)} objects valid")
