"""A stack network's Docker name spelled by another instance's stack (a network key may hold
`_`, the separator of syncd's names), on the real engine: it is never joined."""

from __future__ import annotations

import secrets

import docker
import pytest

from syncd.core.options.network import definition
from syncd.engine.base import Names
from syncd.engine.docker import API_VERSION
from syncd.engine.dockeropts.network import Attachment
from syncd.engine.networks import DockerNetworks
from syncd.errors import EngineError
from syncd.ids import StackKey
from syncd.manifests.options.network import StackNetwork

pytestmark = pytest.mark.docker


def test_a_network_of_another_instance_under_the_same_name_is_never_joined() -> None:
    victim_instance = f"v{secrets.token_hex(4)}"
    network = definition("front", StackNetwork())  # `front: {}`: anyone can write it
    victim = StackKey("shop", "default")
    # the default instance (no prefix), project = the victim instance's name, key with a `_`
    attacker = StackKey(victim_instance, "shop")
    name = Names(victim_instance).stack_network(victim, "front", network)
    assert Names("default").stack_network(attacker, "default_front", network) == name
    api = docker.APIClient(version=API_VERSION)
    try:
        DockerNetworks(api, victim_instance).ensure(
            victim, Attachment("front", name, {"network": network})
        )
        with pytest.raises(EngineError, match="did not make for this stack"):
            DockerNetworks(api, "default").ensure(
                attacker, Attachment("default_front", name, {"network": network})
            )
        # its own stack still finds it (a second service joining it)
        DockerNetworks(api, victim_instance).ensure(
            victim, Attachment("front", name, {"network": network})
        )
        assert len([n for n in api.networks(names=[name]) if n["Name"] == name]) == 1
    finally:
        for found in api.networks(names=[name]):
            if found["Name"] == name:
                api.remove_network(found["Id"])
        api.close()


class _Racing(docker.APIClient):  # type: ignore[misc]
    """A real client that lets another instance create the network just before it does."""

    def __init__(self, other: DockerNetworks, stack: StackKey, attachment: Attachment) -> None:
        super().__init__(version=API_VERSION)
        self.other = (other, stack, attachment)

    def create_network(self, *args: object, **kwargs: object) -> object:
        other, stack, attachment = self.other
        other.ensure(stack, attachment)
        return super().create_network(*args, **kwargs)


def test_a_network_another_instance_made_meanwhile_is_never_joined() -> None:
    victim_instance = f"v{secrets.token_hex(4)}"
    network = definition("front", StackNetwork())
    victim = StackKey("shop", "default")
    attacker = StackKey(victim_instance, "shop")
    name = Names(victim_instance).stack_network(victim, "front", network)
    api = docker.APIClient(version=API_VERSION)
    first = DockerNetworks(api, "default")
    racing = _Racing(first, attacker, Attachment("default_front", name, {"network": network}))
    try:
        with pytest.raises(EngineError, match="did not make for this stack"):
            DockerNetworks(racing, victim_instance).ensure(
                victim, Attachment("front", name, {"network": network})
            )
    finally:
        for found in api.networks(names=[name]):
            if found["Name"] == name:
                api.remove_network(found["Id"])
        api.close()
        racing.close()
