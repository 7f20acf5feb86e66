"""The canonical form of a service's lifecycle options (see `manifests.options.lifecycle`).

`DEFAULTS` holds each field's value when the manifest omits it (Docker's own default, made
explicit); `fields` the canonical values of the fields the manifest sets.
- `restartMaxRetries`: the `N` of `on-failure:N` (Docker's MaximumRetryCount; 0 = no limit);
- `replicas`: containers of the service; `updateOrder`: stop-first or start-first;
- `dependsOnRestart`: dependencies whose recreation restarts this service;
  `dependsOnOptional`: dependencies that may be missing (`required: false`).
Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from syncd.manifests.model import Dependency, Service
from syncd.manifests.options.lifecycle import UpdateOrder, parse_restart

DEFAULTS: dict[str, Any] = {
    "restartMaxRetries": 0,
    "replicas": 1,
    "updateOrder": UpdateOrder.STOP_FIRST.value,
    "dependsOnRestart": [],
    "dependsOnOptional": [],
}
# Fields of this group whose change needs no new container (syncd only records them): the
# number of replicas changes by adding or removing containers, never by replacing the others.
METADATA: frozenset[str] = frozenset(
    {"replicas", "updateOrder", "dependsOnRestart", "dependsOnOptional"}
)


def fields(service: Service, given: set[str]) -> dict[str, Any]:
    """`given`: the model field names the manifest sets (`service.model_fields_set`)."""
    out: dict[str, Any] = {}
    if "restart_policy" in given and service.restart_policy is not None:
        out["restartMaxRetries"] = parse_restart(service.restart_policy)[1]
    if "deploy" in given:
        deploy = service.deploy
        replicas = deploy.replicas if deploy else None
        update = deploy.update_config if deploy else None
        out["replicas"] = DEFAULTS["replicas"] if replicas is None else replicas
        out["updateOrder"] = update.order.value if update else DEFAULTS["updateOrder"]
    if "update" in given and service.update is not None:  # native short form
        out["updateOrder"] = service.update.value
    if "depends_on" in given:
        long = {k: v for k, v in (service.depends_on or {}).items() if isinstance(v, Dependency)}
        out["dependsOnRestart"] = sorted(k for k, v in long.items() if v.restart)
        out["dependsOnOptional"] = sorted(k for k, v in long.items() if not v.required)
    return out
