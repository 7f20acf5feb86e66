"""Records of secrets kept before they were bound to their declaration (`core.declarations`):
bound at the first sync that finds their service unchanged.

A record from before the binding holds value-only digests, which a plan of an unreviewed
revision could still compare a template-built guess with. A sync that applies its head and
finds the service unchanged has just matched those digests with the head's own values (the
operator's, through the head's declarations): the record is written again with the same values,
now bound, and keeps its container hash, revision and result.
"""

from __future__ import annotations

from collections.abc import Iterator

import jsonpointer

from syncd.apply.results import Planned
from syncd.apply.store import Store
from syncd.core.plan import Action, Reason, ServiceChange
from syncd.core.records import BOUND_PREFIX, DIGEST_PREFIX, ServiceRecord


def rebind(store: Store, planned: Planned) -> int:
    """Bind the unchanged services' value-only records; how many were. Once every record is
    bound, a sync costs one scan of the store (`Store.unbound`)."""
    if not store.unbound():
        return 0
    records = store.services()
    live = planned.observation.live.stacks
    done = 0
    for change in _unchanged(planned):
        record = records.get(str(change.key))
        running = live.get(change.key.stack_key)
        service = running.services.get(change.key.name) if running else None
        if record is None or change.desired is None or service is None:
            continue
        if not any(_digest(v, legacy=True) for v in _secrets(record.spec, record)):
            continue  # bound already (or no secret)
        if any(_digest(v, legacy=False) for v in _secrets(service.spec, record)):
            continue  # a secret the plan did not put back: left as it is
        store.record(
            change.key,
            revision=record.revision,
            spec=service.spec,  # the record, its secrets put back by matching the head's values
            secrets=record.secrets,
            container_hash=record.container_hash,
            result=record.result,
            declaration=change.desired.declaration,
        )
        done += 1
    return done


def _unchanged(planned: Planned) -> Iterator[ServiceChange]:
    for stack in planned.plan.stacks:
        for change in stack.services:
            if change.action is Action.NONE and change.reason is Reason.UNCHANGED:
                yield change


def _secrets(spec: object, record: ServiceRecord) -> Iterator[object]:
    for pointer in record.secrets:
        yield jsonpointer.resolve_pointer(spec, pointer, None)


def _digest(value: object, *, legacy: bool) -> bool:
    """A digest as the store keeps a secret (`legacy`: of the value alone, before binding)."""
    if not isinstance(value, str) or not value.startswith(DIGEST_PREFIX):
        return False
    return not value.startswith(BOUND_PREFIX) if legacy else True
