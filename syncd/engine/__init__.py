"""Container engines behind one interface (`Engine`); `connect` picks one from the settings.

`engine.base` is the boundary's vocabulary (requests, observations, names, labels) and is pure;
`engine.docker` (one host) and `engine.swarm` (a Swarm manager) are the adapters that import
docker (with `engine.client`, the connection both use).

Stage 3. May import: the root leaves and `manifests` (field syntaxes such as registry hosts).
"""

from __future__ import annotations

from syncd.engine.base import Engine
from syncd.errors import EngineError
from syncd.settings import EngineKind, Settings

__all__ = ["Engine", "connect"]


def connect(settings: Settings) -> Engine:
    from syncd.engine.client import api_client, engine_address

    address = engine_address(settings.docker_host)  # as errors name it
    if settings.engine is EngineKind.DOCKER:
        from syncd.engine.docker import DockerEngine

        client = api_client(settings.docker_host)
        return DockerEngine(settings.instance, settings.publish_address, client, address)
    if settings.engine is EngineKind.SWARM:
        from syncd.engine.swarm import SwarmEngine

        return SwarmEngine(settings.instance, api_client(settings.docker_host), address)
    raise EngineError(f"engine {settings.engine} is not available")  # pragma: no cover
