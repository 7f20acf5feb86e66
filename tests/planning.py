"""Helpers to build desired states and plans from manifest text, as the CLI does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from syncd.core.desired import DesiredState, resolve
from syncd.core.live import LiveState
from syncd.core.plan import Plan, as_live, plan
from syncd.manifests import read_manifests
from syncd.policy import BUILTIN, Policy


@dataclass(frozen=True)
class File:
    path: str
    data: bytes


def desired(
    text: str,
    env: Mapping[str, str],
    revision: str,
    live: LiveState | None,
    policy: Policy = BUILTIN,
) -> DesiredState:
    manifests = read_manifests([File(f"{revision}.yaml", text.encode())], env, policy=policy)
    return resolve(manifests, revision, live.last_applied() if live is not None else None)


def plan_texts(
    old: str,
    new: str,
    env: Mapping[str, str] | None = None,
    *,
    allow_empty: bool = False,
    policy: Policy = BUILTIN,
) -> tuple[Plan, DesiredState, DesiredState]:
    """Plan revision `new` against revision `old` taken as running."""
    env = env or {}
    before = desired(old, env, "old", None, policy)
    live = as_live(before)
    after = desired(new, env, "new", live, policy)
    return plan(after, live, base="old", allow_empty=allow_empty), before, after
