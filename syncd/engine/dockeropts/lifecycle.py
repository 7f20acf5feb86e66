"""The lifecycle options of a `ContainerRequest` as docker-py arguments.

`options` holds canonical values keyed by syncd's field names (`core.options.lifecycle`), every
field present (defaults included). `container_kwargs` feeds `APIClient.create_container`,
`host_kwargs` `APIClient.create_host_config`. Replicas and the update order are not container
settings: the apply steps honour them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncd.manifests.model import RestartPolicy


def container_kwargs(options: Mapping[str, Any]) -> dict[str, Any]:
    return {}


def host_kwargs(options: Mapping[str, Any]) -> dict[str, Any]:
    return {}


def restart_policy(policy: RestartPolicy, options: Mapping[str, Any]) -> dict[str, Any]:
    """HostConfig.RestartPolicy: Docker leaves `no` empty, and takes a retry count with
    `on-failure` only."""
    retries = int(options.get("restartMaxRetries") or 0)
    if policy is RestartPolicy.ON_FAILURE and retries:
        return {"Name": policy.value, "MaximumRetryCount": retries}
    return {"Name": "" if policy is RestartPolicy.NO else policy.value}
