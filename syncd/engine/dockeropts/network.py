"""The network options of a `ContainerRequest` as docker-py arguments.

`options` holds canonical values keyed by syncd's field names (`core.options.network`), every
field present (defaults included). `container_kwargs` feeds `APIClient.create_container`,
`host_kwargs` `APIClient.create_host_config`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def container_kwargs(options: Mapping[str, Any]) -> dict[str, Any]:
    return {}


def host_kwargs(options: Mapping[str, Any]) -> dict[str, Any]:
    return {}
