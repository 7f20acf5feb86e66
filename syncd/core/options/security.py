"""The canonical form of a service's security options (see `manifests.options.security`).

`DEFAULTS` holds each field's value when the manifest omits it (Docker's own default, made
explicit); `fields` the canonical values of the fields the manifest sets.
Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from syncd.manifests.model import Service

DEFAULTS: dict[str, Any] = {}
# Fields of this group whose change needs no new container (syncd only records them).
METADATA: frozenset[str] = frozenset()


def fields(service: Service, given: set[str]) -> dict[str, Any]:
    """`given`: the model field names the manifest sets (`service.model_fields_set`)."""
    out: dict[str, Any] = {}
    return out
