"""Scenario files: composition rules, and every object checked against the upstream projects' CRDs."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from fixtures.crds import SANDBOX_CRDS
from fixtures.errors import ConfigurationError
from fixtures.sandbox.scenarios import available, load, merge_patch

REPO = Path(__file__).resolve().parents[1]
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # 7 MB of upstream CRDs: the C loader
UPSTREAM_CRDS = Path(os.environ.get("BITIQ_UPSTREAM_CRDS", REPO.parent / "shared" / "upstream-crds"))


def test_merge_patch_follows_rfc_7386() -> None:
    target = {"a": {"b": 1, "c": [1, 2]}, "d": "keep", "e": "drop"}
    patch = {"a": {"b": 2, "c": [3]}, "e": None, "f": {"g": True}}
    assert merge_patch(target, patch) == {"a": {"b": 2, "c": [3]}, "d": "keep", "f": {"g": True}}
    assert target["a"] == {"b": 1, "c": [1, 2]}, "the base must not be modified"


def write(directory: Path, name: str, *documents: dict[str, Any]) -> None:
    (directory / f"{name}.yaml").write_text(yaml.safe_dump_all(documents))


NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "worker-0"}, "status": {"phase": "a"}}


def test_overlay_removes_patches_and_replaces(tmp_path: Path) -> None:
    write(tmp_path, "base", {"scenario": "base"}, NODE, {**NODE, "metadata": {"name": "worker-1"}})
    write(
        tmp_path,
        "overlay",
        {
            "scenario": "overlay",
            "base": "base",
            "remove": [{"kind": "Node", "name": "worker-1"}],
            "patch": [{"target": {"kind": "Node", "name": "worker-0"}, "merge": {"spec": {"unschedulable": True}}}],
        },
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "extra"}},
    )
    scenario = load("overlay", tmp_path)
    names = sorted(obj["metadata"]["name"] for obj in scenario.objects)
    assert names == ["extra", "worker-0"]
    node = next(obj for obj in scenario.objects if obj["kind"] == "Node")
    assert node["spec"] == {"unschedulable": True}


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"scenario": "bad", "base": "bad"}, "cycle"),
        ({"scenario": "bad", "base": "nope"}, "unknown scenario 'nope'"),
        ({"scenario": "bad", "remove": [{"kind": "Node", "name": "x"}]}, "is not in the base"),
        ({"scenario": "bad", "typo": 1}, "unknown header keys"),
    ],
)
def test_bad_scenarios_are_refused_with_a_reason(tmp_path: Path, header: dict[str, Any], message: str) -> None:
    write(tmp_path, "bad", header)
    with pytest.raises(ConfigurationError, match=message):
        load("bad", tmp_path)


def strict(schema: Any) -> Any:
    """An upstream structural schema as JSON Schema, where an unknown field is an error.

    The API server would silently prune a misspelled field; here it fails, so scenario objects
    carry only fields the real API defines.
    """
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: strict(value) for key, value in schema.items()}
    if converted.pop("x-kubernetes-int-or-string", False):
        converted.pop("type", None)
        converted["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if converted.get("nullable") and isinstance(converted.get("type"), str):
        converted["type"] = [converted["type"], "null"]
    if (
        converted.get("type") == "object"
        and "properties" in converted
        and "additionalProperties" not in converted
        and not converted.get("x-kubernetes-preserve-unknown-fields")
    ):
        converted["additionalProperties"] = False
    return converted


def upstream_schemas() -> dict[tuple[str, str], Any]:
    if not UPSTREAM_CRDS.is_dir():
        pytest.skip(f"upstream CRDs not found at {UPSTREAM_CRDS}: set BITIQ_UPSTREAM_CRDS")
    return _read_upstream_schemas()


@functools.cache
def _read_upstream_schemas() -> dict[tuple[str, str], Any]:
    schemas = {}
    for path in UPSTREAM_CRDS.glob("*.yaml"):
        crd = yaml.load(path.read_text(), Loader=FAST_LOADER)  # noqa: S506 - the C build of SafeLoader
        for version in crd["spec"]["versions"]:
            api_version = f"{crd['spec']['group']}/{version['name']}"
            schemas[(api_version, crd["spec"]["names"]["kind"])] = strict(version["schema"]["openAPIV3Schema"])
    return schemas


@pytest.mark.parametrize("scenario", available())
def test_scenario_objects_match_the_upstream_crds(scenario: str) -> None:
    schemas = upstream_schemas()
    problems = []
    checked = 0
    loaded = load(scenario)
    for obj in loaded.objects:
        schema = schemas.get((obj["apiVersion"], obj["kind"]))
        if schema is None:
            continue
        checked += 1
        for error in jsonschema.Draft7Validator(schema).iter_errors(obj):
            where = "/".join(str(part) for part in error.absolute_path)
            problems.append(f"{obj['kind']} {obj['metadata'].get('name')}: {where}: {error.message[:160]}")
    assert problems == []
    assert checked > 0 or not loaded.crds


def test_sandbox_crds_match_the_upstream_names_and_scopes() -> None:
    if not UPSTREAM_CRDS.is_dir():
        pytest.skip(f"upstream CRDs not found at {UPSTREAM_CRDS}: set BITIQ_UPSTREAM_CRDS")
    upstream = {}
    for path in UPSTREAM_CRDS.glob("*.yaml"):
        spec = yaml.load(path.read_text(), Loader=FAST_LOADER)["spec"]  # noqa: S506 - CSafeLoader is safe
        storage = next(v for v in spec["versions"] if v.get("storage"))
        upstream[(spec["group"], spec["names"]["kind"])] = (
            spec["names"]["plural"],
            spec["scope"] == "Namespaced",
            storage["name"],
            "status" in (storage.get("subresources") or {}),
        )
    ours = {
        (crd.group, crd.kind): (crd.plural, crd.namespaced, crd.version, crd.status_subresource)
        for crd in SANDBOX_CRDS
        if (crd.group, crd.kind) in upstream
    }
    assert ours == {key: upstream[key] for key in ours}
    assert len(ours) >= 19


def test_the_upstream_check_rejects_a_misspelled_field() -> None:
    schema = upstream_schemas()[("operators.coreos.com/v1alpha1", "Subscription")]
    subscription = {
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "Subscription",
        "metadata": {"name": "openshift-gitops-operator", "namespace": "openshift-gitops-operator"},
        "spec": {
            "name": "openshift-gitops-operator",
            "source": "redhat-operators",
            "sourceNamespace": "openshift-marketplace",
            "chanel": "gitops-1.18",
        },
    }
    errors = [error.message for error in jsonschema.Draft7Validator(schema).iter_errors(subscription)]
    assert any("'chanel' was unexpected" in message for message in errors), errors
