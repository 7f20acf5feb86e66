"""Scheduled image updates (`updateSchedule`): when a service's schedule is due, its image's
tag is asked for its digest at the registry (with that registry's credentials, sent only to
its own host); when the digest is not the one the service runs, the image is pulled by digest
and the service is *pinned* to it: its desired image becomes `repo@sha256:...` (`pinned`), so
the next sync recreates that service, and only it, through the normal apply path (the local
tag does not move: other services on the same tag keep their image until their own schedule
or a new revision says otherwise).

State (table `image_updates`, one row per service): when it was last checked (due times
survive a restart) and its pin (the declared tag, the pinned reference, the digest it ran
before). A check that finds nothing writes only its check time. Bounded: at most
`MAX_CHECKS` services per pass, each registry answer within `CHECK_TIMEOUT` seconds.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syncd import logs
from syncd.apply.registries import auth_for, registry_for
from syncd.apply.results import SyncResult
from syncd.apply.store import Store
from syncd.core.desired import DesiredService, DesiredState
from syncd.engine.base import Engine, Observed, split_reference
from syncd.errors import CredentialsError, CredentialsHostMismatch, EngineError
from syncd.ids import ServiceKey
from syncd.manifests.options.schedule import cron, zone
from syncd.manifests.quantities import parse_duration
from syncd.settings import Settings

MAX_CHECKS = 32  # services checked per pass; the others are due at the next pass
CHECK_TIMEOUT = 30.0
_TABLE = (
    "CREATE TABLE IF NOT EXISTS image_updates (service TEXT PRIMARY KEY, checked REAL NOT NULL, "
    "pin TEXT)"
)


@dataclass(frozen=True)
class Pin:
    reference: str  # the tag the manifest declares
    image: str  # `repo@sha256:...`: what the service runs instead
    old: str  # the digest (or image id) it ran before
    new: str  # the digest it runs now


def next_due(schedule: Mapping[str, Any], last: float) -> float:
    """The first time after `last` (epoch seconds) the schedule fires."""
    if schedule.get("interval"):
        return last + parse_duration(str(schedule["interval"]))
    tz = zone(schedule.get("timezone"))
    fires = cron(str(schedule.get("cron")), datetime.fromtimestamp(last, tz))
    try:
        return next(fires).timestamp()
    except StopIteration:
        return float("inf")


def _declared(service: DesiredService, pin: Pin | None) -> str:
    image = str(service.spec.get("image"))
    return pin.reference if pin is not None and image == pin.image else image


class Updates:
    """The schedules of the desired services, their check times and pins."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        store: Store,
        env: Mapping[str, str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings, self.engine, self.store, self.env = settings, engine, store, env
        self.clock = clock
        self.log = logs.get()
        self._lock = threading.Lock()
        self._due: dict[ServiceKey, float] = {}  # when each scheduled service is next due
        self._told: set[tuple[ServiceKey, float]] = set()
        self.moved: dict[ServiceKey, Pin] = {}  # found by the last check, not yet applied
        with store.transaction() as db:
            db.execute(_TABLE)

    # -- state ---------------------------------------------------------------------------------

    def _rows(self) -> dict[str, tuple[float, Pin | None]]:
        with self.store.transaction() as db:
            rows = db.execute("SELECT service, checked, pin FROM image_updates").fetchall()
        return {r[0]: (float(r[1]), Pin(**json.loads(r[2])) if r[2] else None) for r in rows}

    def _write(self, key: ServiceKey, checked: float, pin: Pin | None) -> None:
        text = json.dumps(dataclasses.asdict(pin)) if pin else None
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO image_updates (service, checked, pin) VALUES (?, ?, ?)",
                (str(key), checked, text),
            )

    # -- the desired state, pinned ---------------------------------------------------------------

    def pinned(self, desired: DesiredState) -> DesiredState:
        """`desired` with each pinned service's image replaced by its pin (while the manifest
        still declares the tag the pin was found for, and the service keeps a schedule)."""
        rows = self._rows()
        stacks = dict(desired.stacks)
        for stack_key, stack in desired.stacks.items():
            services = dict(stack.services)
            for name, service in stack.services.items():
                pin = rows.get(str(service.key), (0.0, None))[1]
                spec = service.spec
                if pin is None or not spec.get("updateSchedule"):
                    continue
                if spec.get("image") == pin.reference:
                    services[name] = dataclasses.replace(service, spec={**spec, "image": pin.image})
            stacks[stack_key] = dataclasses.replace(stack, services=services)
        return dataclasses.replace(desired, stacks=stacks)

    def track(self, desired: DesiredState) -> None:
        """Know the schedules of `desired` (a service seen for the first time is first due
        one period after now)."""
        rows, now = self._rows(), self.clock()
        due: dict[ServiceKey, float] = {}
        for stack in desired.stacks.values():
            for service in stack.services.values():
                schedule = service.spec.get("updateSchedule")
                if not schedule:
                    continue
                if str(service.key) not in rows:
                    self._write(service.key, now, None)
                checked = rows.get(str(service.key), (now, None))[0]
                due[service.key] = next_due(schedule, checked)
        with self._lock:
            self._due = due

    def newly_due(self) -> bool:
        """Whether a service became due since the last call (each due time is told once, so a
        sync that cannot run the check is not asked for again every second)."""
        now = self.clock()
        with self._lock:
            due = {(key, at) for key, at in self._due.items() if at <= now}
            fresh = bool(due - self._told)
            self._told = due
            return fresh

    # -- the check -----------------------------------------------------------------------------

    def check(self, desired: DesiredState, observed: Observed) -> dict[ServiceKey, Pin]:
        """Ask the registry for the digest of each due service's tag; pull and pin the moved
        ones. The pins found (the next sync recreates those services)."""
        rows, now = self._rows(), self.clock()
        moved: dict[ServiceKey, Pin] = {}
        running = {c.key: c.image_id for c in observed.containers}
        checked = 0
        for stack in desired.stacks.values():
            for service in stack.services.values():
                schedule = service.spec.get("updateSchedule")
                last, pin = rows.get(str(service.key), (now, None))
                if not schedule or next_due(schedule, last) > now or checked >= MAX_CHECKS:
                    continue
                checked += 1
                found = self._check_one(desired, service, pin, running.get(service.key))
                self._write(service.key, now, found or pin)
                if found is not None:
                    moved[service.key] = found
        with self._lock:
            self.moved.update(moved)
        self.track(desired)
        return moved

    def _check_one(
        self, desired: DesiredState, service: DesiredService, pin: Pin | None, image_id: str | None
    ) -> Pin | None:
        key, reference = service.key, _declared(service, pin)
        tainted = "/image" in service.secrets
        shown = "<redacted>" if tainted else reference
        if "@" in reference or image_id is None:
            return None  # a digest never moves; a service not running is not compared
        registry = registry_for(reference, key.project, desired.registries)
        try:
            auth = auth_for(
                registry, reference, self.env, self.settings.secrets, self.settings.age_key_file
            )
            digest = self.engine.distribution(reference, auth, CHECK_TIMEOUT)
            config = self.engine.image_config(image_id)
            digests = [str(d).rsplit("@", 1)[-1] for d in config.get("RepoDigests") or []]
            if digest in digests:
                self.log.debug("image_update_none", service=str(key), image=shown)
                return None
            repo, _ = split_reference(reference)
            image = f"{repo}@{digest}"
            self.engine.pull(image, auth)
        except (EngineError, CredentialsError, CredentialsHostMismatch) as err:
            error = "<redacted>" if tainted else str(err)
            self.log.warning("image_update_check_failed", service=str(key), error=error)
            return None
        old = digests[0] if digests else image_id
        self.log.info("image_update_found", service=str(key), old=old, new=digest)
        return Pin(reference=reference, image=image, old=old, new=digest)

    def annotate(self, result: SyncResult) -> SyncResult:
        """The history's words for the services a scheduled update recreated: old and new
        digest. Pins applied leave `moved`."""
        with self._lock:
            moved, self.moved = self.moved, {}
        rows = []
        for row in result.services:
            pin = moved.pop(row.key, None)
            if pin is not None and row.ok:
                detail = f"{row.detail}: image update {pin.old} -> {pin.new}"
                rows.append(dataclasses.replace(row, detail=detail))
                continue
            if pin is not None:
                moved[row.key] = pin  # failed: still to be named when it applies
            rows.append(row)
        with self._lock:
            self.moved.update(moved)
        return dataclasses.replace(result, services=tuple(rows))
