"""Service fields: which networks a service joins (aliases, addresses), network_mode and links.

Named as the Compose Specification names them, in camelCase (`cap_add` -> `capAdd`), with
Compose's meaning. Pure: no I/O.
"""

from __future__ import annotations

from syncd.manifests.strict import StrictModel


class NetworkFields(StrictModel):
    """Mixed into `model.Service`."""


class StackNetworkFields(StrictModel):
    """The stack's own networks (Compose's top-level `networks`)."""
