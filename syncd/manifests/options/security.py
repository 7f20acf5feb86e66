"""Service fields for isolation and resources: capabilities, security options, privileged,
devices, host namespaces, read-only root, tmpfs, shm, ulimits, pids, sysctls, logging, legacy
CPU and memory keys.

Named as the Compose Specification names them, in camelCase (`cap_add` -> `capAdd`), with
Compose's meaning. Pure: no I/O.
"""

from __future__ import annotations

from syncd.manifests.strict import StrictModel


class SecurityFields(StrictModel):
    """Mixed into `model.Service`."""
