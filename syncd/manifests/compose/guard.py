"""The operator's policy over one Compose file, on its interpolated values (a `${DIR}:/data`
bind is only known after interpolation), each refusal an error at its line naming the policy
key to change.

Mapping decision D26: a service outside the active profiles is read and checked, but it is not
deployed, so what it would need of the policy is a warning (the same text), not an error: the
file stays valid, and turning the profile on is no surprise. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from syncd.manifests.compose.context import Context
from syncd.manifests.policyguard import compose_findings
from syncd.policy import Policy


def check_policy(
    body: Mapping[str, Any],
    project: str,
    deployed: Collection[str],
    policy: Policy,
    ctx: Context,
) -> None:
    """Report every refusal of `body` (the interpolated Compose file, identity keys removed)."""
    allowed = policy.allowed(project)
    services = body.get("services")
    services = services if isinstance(services, Mapping) else {}
    active = {n: s for n, s in services.items() if n in deployed}
    for finding in compose_findings(allowed, {**body, "services": active}):
        ctx.error(finding.path, str(finding.refusal))
    idle = {n: s for n, s in services.items() if n not in deployed}
    if not idle:
        return
    for finding in compose_findings(allowed, {"services": idle}):
        name = finding.path[1]
        message = (
            f"service {name!r} is not deployed (its profiles are not active); "
            f"once it is: {finding.refusal}"
        )
        ctx.warn(finding.path, message)
