"""JSON Schemas of the manifest kinds, for editors (`# yaml-language-server: $schema=...`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, TypeAdapter

from syncd.manifests.model import Registry, Stack, StackPatch

_ONE: dict[str, type[BaseModel]] = {
    "stack": Stack,
    "stackpatch": StackPatch,
    "registry": Registry,
}
AnyManifest = Annotated[Stack | StackPatch | Registry, Field(discriminator="kind")]


def schemas() -> dict[str, dict[str, Any]]:
    """File name -> schema: one per kind, and `manifest.schema.json` accepting any kind."""
    out: dict[str, dict[str, Any]] = {}
    for name, model in _ONE.items():
        out[f"{name}.schema.json"] = _with_header(model.model_json_schema(), name)
    out["manifest.schema.json"] = _with_header(TypeAdapter(AnyManifest).json_schema(), "manifest")
    return out


def _with_header(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://syncd.dev/schemas/{name}.schema.json",
        **schema,
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schemas().items():
        path = out_dir / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written
