"""The canonical form of the option groups (`manifests.options`), one module per concern.

`DEFAULTS` and `METADATA` join `canonical`'s; `fields` gives the canonical values a manifest sets.
A field at its default is left out of the config hash, so a new option never changes the hash
of a container created before syncd knew it (no recreate on upgrade). Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from syncd.core.options import files, lifecycle, network, process, schedule, security, swarm
from syncd.manifests.model import Service

GROUPS = (process, security, network, files, lifecycle, schedule, swarm)
DEFAULTS: dict[str, Any] = {k: v for g in GROUPS for k, v in g.DEFAULTS.items()}
METADATA: frozenset[str] = frozenset().union(*(g.METADATA for g in GROUPS))
UNHASHED: frozenset[str] = swarm.UNHASHED  # engine-specific: not in the Docker config hash


def fields(service: Service) -> dict[str, Any]:
    given = set(service.model_fields_set)
    out: dict[str, Any] = {}
    for group in GROUPS:
        out.update(group.fields(service, given))
    return out
