"""The stacks' own networks on one Docker host: created from their canonical definition when a
container first needs one (labelled with the instance, project, stack and key), checked to
exist when external (never created, changed or deleted), removed once unused.

It speaks to docker-py's `APIClient` without importing docker (only `engine.docker` does): the
caller (`DockerEngine`) translates docker-py errors at its boundary; here only an error's HTTP
status is read, to let a race (created meanwhile) or a network in use pass.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from syncd import logs
from syncd.engine.base import LABEL_INSTANCE, LABEL_NETWORK, Names, owner_labels
from syncd.engine.dockeropts.network import Attachment, endpoint_kwargs
from syncd.errors import EngineError
from syncd.ids import ServiceKey, StackKey

_IN_USE = (403, 409)  # Docker's answers for "has active endpoints" / "in use"
_NOT_FOUND = 404


def _status(err: Exception) -> int | None:
    """The HTTP status of a docker-py `APIError` (None for anything else)."""
    code = getattr(err, "status_code", None)
    return code if isinstance(code, int) else None


class DockerNetworks:
    def __init__(self, api: Any, instance: str) -> None:
        self.api = api
        self.instance = instance
        self._lock = threading.Lock()  # two services of a stack must not both create one

    def _found(self, name: str) -> dict[str, Any] | None:
        """The network named exactly `name` (Docker's filter also matches parts of names)."""
        for network in self.api.networks(names=[name]):
            if network.get("Name") == name:
                found: dict[str, Any] = network
                return found
        return None

    def ensure(self, stack: StackKey, attachment: Attachment) -> None:
        """The stack network `attachment` names exists (the project network is ensured
        before: `Engine.ensure_network`)."""
        definition = attachment.definition
        if definition is None:
            return
        with self._lock:
            found = self._found(attachment.name)
            if found is not None and definition.get("external"):
                owner = (found.get("Labels") or {}).get(LABEL_INSTANCE)
                if owner is not None:  # another project's (or instance's) network
                    raise EngineError(
                        f"network {attachment.key!r} names {attachment.name!r}, a network syncd "
                        "made for a stack: an external network is one made outside syncd "
                        "(docker network create); join another stack's services through it"
                    )
            if found is not None and not definition.get("external"):
                self._check_owner(stack, attachment, found)
            if found is not None:
                return
            if definition.get("external"):
                raise EngineError(
                    f"network {attachment.key!r} is external, but Docker has no network named "
                    f"{attachment.name!r}: create it on the host (docker network create "
                    f"{attachment.name}); syncd never creates an external network"
                )
            if definition["ipam"]["config"]:  # Docker gives a subnet to one network only
                self._retire(stack, attachment.key)
            if not self._create(stack, attachment.key, attachment.name, definition):
                found = self._found(attachment.name)  # made meanwhile: by whom?
                self._check_owner(stack, attachment, found or {})

    def _check_owner(
        self, stack: StackKey, attachment: Attachment, found: Mapping[str, Any]
    ) -> None:
        """A network of this name that syncd did not make for this stack's `key` (another
        instance's, whose name the key's `_` can spell, or one made by hand) is never joined."""
        labels = found.get("Labels") or {}
        wanted = {**owner_labels(self.instance, stack), LABEL_NETWORK: attachment.key}
        if any(labels.get(k) != v for k, v in wanted.items()):
            raise EngineError(
                f"network {attachment.key!r}: Docker already has a network named "
                f"{attachment.name!r} that syncd did not make for this stack (another "
                "instance's, or made outside syncd); rename the network key"
            )

    def _retire(self, stack: StackKey, key: str) -> None:
        """Remove the earlier versions of a stack network (another definition, so another
        name): their subnet is the new one's. The containers still on them are being
        recreated onto the new one (a changed definition changes their spec)."""
        labels = [f"{k}={v}" for k, v in owner_labels(self.instance, stack).items()]
        for old in self.api.networks(filters={"label": [*labels, f"{LABEL_NETWORK}={key}"]}):
            attached = self.api.inspect_network(old["Id"]).get("Containers") or {}
            for container in attached:
                self.api.disconnect_container_from_network(container, old["Id"], force=True)
            self.api.remove_network(old["Id"])
            logs.get().info("network_replaced", network=old["Name"], stack=str(stack))

    def _create(self, stack: StackKey, key: str, name: str, definition: Mapping[str, Any]) -> bool:
        """Create the network; False: Docker had one of that name meanwhile."""
        ipam = definition["ipam"]
        pools = [
            {
                field: value
                for field, value in (
                    ("Subnet", pool["subnet"]),
                    ("IPRange", pool["ipRange"]),
                    ("Gateway", pool["gateway"]),
                    ("AuxiliaryAddresses", pool["auxAddresses"] or None),
                )
                if value is not None
            }
            for pool in ipam["config"]
        ]
        labels = {**definition["labels"], **owner_labels(self.instance, stack), LABEL_NETWORK: key}
        try:
            self.api.create_network(
                name,
                driver=definition["driver"],
                options=dict(definition["driverOpts"]) or None,
                ipam={"Driver": "default", "Config": pools, "Options": dict(ipam["options"])},
                internal=definition["internal"],
                enable_ipv6=definition["enableIpv6"],
                attachable=definition["attachable"] or None,
                labels=labels,
                check_duplicate=True,
            )
        except Exception as err:
            if _status(err) != 409:  # created meanwhile: the caller checks by whom
                raise
            return False
        logs.get().info("network_created", network=name, stack=str(stack))
        return True

    def connect(
        self, container: str, service: ServiceKey, rest: list[Attachment], names: Names
    ) -> None:
        """Connect a created container to its other networks (API 1.41 takes one at create);
        if one fails, the container goes (it never starts half connected)."""
        try:
            for attachment in rest:
                self.api.connect_container_to_network(
                    container, attachment.name, **endpoint_kwargs(names, service, attachment, [])
                )
        except Exception:
            self.api.remove_container(container, force=True, v=False)
            raise

    def leave(self, container: str) -> None:
        """Disconnect a running container from every network it is on: its names and aliases
        stop resolving at once (Docker drops them only after the container has exited)."""
        try:
            joined = self.api.inspect_container(container)["NetworkSettings"]["Networks"] or {}
        except Exception as err:
            if _status(err) == _NOT_FOUND:
                return
            raise
        for network in sorted(joined):
            try:
                self.api.disconnect_container_from_network(container, network)
            except Exception as err:
                if _status(err) not in (_NOT_FOUND, 409):  # gone, or host/none mode
                    raise

    def prune(self, unused: frozenset[str]) -> None:
        """Remove each of these syncd-made stack networks that no container is attached to
        (Docker refuses the others: they go at a later sync)."""
        mine = {
            n["Name"]
            for n in self.api.networks(filters={"label": [f"syncd.instance={self.instance}"]})
            if LABEL_NETWORK in (n.get("Labels") or {})
        }
        for name in sorted(unused & mine):
            try:
                self.api.remove_network(name)
            except Exception as err:
                if _status(err) in (*_IN_USE, _NOT_FOUND):
                    continue
                raise
            logs.get().info("network_removed", network=name)
