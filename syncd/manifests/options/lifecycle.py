"""Service fields: how many containers and how they are replaced: replicas, update order, and
the restart retry count (`restartPolicy: on-failure:3`, Compose's `restart`).

Named as the Compose Specification names them, in camelCase (`update_config` -> `updateConfig`),
with Compose's meaning. Pure: no I/O.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from syncd.manifests.fields import DockerText
from syncd.manifests.options.swarm import Rollout
from syncd.manifests.strict import StrictModel

MAX_REPLICAS = 1000
MAX_HEALTH_RETRIES = 10_000  # Docker sets none; far above any real check
MAX_RESTART_RETRIES = 1_000_000
_RESTART = re.compile(r"(no|always|unless-stopped|on-failure)(:[0-9]{1,7})?")


class UpdateOrder(StrEnum):
    STOP_FIRST = "stop-first"  # remove the old container, then start the new one
    START_FIRST = "start-first"  # start the new one (healthy, if it has a check), then remove


def _shown(text: str) -> str:
    """Quoted and cut short as `parse` quotes values (`taint.scrub` knows the `...` form)."""
    quoted = repr(text)
    return quoted if len(quoted) <= 42 else quoted[:40] + "..."


def parse_restart(text: str) -> tuple[str, int]:
    """`on-failure:3` -> (`on-failure`, 3); `always` -> (`always`, 0)."""
    match = _RESTART.fullmatch(text)
    if match is None:
        raise PydanticCustomError(
            "restart",
            f"{_shown(text)} is not one of 'no', 'always', 'on-failure' or 'unless-stopped' "
            "(on-failure may name a maximum retry count: on-failure:3)",
        )
    name, count = match.group(1), match.group(2)
    if count is not None and name != "on-failure":
        raise PydanticCustomError(
            "restart", f"a retry count goes with on-failure only: {_shown(text)}"
        )
    retries = int(count[1:]) if count else 0
    if retries > MAX_RESTART_RETRIES:
        raise PydanticCustomError("restart", f"at most {MAX_RESTART_RETRIES} retries")
    return name, retries


def _check_restart(text: str) -> str:
    parse_restart(text)
    return text


RestartText = Annotated[
    str,
    AfterValidator(_check_restart),
    Field(description="no | always | on-failure[:max retries] | unless-stopped"),
]


def check_health_test(words: list[str]) -> list[str]:
    """Docker runs `["CMD", argv...]`, `["CMD-SHELL", command]` and `["NONE"]` (no check)."""
    first = words[0] if words else None
    if first not in ("CMD", "CMD-SHELL", "NONE"):
        raise PydanticCustomError(
            "healthcheck", "a test list starts with 'CMD', 'CMD-SHELL' or 'NONE'"
        )
    if first == "NONE" and len(words) > 1:
        raise PydanticCustomError("healthcheck", "['NONE'] takes no more words")
    if first != "NONE" and len(words) < 2:
        raise PydanticCustomError("healthcheck", f"{first} needs a command after it")
    return words


HealthTest = Annotated[list[DockerText], AfterValidator(check_health_test)]


class UpdateConfig(Rollout):
    """`order` on every engine; the rest (`Rollout`) tunes a Swarm rollout."""

    order: UpdateOrder = UpdateOrder.STOP_FIRST


class RollbackConfig(Rollout):
    """How Swarm rolls a failed update back (Swarm only)."""

    order: UpdateOrder | None = Field(None, description="stop-first (default) or start-first")


class DeployLifecycleFields(StrictModel):
    """Mixed into `model.Deploy` (Compose's `deploy.replicas`, `deploy.update_config`)."""

    replicas: Annotated[int, Field(ge=0, le=MAX_REPLICAS)] | None = Field(
        None, description="containers of the service (default 1; 0 = declared, none running)"
    )
    update_config: UpdateConfig | None = Field(
        None,
        description="order: stop-first (default) or start-first; on Swarm also parallelism, "
        "delay, failureAction, monitor, maxFailureRatio",
    )
    rollback_config: RollbackConfig | None = Field(
        None, description="Swarm only: as updateConfig, for a rollback"
    )


class LifecycleFields(StrictModel):
    """Mixed into `model.Service`."""

    update: UpdateOrder | None = Field(
        None,
        description="how a changed service's containers are replaced: stop-first (default; "
        "down meanwhile) or start-first (the new one runs, healthy if it has a healthcheck, "
        "before the old one stops); the short form of deploy.updateConfig.order",
    )
