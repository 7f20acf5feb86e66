"""Projects in mittwald's full shape (pure parts): the status table, the stored `createdAt`, the
measured size of a file area, and the strict validator that the API tests rely on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from syncd.api.models import ProjectReadiness, ProjectStatus
from syncd.api.projects import STATUS, ProjectFacts, instance_id, project_models, project_status
from syncd.api.view import timestamp
from syncd.apply.store import Store
from syncd.core.live import ServiceStatus
from syncd.daemon.usage import tree_size
from syncd.ids import project_id
from tests.conformance import Conformance, reference

R, P, E = ProjectStatus.READY, ProjectStatus.PENDING, ProjectStatus.ERROR
S = ServiceStatus


@pytest.mark.parametrize(
    ("services", "status", "readiness"),
    [
        ((), R, ProjectReadiness.READY),
        ((S.RUNNING, S.RUNNING), R, ProjectReadiness.READY),
        ((S.RUNNING, S.STOPPED), R, ProjectReadiness.READY),
        ((S.RUNNING, S.STARTING), P, ProjectReadiness.UNREADY),
        ((S.STOPPING, S.STOPPED), P, ProjectReadiness.UNREADY),
        ((S.STARTING, S.CREATING), P, ProjectReadiness.CREATING),
        ((S.CREATING, S.ERROR, S.RUNNING), E, ProjectReadiness.UNREADY),
    ],
)
def test_a_projects_status_is_its_worst_services(
    services: tuple[ServiceStatus, ...], status: ProjectStatus, readiness: ProjectReadiness
) -> None:
    assert project_status(services) == (status, readiness)


def test_every_service_status_has_a_project_status() -> None:
    assert set(STATUS) == set(ServiceStatus)


def test_created_at_is_the_first_time_given_and_survives_reopening(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    assert store.projects_created({"shop": 100.0}) == {"shop": 100.0}
    assert store.projects_created({"shop": 50.0, "blog": 200.0}) == {"shop": 100.0, "blog": 200.0}
    store.close()
    reopened = Store(tmp_path / "s.sqlite")
    assert reopened.projects_created({"shop": 999.0}) == {"shop": 100.0}


def test_a_file_area_is_measured_without_following_links(tmp_path: Path) -> None:
    area = tmp_path / "files"
    (area / "a" / "b").mkdir(parents=True)
    (area / "a" / "one").write_bytes(b"x" * 1000)
    (area / "a" / "b" / "two").write_bytes(b"y" * 234)
    os.link(area / "a" / "one", area / "again")  # a hard link counts once
    outside = tmp_path / "outside"
    outside.write_bytes(b"z" * 10_000)
    (area / "link").symlink_to(outside)  # counted as the link itself, never its target
    (area / "loop").symlink_to(area)
    link_sizes = len(str(outside)) + len(str(area))
    measured = tree_size(area)
    assert measured.complete and measured.bytes == 1234 + link_sizes
    assert tree_size(tmp_path / "missing").bytes == 0
    bounded = tree_size(area, max_entries=2)
    assert not bounded.complete and bounded.bytes <= measured.bytes


def _reference_schema(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/de.mittwald.v1.project.{name}"}


def test_the_project_shapes_hold_every_required_field_of_the_reference() -> None:
    strict = Conformance(reference())
    facts = ProjectFacts("shop", ((S.RUNNING, 1_700_000_100.5),), 1_700_000_000.0, 42, 1.7e9)
    item, full = project_models(facts, "default", timestamp)
    body = item.model_dump(mode="json", exclude_none=True)
    assert strict.errors(_reference_schema("ProjectListItem"), body) == []
    one = full.model_dump(mode="json", exclude_none=True)
    assert strict.errors(_reference_schema("Project"), one) == []
    assert body["id"] == project_id("shop") and body["status"] == "ready" and body["isReady"]
    assert body["createdAt"] == "2023-11-14T22:13:20Z"
    assert body["statusSetAt"] == "2023-11-14T22:15:00.500000Z"
    assert body["webStorageUsageInBytes"] == 42
    assert body["customerId"] == body["customerMeta"]["id"] == instance_id("default", "customer")
    assert instance_id("other", "customer") != body["customerId"]


BAD_ITEMS: list[tuple[str, Any]] = [
    ("/customerId", None),  # dropped (see below)
    ("/status", "running"),
    ("/readiness", "almost"),
    ("/createdAt", "2024-13-01T00:00:00Z"),
    ("/createdAt", "yesterday"),
    ("/statusSetAt", "2024-01-01 00:00:00"),
    ("/webStorageUsageInBytes", 2**63),
    ("/webStorageUsageInBytes", "12"),
    ("/supportedFeatures", ["container", "ftp"]),
    ("/customerMeta", {}),
    ("/enabled", None),
    ("/madeUp", True),
]


@pytest.mark.parametrize(("pointer", "value"), BAD_ITEMS)
def test_the_strict_validator_refuses_what_a_typed_client_refuses(pointer: str, value: Any) -> None:
    strict = Conformance(reference())
    facts = ProjectFacts("shop", (), 1_700_000_000.0, 0, 1.7e9)
    body = project_models(facts, "default", timestamp)[0].model_dump(mode="json")
    name = pointer[1:]
    if pointer == "/customerId":
        del body[name]
    else:
        body[name] = value
    assert strict.errors(_reference_schema("ProjectListItem"), body) != []


def test_the_strict_validator_reads_openapi_3_0_nullable_and_uuid_formats() -> None:
    spec = {
        "openapi": "3.0.0",
        "paths": {},
        "components": {
            "schemas": {
                "T": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "maybe": {"type": "string", "nullable": True},
                        "never": {"type": "string"},
                    },
                }
            }
        },
    }
    strict = Conformance(spec)
    schema = {"$ref": "#/components/schemas/T"}
    good = "0b5f3a52-3c1b-5d7e-9a41-7b2d6c0e8f13"
    assert strict.errors(schema, {"id": good, "maybe": None}) == []
    assert strict.errors(schema, {"id": good, "never": None}) != []
    assert strict.errors(schema, {"id": "p-0b5f3a"}) != []
    assert strict.errors(schema, {"id": good.replace("-", "")}) != []
