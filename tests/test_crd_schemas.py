"""The vendored upstream CRD schemas, and the strict validation static.charts.objects-valid does with them."""

from __future__ import annotations

import filecmp
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from fixtures.crd_schemas import SCHEMAS_DIR, refresh
from fixtures.errors import ConfigurationError
from fixtures.tekton import step_containers
from fixtures.validation import ObjectValidator, StrictValidator, strict
from tests.conftest import REPO

UPSTREAM_CRDS = Path(os.environ.get("BITIQ_UPSTREAM_CRDS", REPO.parent / "shared" / "upstream-crds"))


def test_vendored_schemas_are_generated_from_the_upstream_crds(tmp_path: Path) -> None:
    if not UPSTREAM_CRDS.is_dir():
        pytest.skip(f"upstream CRDs not found at {UPSTREAM_CRDS}: set BITIQ_UPSTREAM_CRDS")
    written = refresh(UPSTREAM_CRDS, tmp_path)
    vendored = sorted(path.relative_to(SCHEMAS_DIR) for path in SCHEMAS_DIR.rglob("*") if path.is_file())
    generated = sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*") if path.is_file())
    assert vendored == generated, "schemas/crds is stale: make crd-schemas CRDS=../shared/upstream-crds"
    assert len(written) >= 16
    _, mismatched, errors = filecmp.cmpfiles(SCHEMAS_DIR, tmp_path, [str(path) for path in generated], shallow=False)
    assert mismatched == errors == [], "schemas/crds is stale: make crd-schemas CRDS=../shared/upstream-crds"


def test_refresh_names_a_kind_the_source_lacks(tmp_path: Path) -> None:
    if not UPSTREAM_CRDS.is_dir():
        pytest.skip(f"upstream CRDs not found at {UPSTREAM_CRDS}: set BITIQ_UPSTREAM_CRDS")
    source = tmp_path / "crds"
    shutil.copytree(UPSTREAM_CRDS, source)
    (source / "routes.route.openshift.io.yaml").unlink()
    with pytest.raises(ConfigurationError, match=r"no CRD in .* for Route \(route.openshift.io\)"):
        refresh(source, tmp_path / "out")


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "closed": {"type": "object", "properties": {"known": {"type": "string"}}},
        "open": {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "properties": {"typed": {"type": "object", "properties": {"known": {"type": "integer"}}}},
        },
        "port": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
        "maybe": {"type": "string", "nullable": True},
        "never": {"type": "string"},
        "embedded": {
            "type": "object",
            "x-kubernetes-embedded-resource": True,
            "x-kubernetes-preserve-unknown-fields": True,
        },
        "empty": {"type": "object"},
    },
}


def errors_of(instance: dict[str, Any]) -> list[str]:
    return sorted(
        ".".join(map(str, error.absolute_path)) + ": " + str(error.validator)
        for error in StrictValidator(strict(SCHEMA)).iter_errors(instance)
    )


@pytest.mark.parametrize(
    ("instance", "expected"),
    [
        ({"closed": {"known": "x"}}, []),
        ({"closed": {"unknown": "x"}}, ["closed: additionalProperties"]),
        ({"open": {"anything": {"goes": 1}}}, []),  # unknown fields allowed at the open node...
        ({"open": {"typed": {"unknown": 1}}}, ["open.typed: additionalProperties"]),  # ...only there
        ({"open": {"typed": {"known": "1"}}}, ["open.typed.known: type"]),
        ({"port": 8080}, []),
        ({"port": "http"}, []),
        ({"port": 80.5}, ["port: type"]),
        ({"maybe": None}, []),
        ({"never": None}, ["never: type"]),
        ({"embedded": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {}}}, []),
        ({"embedded": {"metadata": {"nmae": "x"}}}, ["embedded.metadata: additionalProperties"]),
        ({"empty": {"field": 1}}, ["empty: additionalProperties"]),
        ({"unknown": 1}, [": additionalProperties"]),
    ],
)
def test_strict_reads_the_kubernetes_extensions(instance: dict[str, Any], expected: list[str]) -> None:
    assert errors_of(instance) == expected


