"""The pure parts of Swarm image handling: which reference a spec names, when a tag moved, and
the engine's guard on `X-Registry-Auth` (the Swarm tests in test_swarm_auth.py do the rest)."""

from __future__ import annotations

import base64
import json

import pytest

from syncd.apply.swarmimages import SwarmImage
from syncd.engine.swarm import _registry_auth
from syncd.errors import CredentialsHostMismatch

TAG = "10.213.0.1:5555/team/app:1"
OLD = f"{TAG}@sha256:{'a' * 64}"
NEW = f"{TAG}@sha256:{'b' * 64}"
AUTH = {"username": "u", "password": "p", "serveraddress": "10.213.0.1:5555"}


def _spec(image: str) -> dict[str, object]:
    return {"TaskTemplate": {"ContainerSpec": {"Image": image}}}


def test_a_resolved_tag_is_pinned_and_a_new_digest_is_a_move() -> None:
    image = SwarmImage(TAG, NEW, None, None)
    assert image.image(OLD) == NEW
    assert image.moved(OLD) and not image.moved(NEW)
    assert not image.moved(None)  # not running yet: created, not "moved"


def test_an_unresolved_tag_keeps_the_pin_the_service_has_and_never_counts_as_moved() -> None:
    unresolved = SwarmImage(TAG, None, None, "image ... is not pinned: no route to host")
    assert unresolved.image(OLD) == OLD  # an update for another reason keeps the same digest
    assert unresolved.image(None) == TAG
    assert unresolved.image("10.213.0.1:5555/team/app:10@sha256:" + "c" * 64) == TAG  # other tag
    assert not unresolved.moved(OLD)  # a no-op sync with the registry away writes nothing


def test_the_registry_auth_header_is_the_url_safe_base64_json_of_the_credentials() -> None:
    (value,) = _registry_auth(_spec(OLD), AUTH).values()
    assert json.loads(base64.urlsafe_b64decode(value)) == AUTH
    assert _registry_auth(_spec(OLD), None) == {}  # none: never the Docker config's


def test_credentials_for_another_host_are_refused_before_anything_is_sent() -> None:
    with pytest.raises(CredentialsHostMismatch):
        _registry_auth(_spec("127.0.0.1:5555/team/app:1"), AUTH)
    with pytest.raises(CredentialsHostMismatch):
        _registry_auth(_spec("team/app:1"), AUTH)  # Docker Hub
