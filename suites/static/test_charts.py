"""Static: every chart lints, renders, takes valid values and renders valid objects, per env."""

import json
from typing import Any

import jsonschema
import pytest

from fixtures.charts import Chart, Renderer
from fixtures.checks import BLOCKING, check, fail, note
from fixtures.validation import KUBERNETES_VERSION, ObjectValidator

pytestmark = pytest.mark.static


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


def validate_object(obj: dict[str, Any], namespace: str = "") -> str | None:
    """One object's problems on one line, or None (tests/test_runner.py holds a render to it)."""
    return "; ".join(map(str, ObjectValidator().problems(obj, namespace))) or None


@check(
    "static.charts.objects-valid",
    level=BLOCKING,
    remediation=f"Fix the field at the path named: it is unknown to, or of the wrong type for, the Kubernetes"
    f" {KUBERNETES_VERSION} schema (core kinds) or the upstream CRD of its kind (schemas/crds/). A kind with no"
    " schema needs its upstream CRD vendored: make crd-schemas CRDS=<dir of CRD YAMLs>.",
    sources=("k8s-crd-field-pruning",),
)
def test_objects_valid(renderer: Renderer, chart: Chart, chart_env: str) -> None:
    """Every rendered object validates offline with unknown fields as errors: core kinds against Kubernetes 1.32,
    custom kinds against their upstream CRD schemas; a kind with neither fails."""
    objects = renderer.objects(chart, chart_env)
    validator = ObjectValidator()
    problems = [problem for obj in objects for problem in validator.problems(obj, chart.namespace(chart_env))]
    if problems:
        fail(f"{chart.name} ({chart_env}): " + "; ".join(map(str, problems)))
    # Said on a PASS too: upstream leaves these kinds untyped, so only their metadata (and a TriggerTemplate's
    # resourcetemplates, as objects of their own kinds) could be checked.
    untyped = ", ".join(sorted(validator.open_kinds))
    note(f"{len(objects)} objects valid" + (f"; untyped upstream, metadata only: {untyped}" if untyped else ""))
