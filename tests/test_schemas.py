"""The committed JSON Schemas equal what the models generate; the models accept mittwald's
examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from syncd.manifests import schema
from syncd.manifests.model import Service, Stack
from syncd.manifests.options import Volume
from tests.requirements import missing

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference" / "mittwald-container-openapi.json"


def test_committed_schemas_match_the_models() -> None:
    generated = schema.schemas()
    committed = {p.name for p in (ROOT / "schemas").glob("*.json")}
    assert committed == set(generated), "run `make schemas`"
    for name, body in generated.items():
        on_disk = (ROOT / "schemas" / name).read_text(encoding="utf-8")
        assert on_disk == schema.render(body), f"schemas/{name} is stale: run `make schemas`"


def _reference() -> dict[str, Any]:
    if not REFERENCE.is_file():
        missing(f"the mittwald reference spec is not at {REFERENCE}")
    spec: dict[str, Any] = json.loads(REFERENCE.read_text(encoding="utf-8"))
    return spec


def _example(schemas: dict[str, Any], name: str) -> dict[str, Any]:
    """An example body built from the `example` of every property of a reference schema."""
    body: dict[str, Any] = {}
    for prop, spec in schemas[name]["properties"].items():
        if "example" in spec:
            body[prop] = spec["example"]
        elif "$ref" in spec:
            body[prop] = _example(schemas, spec["$ref"].rsplit("/", 1)[1])
    return body


@pytest.mark.parametrize("name", ["ServiceDeclareRequest", "ServiceRequest"])
def test_models_accept_mittwald_service_examples(name: str) -> None:
    schemas = _reference()["components"]["schemas"]
    body = _example(schemas, f"de.mittwald.v1.container.{name}")
    assert {"image", "ports", "volumes", "deploy", "envs", "environment"} <= set(body)
    service = Service.model_validate(body)
    assert service.image == "mysql:8.0"
    assert service.deploy is not None and service.deploy.resources is not None
    stack = Stack.model_validate(
        {
            "kind": "Stack",
            "project": "p",
            "services": {"mysql": body},
            "volumes": {"data": {"name": "data"}},
        }
    )
    assert stack.services["mysql"].env()["MYSQL_DATABASE"] == "my_db"


@pytest.mark.parametrize("name", ["VolumeDeclareRequest", "VolumeRequest"])
def test_models_accept_mittwald_volume_examples(name: str) -> None:
    schemas = _reference()["components"]["schemas"]
    body = _example(schemas, f"de.mittwald.v1.container.{name}")
    assert Volume.model_validate(body).name == "mysql-volume"


def test_every_service_field_of_mittwald_is_modelled() -> None:
    schemas = _reference()["components"]["schemas"]
    theirs = set(schemas["de.mittwald.v1.container.ServiceDeclareRequest"]["properties"])
    ours = {f.alias for f in Service.model_fields.values()}
    assert theirs <= ours
