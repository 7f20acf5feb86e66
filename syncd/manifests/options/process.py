"""Service fields for the process and its identity: user, working dir, host name, labels,
init, tty, stop signal and grace period, /etc/hosts and DNS, platform and pull policy.

Named as the Compose Specification names them, in camelCase (`cap_add` -> `capAdd`), with
Compose's meaning. Pure: no I/O.
"""

from __future__ import annotations

from syncd.manifests.strict import StrictModel


class ProcessFields(StrictModel):
    """Mixed into `model.Service`."""
