"""Container engines behind one interface (`Engine`); `connect` picks one from the settings.

`engine.base` is the boundary's vocabulary (requests, observations, names, labels) and is pure;
`engine.docker` is the only module that imports docker.

Stage 3. May import: the root leaves and `manifests` (field syntaxes such as registry hosts).
"""

from __future__ import annotations

from syncd.engine.base import Engine
from syncd.errors import EngineError
from syncd.settings import EngineKind, Settings

__all__ = ["Engine", "connect"]


def connect(settings: Settings) -> Engine:
    if settings.engine is EngineKind.DOCKER:
        from syncd.engine.docker import DockerEngine

        return DockerEngine(settings.instance, settings.publish_address)
    raise EngineError(f"engine {settings.engine} is not available")  # pragma: no cover
