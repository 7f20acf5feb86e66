"""Error text about one service, without its secret values: Docker quotes what it was given
(an image reference, a binding, a path), so its errors may echo a value from the environment."""

from __future__ import annotations

from collections.abc import Mapping

from syncd import taint
from syncd.apply.registries import registry_for
from syncd.core.desired import DesiredRegistry
from syncd.core.plan import ServiceChange
from syncd.ids import RegistryKey

# Fields whose values Docker quotes (in pieces, too) in its errors: image refs, bindings, paths.
ECHOED = frozenset({"image", "ports", "volumes", "command", "entrypoint", "healthcheck"})


def hide(
    change: ServiceChange, text: str, registries: Mapping[RegistryKey, DesiredRegistry]
) -> str:
    """`text` (an error, maybe Docker's, which quotes what it was given) without any value
    of the service that came from the environment, nor its registry's tainted fields."""
    echoed: set[str] = set()  # Docker may quote pieces of these (a repository, a port)
    values: set[str] = set()
    for side in (change.desired, change.live):
        if side is not None:
            places = {p for p in side.secrets if p.split("/")[1] in ECHOED}
            echoed |= taint.values_at(side.spec, places)
            values |= taint.values_at(side.spec, side.secrets)
    key = change.key
    names = {key.project, key.stack, key.name}  # public: never scrubbed as a piece
    if change.desired is not None:
        image = str(change.desired.spec.get("image"))
        registry = registry_for(image, key.project, registries)
        if registry is not None:
            values |= {str(getattr(registry, f)) for f in registry.secrets}
            names.add(registry.key.name)
    text = taint.scrub(taint.scrub(text, values, whole_only=True), echoed, keep=names)
    hidden: str = taint.scrub_known(text)
    return hidden
