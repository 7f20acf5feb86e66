"""Which of the stacks' own networks a sync leaves unused: those no desired service joins and
no container kept after the sync joins (a failed replace keeps its old container, and so its
network). The engine removes them (`Engine.prune_networks`); external networks are never
among them. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from syncd.apply.results import Planned, ServiceResult
from syncd.core.plan import Action
from syncd.engine.base import Names
from syncd.engine.dockeropts.network import attachments
from syncd.ids import ServiceKey

GONE = frozenset({Action.REMOVE, Action.RECREATE})  # the live container went, when it went well


def unused_networks(
    planned: Planned, names: Names, results: Mapping[ServiceKey, ServiceResult]
) -> frozenset[str]:
    existing = planned.observed.stack_networks
    if not existing:
        return frozenset()
    used: set[str] = set()
    for stack in planned.desired.stacks.values():
        for service in stack.services.values():
            used.update(a.name for a in attachments(names, service.key, service.spec))
    actions = {c.key: c.action for s in planned.plan.stacks for c in s.services}
    for live_stack in planned.observation.live.stacks.values():
        for live in live_stack.services.values():
            result = results.get(live.key)
            if actions.get(live.key) in GONE and result is not None and result.ok:
                continue
            used.update(a.name for a in attachments(names, live.key, live.spec))
    return frozenset(existing - used)
