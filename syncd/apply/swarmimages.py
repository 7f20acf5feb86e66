"""The image a Swarm service runs, and the credentials its nodes pull it with.

Every node pulls a task's image by itself, so the spec syncd sends carries the image pinned to
the digest its registry gives for the tag now (`repo:tag@sha256:...`, what `docker stack deploy
--resolve-image always` does): every node runs the same image, and a tag pushed again (a moved
digest) rolls the service at the next sync. A registry that does not answer leaves the tag (or
the pin the service already has) and a warning; a no-op sync never fails for it.

The credentials are those of the image's OWN registry (`registry_for`, `auth_for`: never
another host's, never the Docker config of syncd's user); the engine sends them as
`X-Registry-Auth` when it creates or updates the service, and Swarm hands them to the nodes.
Each image is asked once per sync (`SwarmImages` lives for one plan's execution).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from syncd import logs
from syncd.apply.redact import hide
from syncd.apply.registries import auth_for, registry_for
from syncd.apply.results import Planned
from syncd.core.plan import ServiceChange
from syncd.engine.base import Engine
from syncd.errors import CredentialsError, CredentialsHostMismatch, EngineError
from syncd.settings import Settings

RESOLVE_TIMEOUT = 10.0  # seconds for the registry's answer (through the manager)
MAX_WARNED = 1000
_warned: set[tuple[str, str]] = set()  # (image, why): a warning once while it lasts
_warned_lock = threading.Lock()


@dataclass(frozen=True)
class SwarmImage:
    declared: str  # the reference of the manifest
    pinned: str | None  # `declared@sha256:...`; None when the registry did not say
    auth: Mapping[str, str] | None  # for `X-Registry-Auth`; None: anonymous
    problem: str | None  # why it is not pinned (shown)
    refused: str | None = None  # why its registry's credentials cannot be had (shown)

    def image(self, live: str | None) -> str:
        """What the spec names: the pin; else the pin the service has for the same tag; else
        the tag."""
        if self.pinned is not None:
            return self.pinned
        if live is not None and live.startswith(f"{self.declared}@"):
            return live
        return self.declared

    def moved(self, live: str | None) -> bool:
        """Whether the service runs another digest than the registry gives now."""
        return self.pinned is not None and live is not None and live != self.pinned


class SwarmImages:
    """One plan's image resolutions (each image and project asked once)."""

    def __init__(
        self, settings: Settings, engine: Engine, planned: Planned, env: Mapping[str, str]
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.planned = planned
        self.env = env
        self._known: dict[tuple[str, str], SwarmImage] = {}
        self._lock = threading.Lock()
        self.log = logs.get()

    def of(self, change: ServiceChange) -> SwarmImage:
        assert change.desired is not None
        ref = str(change.desired.spec.get("image"))
        key = (ref, change.key.project)
        with self._lock:
            if key in self._known:
                return self._known[key]
        found = self._resolve(change, ref)
        with self._lock:
            return self._known.setdefault(key, found)

    def _resolve(self, change: ServiceChange, ref: str) -> SwarmImage:
        registries = self.planned.desired.registries
        registry = registry_for(ref, change.key.project, registries)
        try:
            auth = auth_for(
                registry, ref, self.env, self.settings.secrets, self.settings.age_key_file
            )
        except (CredentialsError, CredentialsHostMismatch) as err:
            refused = hide(change, f"no credentials for image {ref}: {err}", registries)
            return SwarmImage(ref, None, None, refused, refused)
        if "@" in ref:  # a digest already: it never moves
            return SwarmImage(ref, None, auth, None)
        try:
            digest = self.engine.distribution(ref, auth, RESOLVE_TIMEOUT)
        except EngineError as err:
            text = f"image {ref} is not pinned to a digest: its registry said: {err}"
            problem = hide(change, text, registries)
            self._warn(hide(change, ref, registries), problem)
            return SwarmImage(ref, None, auth, problem)
        shown = hide(change, ref, registries)
        with _warned_lock:  # warned again once it fails again
            for seen in [w for w in _warned if w[0] == shown]:
                _warned.discard(seen)
        return SwarmImage(ref, f"{ref}@{digest}", auth, None)

    def _warn(self, image: str, problem: str) -> None:
        with _warned_lock:
            if (image, problem) in _warned:
                return
            if len(_warned) >= MAX_WARNED:  # bounded, whatever the registries answer
                _warned.clear()
            _warned.add((image, problem))
        self.log.warning("swarm_image_not_pinned", image=image, error=problem)
