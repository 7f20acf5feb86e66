"""`pid: service:x` and `ipc: service:x`: the namespace of another service of the file, as
`network_mode: service:x` (`compose.networking`) is its network namespace.

The other service must be in the file and deployed (active profiles); it becomes an implicit
dependency (`service_started`, restarted with it), as compose-go's `normalize.go` does. The
value itself is checked by the model (`manifests.options.security`); the policy
(`hostNamespaces`) is `policyguard`'s. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncd.manifests.compose.context import Context, clip
from syncd.manifests.compose.networking import Scope, ServiceData, depend
from syncd.manifests.yamlsafe import Path

SHARING = ("pid", "ipc")  # the keys whose `service:x` joins another service's namespace
PREFIX = "service:"


def shared_target(value: object) -> str | None:
    """The service named by `service:x`, else None."""
    if isinstance(value, str) and value.startswith(PREFIX):
        return value.removeprefix(PREFIX)
    return None


def read_shared(
    service: Mapping[str, Any], at: Path, ctx: Context, scope: Scope, out: ServiceData
) -> None:
    """Check `pid` / `ipc` `service:x` against the file's services; `x` starts first."""
    for key in SHARING:
        target = shared_target(out.data.get(key))  # absent: in error (reported) or not given
        if target is None:
            continue
        here = (*at, key)
        if target == at[-1]:
            ctx.error(here, f"{key}: service:{clip(target)} names the service itself")
            out.data.pop(key, None)
        elif target not in scope.services or target not in scope.deployed:
            ctx.error(here, f"{key}: no deployed service {clip(target)!r} in this file")
            out.data.pop(key, None)
        else:
            depend(out, target, here)
