"""The data folders (project-files folders) services mount, and those none mounts any more:
recorded in the store after each apply and reported (a warning, the daemon's status) like
orphaned volumes; syncd never deletes one, its data is the operator's."""

from __future__ import annotations

from typing import Any

from syncd.apply.results import Planned
from syncd.apply.store import Store
from syncd.core.options import volumes as volume_options
from syncd.core.plan import Action


def in_use(planned: Planned) -> set[tuple[str, str]]:
    """(project, folder) of every desired service, and of every live one the plan keeps (a
    service an `update` stack leaves out stays as it runs)."""
    out: set[tuple[str, str]] = set()
    for stack in planned.desired.stacks.values():
        for service in stack.services.values():
            folders = volume_options.data_folders(service.spec, service.secrets)
            out |= {(stack.key.project, f) for f in folders}
    removed = {c.key for s in planned.plan.stacks for c in s.services if c.action is Action.REMOVE}
    for live in planned.observation.live.stacks.values():
        for running in live.services.values():
            desired = planned.desired.stacks.get(live.key)
            if running.key in removed or (desired and running.key.name in desired.services):
                continue
            folders = volume_options.data_folders(running.spec, running.secrets)
            out |= {(live.key.project, f) for f in folders}
    return out


def record(store: Store, planned: Planned, log: Any) -> list[tuple[str, str]]:
    """Mark the folders in use and those no longer used; the newly unused, each logged once."""
    used = in_use(planned)
    known = store.data_folders()
    changes = {f: False for f in used if known.get(f, True)}
    unused = sorted(f for f, orphaned in known.items() if f not in used and not orphaned)
    changes.update(dict.fromkeys(unused, True))
    if changes:
        store.set_data_folders(changes)
    for project, folder in unused:
        log.warning("data_folder_unused", project=project, folder=folder)
    return unused
