"""Service fields for Docker Swarm: `deploy.mode`, `deploy.placement`, the rollout tuning of
`deploy.updateConfig` / `deploy.rollbackConfig`, `deploy.restartPolicy`, `deploy.endpointMode`
and `deploy.portModes` (a published port's `mode`).

Named as the Compose Specification names them, in camelCase, with the meaning Swarm gives them
(Engine API `ServiceSpec`). On a Docker engine they have no effect (a warning at their line,
`manifests.enginecheck`), but for `restartPolicy.condition` / `maxAttempts`, which are the
container's restart policy there too. Pure: no I/O.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from syncd.manifests.quantities import DurationString
from syncd.manifests.strict import StrictModel

MAX_PARALLELISM = 1000
MAX_PLACEMENT_ITEMS = 100  # constraints or preferences of one service
MAX_CONSTRAINT_TEXT = 256
MAX_ATTEMPTS = 1_000_000


class ServiceMode(StrEnum):
    REPLICATED = "replicated"  # `replicas` tasks (default)
    GLOBAL = "global"  # one task on every node that matches the placement


class EndpointMode(StrEnum):
    VIP = "vip"  # one virtual IP, load-balanced by IPVS (default)
    DNSRR = "dnsrr"  # DNS round robin: the service name resolves to every task's address


class PortMode(StrEnum):
    INGRESS = "ingress"  # the routing mesh: the port on every node (default)
    HOST = "host"  # the port on the node that runs the task only


class FailureAction(StrEnum):
    PAUSE = "pause"  # stop the rollout where it is (default)
    CONTINUE = "continue"
    ROLLBACK = "rollback"  # back to the previous spec


class RestartCondition(StrEnum):
    NONE = "none"
    ON_FAILURE = "on-failure"
    ANY = "any"  # default


# `node.role == manager`, `node.labels.zone != b`, `engine.labels.os==linux`
_ATTRIBUTE = r"node\.(?:id|hostname|role|platform\.os|platform\.arch|labels\.[^\s=!]+)"
_CONSTRAINT = re.compile(
    rf"\s*({_ATTRIBUTE}|engine\.labels\.[^\s=!]+)\s*(==|!=)\s*([^\s=!](?:.*[^\s])?)\s*", re.ASCII
)
_SPREAD = re.compile(r"(?:node|engine)\.labels\.[^\s=!]+", re.ASCII)


def _shown(text: str) -> str:
    quoted = repr(text)
    return quoted if len(quoted) <= 42 else quoted[:40] + "..."


def check_constraint(text: str) -> str:
    """A placement constraint as Swarm reads it: `<attribute> == <value>` or `!=`."""
    match = _CONSTRAINT.fullmatch(text) if len(text) <= MAX_CONSTRAINT_TEXT else None
    if match is None:
        raise PydanticCustomError(
            "constraint",
            f"{_shown(text)} is not a Swarm constraint: <attribute> == <value> or != <value>, "
            "with node.id, node.hostname, node.role, node.platform.os, node.platform.arch, "
            "node.labels.<label> or engine.labels.<label>",
        )
    if match.group(1) == "node.role" and match.group(3) not in ("manager", "worker"):
        raise PydanticCustomError("constraint", "node.role is manager or worker")
    return text


def check_spread(text: str) -> str:
    if not _SPREAD.fullmatch(text):
        raise PydanticCustomError(
            "spread", f"{_shown(text)} is not node.labels.<label> or engine.labels.<label>"
        )
    return text


def canonical_constraint(text: str) -> str:
    """`node.role==worker` -> `node.role == worker` (one form for one constraint)."""
    match = _CONSTRAINT.fullmatch(text)
    return f"{match.group(1)} {match.group(2)} {match.group(3)}" if match else text


Constraint = Annotated[str, AfterValidator(check_constraint)]


class Preference(StrictModel):
    spread: Annotated[str, AfterValidator(check_spread)] = Field(
        description="spread tasks evenly over the values of this node label, e.g. node.labels.zone"
    )


class Placement(StrictModel):
    constraints: Annotated[list[Constraint], Field(max_length=MAX_PLACEMENT_ITEMS)] | None = Field(
        None, description="e.g. ['node.role == worker', 'node.labels.disk == ssd']"
    )
    preferences: Annotated[list[Preference], Field(max_length=MAX_PLACEMENT_ITEMS)] | None = Field(
        None, description="[{spread: node.labels.<label>}], in order"
    )
    max_replicas_per_node: Annotated[int, Field(ge=1, le=MAX_PARALLELISM)] | None = Field(
        None, description="at most this many tasks on one node (replicated mode only)"
    )


class Rollout(StrictModel):
    """The Swarm-only part of an update (or rollback) configuration."""

    parallelism: Annotated[int, Field(ge=0, le=MAX_PARALLELISM)] | None = Field(
        None, description="tasks replaced at once (default 1; 0 = all at once)"
    )
    delay: DurationString | None = Field(None, description="between two batches (default 0s)")
    failure_action: FailureAction | None = Field(
        None, description="when a task fails to update: pause (default), continue or rollback"
    )
    monitor: DurationString | None = Field(
        None, description="how long a new task is watched for failure (default 5s)"
    )
    max_failure_ratio: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None, description="failed tasks tolerated, from 0 (default) to 1"
    )


class SwarmRestartPolicy(StrictModel):
    """Swarm's restart policy; `condition` and `maxAttempts` are the container's restart
    policy on a Docker engine (none -> no, on-failure -> on-failure:maxAttempts, any -> always)."""

    condition: RestartCondition | None = Field(None, description="none, on-failure or any")
    delay: DurationString | None = Field(None, description="between restarts (default 5s)")
    max_attempts: Annotated[int, Field(ge=0, le=MAX_ATTEMPTS)] | None = Field(
        None, description="restarts before giving up (default 0: no limit)"
    )
    window: DurationString | None = Field(
        None, description="how long a restart must run to count as a success (default 0s)"
    )


class DeploySwarmFields(StrictModel):
    """Mixed into `model.Deploy`."""

    mode: ServiceMode | None = Field(None, description="replicated (default) or global")
    placement: Placement | None = None
    restart_policy: SwarmRestartPolicy | None = None
    endpoint_mode: EndpointMode | None = Field(
        None, description="vip (default; needs IPVS) or dnsrr"
    )
    port_modes: dict[str, PortMode] | None = Field(
        None,
        description="a published port (as written in `ports`) -> ingress (default) or host",
    )


DOCKER_RESTART = {
    RestartCondition.NONE: "no",
    RestartCondition.ON_FAILURE: "on-failure",
    RestartCondition.ANY: "always",
}


def docker_restart(policy: SwarmRestartPolicy) -> str:
    """The container restart policy `deploy.restartPolicy` means on a Docker engine (`any`, the
    default condition as in Compose -> always, `none` -> no, `on-failure` with `maxAttempts` ->
    on-failure:N)."""
    name = DOCKER_RESTART[policy.condition or RestartCondition.ANY]
    if name == "on-failure" and policy.max_attempts:
        return f"{name}:{policy.max_attempts}"
    return name
