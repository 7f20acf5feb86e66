"""Pulling the images a plan needs and the engine does not have, each once, with its registry's
credentials (read at that moment, sent only to the registry's own host)."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from syncd import logs
from syncd.apply.redact import hide
from syncd.apply.registries import auth_for, registry_for
from syncd.apply.results import Planned
from syncd.core.plan import ServiceChange
from syncd.engine.base import Engine
from syncd.errors import CredentialsError, CredentialsHostMismatch, EngineError, EngineUnavailable
from syncd.settings import Settings


def pull_missing(
    settings: Settings,
    engine: Engine,
    env: Mapping[str, str],
    planned: Planned,
    changes: list[ServiceChange],
) -> dict[str, str]:
    """Pull every missing image of `changes` once. The failures: reference -> error text."""
    needed: dict[str, ServiceChange] = {}  # reference -> the first service that needs it
    for change in changes:
        assert change.desired is not None
        ref = str(change.desired.spec.get("image"))
        if planned.observed.image_id(ref) is None:
            needed.setdefault(ref, change)
    if not needed:
        return {}
    registries = planned.desired.registries

    def pull(item: tuple[str, ServiceChange]) -> tuple[str, str | None]:
        ref, change = item
        registry = registry_for(ref, change.key.project, registries)
        try:
            engine.pull(ref, auth_for(registry, ref, env, settings.secrets))
        except EngineUnavailable:
            raise
        except (EngineError, CredentialsError, CredentialsHostMismatch) as err:
            where = f" from registry {registry.key} ({registry.shown('uri')})" if registry else ""
            return ref, hide(change, f"pulling {ref}{where} failed: {err}", registries)
        return ref, None

    failed: dict[str, str] = {}
    log = logs.get()
    with ThreadPoolExecutor(settings.parallelism) as pool:
        for ref, error in pool.map(pull, sorted(needed.items())):
            if error is not None:
                failed[ref] = error
                image = hide(needed[ref], ref, registries)
                log.warning("image_pull_failed", image=image, error=error)
    return failed