def route(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "route.openshift.io/v1",
        "kind": "Route",
        "metadata": {"name": "web"},
        "spec": {"to": {"kind": "Service", "name": "web", "weight": 100}, **spec},
    }


def pipeline(step: dict[str, Any]) -> dict[str, Any]:
    task = {"name": "build", "taskSpec": {"stepTemplate": {"securityContext": {"runAsNonRoot": True}}, "steps": [step]}}
    return {"apiVersion": "tekton.dev/v1", "kind": "Pipeline", "metadata": {"name": "ci"}, "spec": {"tasks": [task]}}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (route(tls={"termination": "edge"}), []),
        (route(path=None), []),  # the API server prunes the null before validating
        (
            route(wildcardPolicy="Subdomain"),  # a wildcard Route needs a host
            [
                'Route bitiq-prod/web: spec: breaks a rule of the CRD schema (anyOf: [{"not": {"properties": {"host":'
                ' {"maxLength": 0}}}}, {"not": {"properties": {"wildcardPolicy": {"enum": ["Subdomain"]}}}}])'
            ],
        ),
        (route(tsl={"termination": "edge"}), ["Route bitiq-prod/web: spec.tsl: unknown field"]),
        (
            route(port={"targetPort": 8.5}),
            ["Route bitiq-prod/web: spec.port.targetPort: wrong type: number 8.5, want integer or string"],
        ),
        (
            {**route(), "metadata": {"name": "web", "labelz": {}}},
            ["Route bitiq-prod/web: metadata.labelz: unknown field"],
        ),
        (pipeline({"name": "s", "image": "ubi9:9.6"}), []),
        (
            pipeline({"name": "s", "image": "ubi9:9.6", "securityContxt": {}}),
            ["Pipeline bitiq-prod/ci: spec.tasks[0].taskSpec.steps[0].securityContxt: unknown field"],
        ),
        (
            {
                "apiVersion": "triggers.tekton.dev/v1beta1",
                "kind": "TriggerTemplate",
                "metadata": {"name": "tt"},
                "spec": {"resourcetemplates": [{**pipeline({"name": "s"}), "spec": {"tasks": [], "tsaks": []}}]},
            },
            ["TriggerTemplate bitiq-prod/tt: spec.resourcetemplates[0].spec.tsaks: unknown field"],
        ),
        (
            {"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": {"name": "s"}},
            [
                "SealedSecret bitiq-prod/s: no schema for bitnami.com/v1alpha1 SealedSecret: not a Kubernetes 1.32"
                " kind and no upstream CRD schema in schemas/crds; add its CRD (make crd-schemas)"
            ],
        ),
        (
            {**route(), "apiVersion": "route.openshift.io/v2"},
            [
                "Route bitiq-prod/web: no schema for route.openshift.io/v2 Route: not a Kubernetes 1.32 kind and no"
                " upstream CRD schema in schemas/crds (served: route.openshift.io/v1); add its CRD (make crd-schemas)"
            ],
        ),
        (
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}, "spec": {"finalizer": []}},
            ["Namespace n: spec.finalizer: unknown field"],
        ),
    ],
)
def test_objects_are_judged_strictly_with_the_path(obj: dict[str, Any], expected: list[str]) -> None:
    assert [str(problem) for problem in ObjectValidator().problems(obj, "bitiq-prod")] == expected


def test_steps_inherit_the_step_template_and_sidecars_do_not() -> None:
    obj = pipeline({"name": "s", "securityContext": {"allowPrivilegeEscalation": False}})
    obj["spec"]["tasks"][0]["taskSpec"]["sidecars"] = [{"name": "side"}]
    found = {step.where: step.container.get("securityContext") for step in step_containers(obj)}
    assert found == {
        "Pipeline ci task build step s": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
        "Pipeline ci task build sidecar side": None,
    }
