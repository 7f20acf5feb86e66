"""Service fields: how many containers and how they are replaced: replicas, update order.

Named as the Compose Specification names them, in camelCase (`cap_add` -> `capAdd`), with
Compose's meaning. Pure: no I/O.
"""

from __future__ import annotations

from syncd.manifests.strict import StrictModel


class LifecycleFields(StrictModel):
    """Mixed into `model.Service`."""
