"""Pulling the images a plan needs and the engine does not have, each once, with its registry's
credentials (read at that moment, sent only to the registry's own host)."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import assert_never

from syncd import logs
from syncd.apply.redact import hide
from syncd.apply.registries import auth_for, registry_for
from syncd.apply.results import Planned
from syncd.core.plan import ServiceChange
from syncd.engine.base import Engine
from syncd.errors import CredentialsError, CredentialsHostMismatch, EngineError, EngineUnavailable
from syncd.manifests.options.process import PullPolicy
from syncd.settings import Settings


def pull_missing(
    settings: Settings,
    engine: Engine,
    env: Mapping[str, str],
    planned: Planned,
    changes: list[ServiceChange],
) -> dict[str, str]:
    """Pull the images of `changes` once each, as their pull policy says (`missing`: only those
    the engine lacks; `always`: every one; `never`: none, and a missing one fails).
    The failures: reference -> error text."""
    needed: dict[str, ServiceChange] = {}  # reference -> the first service that needs it
    failed: dict[str, str] = {}
    for change in changes:
        assert change.desired is not None
        ref = str(change.desired.spec.get("image"))
        policy = PullPolicy(change.desired.spec.get("pullPolicy") or PullPolicy.MISSING)
        present = planned.observed.image_id(ref) is not None
        match policy:
            case PullPolicy.NEVER:
                if not present:
                    text = f"image {ref} is not on the engine and its pull_policy is never"
                    failed.setdefault(ref, hide(change, text, planned.desired.registries))
            case PullPolicy.ALWAYS:
                needed.setdefault(ref, change)
            case PullPolicy.MISSING:
                if not present:
                    needed.setdefault(ref, change)
            case _:
                assert_never(policy)
    if not needed:
        return failed
    registries = planned.desired.registries

    def pull(item: tuple[str, ServiceChange]) -> tuple[str, str | None]:
        ref, change = item
        registry = registry_for(ref, change.key.project, registries)
        try:
            platform = change.desired.spec.get("platform") if change.desired else None
            engine.pull(
                ref,
                auth_for(registry, ref, env, settings.secrets, settings.age_key_file),
                platform=platform,
            )
        except EngineUnavailable:
            raise
        except (EngineError, CredentialsError, CredentialsHostMismatch) as err:
            where = f" from registry {registry.key} ({registry.shown('uri')})" if registry else ""
            return ref, hide(change, f"pulling {ref}{where} failed: {err}", registries)
        return ref, None

    log = logs.get()
    with ThreadPoolExecutor(settings.parallelism) as pool:
        for ref, error in pool.map(pull, sorted(needed.items())):
            if error is not None:
                failed[ref] = error
                image = hide(needed[ref], ref, registries)
                log.warning("image_pull_failed", image=image, error=error)
    return failed
