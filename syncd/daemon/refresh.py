"""The snapshot the daemon publishes after each sync, built off the request path: one more
engine listing, the plan of the last good revision, the records, measured sizes and what each
container runs (inspected once per container)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from syncd import logs
from syncd.apply.reconcile import Reconciler
from syncd.apply.registries import registry_for
from syncd.apply.store import Store
from syncd.core.canonical import Spec
from syncd.core.desired import DesiredState
from syncd.core.live import LiveState
from syncd.core.observe import Observation
from syncd.core.records import ServiceRecord
from syncd.daemon.deployed import deployed_spec
from syncd.daemon.snapshot import DaemonSnapshot
from syncd.daemon.status import Status
from syncd.daemon.usage import FilesUsage
from syncd.engine.base import Engine, Names, Observed
from syncd.engine.swarmview import SwarmState, TaskSource
from syncd.errors import SyncdError
from syncd.ids import RegistryKey, ServiceKey
from syncd.manifests import ManifestSet
from syncd.render import PlanFormat, render
from syncd.settings import Settings

USAGE_EVERY = 300.0  # seconds between volume size measurements (a disk walk on the engine)


def project_names(desired: DesiredState | None, live: LiveState) -> set[str]:
    """Every project the API shows: declared stacks and registries, and running stacks."""
    names = {key.project for key in live.stacks}
    if desired is not None:
        names |= {key.project for key in desired.stacks}
        names |= {key.project for key in desired.registries}
    return names


def first_applied(
    names: Iterable[str],
    observation: Observation,
    records: Mapping[str, ServiceRecord],
    now: float,
) -> dict[str, float]:
    """Per project, the earliest time syncd is known to have applied it: its oldest container,
    its oldest service record, or `now` (the store keeps the first value it is given)."""
    earliest = dict.fromkeys(names, now)
    for key, container in observation.containers.items():
        if key.project in earliest:
            earliest[key.project] = min(earliest[key.project], container.created)
    for record in records.values():
        project = record.key.split("/", 1)[0]
        if project in earliest and record.container_hash:  # something was applied
            earliest[project] = min(earliest[project], record.applied_at)
    return earliest


def pull_failed(
    desired: DesiredState, observed: Observed, records: Mapping[str, ServiceRecord]
) -> set[RegistryKey]:
    """The registries an image could not be pulled from: a declared service whose last apply
    failed while its image is still not here."""
    failed: set[RegistryKey] = set()
    for stack in desired.stacks.values():
        for service in stack.services.values():
            record = records.get(str(service.key))
            image = str(service.spec.get("image"))
            if record is None or record.result != "error" or observed.image_id(image):
                continue
            registry = registry_for(image, service.key.project, desired.registries)
            if registry is not None:
                failed.add(registry.key)
    return failed


class Inspector:
    """What each container runs, from Docker's inspect. A container's configuration never
    changes, so each is inspected once: a steady state costs no inspect at all."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._deployed: dict[str, Spec] = {}  # container id -> what it runs
        self._images: dict[str, dict[str, Any]] = {}  # image id -> inspect

    def deployed(self, observation: Observation) -> dict[ServiceKey, Spec]:
        names = Names(self.settings.instance)
        current = {c.id: (key, c) for key, c in observation.containers.items()}
        self._deployed = {cid: spec for cid, spec in self._deployed.items() if cid in current}
        for cid, (key, container) in current.items():
            if cid in self._deployed:
                continue
            try:
                inspect = self.engine.inspect(cid)
                image_id = container.image_id
                if image_id not in self._images:
                    self._images[image_id] = self.engine.image_config(image_id)
            except SyncdError:
                continue  # removed meanwhile, or the image is gone: the recorded spec stands
            self._deployed[cid] = deployed_spec(
                inspect,
                self._images.get(image_id),
                volume_prefix=names.volume(key.stack_key.volume("")),
                files_root=str(self.settings.project_files(key.project).resolve()),
            )
        return {
            key: self._deployed[cid] for cid, (key, _) in current.items() if cid in self._deployed
        }


class Refresher:
    """Builds the next snapshot from the last good revision's manifests."""

    def __init__(
        self, settings: Settings, engine: Engine, store: Store, reconciler: Reconciler
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.store = store
        self.reconciler = reconciler
        self.log = logs.get()
        self.inspector = Inspector(engine, settings)
        self.registry_checks: dict[RegistryKey, bool] = {}  # explicit checks, by the API
        self._usage: tuple[float, dict[str, int]] = (0.0, {})
        self._files = FilesUsage(settings.project_files, USAGE_EVERY)

    def build(self, manifests: ManifestSet, revision: str, status: Status) -> DaemonSnapshot | None:
        """The next snapshot (None: the engine did not answer; the previous one stands). The
        pending plan is shown in `status`."""
        try:
            planned = self.reconciler.prepare(manifests, revision, allow_empty=True)
            usage_at, usage = self._usage
            if time.time() - usage_at > USAGE_EVERY:
                usage_at, usage = time.time(), self.engine.volume_usage()
                self._usage = (usage_at, usage)
        except SyncdError as err:
            self.log.bind(revision=revision).warning("view_refresh_failed", error=str(err))
            return None
        deployed = self.inspector.deployed(planned.observation)
        records = self.store.services()
        pending = planned.plan  # what the next sync would do (e.g. services that failed)
        status.plan_json = json.loads(render(pending, PlanFormat.JSON))
        status.plan_markdown = render(pending, PlanFormat.MARKDOWN) if pending.changed else ""
        failed = pull_failed(planned.desired, planned.observed, records)
        valid = {key: key not in failed for key in planned.desired.registries}
        valid.update(self.registry_checks)  # an explicit check wins over the pull's outcome
        projects = project_names(planned.desired, planned.observation.live)
        created = self.store.projects_created(
            first_applied(projects, planned.observation, records, time.time())
        )
        files_at, files = self._files.current(projects)
        swarm = self._swarm(planned.observation)
        return DaemonSnapshot(
            desired=planned.desired,
            observation=planned.observation,
            observed=planned.observed,
            plan=planned.plan,
            records=records,
            instance=self.settings.instance,
            built_at=time.time(),
            volume_usage=usage,
            usage_at=usage_at,
            registry_valid=valid,
            deployed=deployed,
            created=created,
            files_usage=files,
            files_at=files_at,
            swarm=swarm,
        )

    def _swarm(self, observation: Observation) -> SwarmState | None:
        """Nodes and task summaries on a Swarm engine (None elsewhere, or when the manager did
        not answer: the status then shows no Swarm facts rather than old ones)."""
        if not isinstance(self.engine, TaskSource):
            return None
        try:
            return self.engine.swarm_state({c.id for c in observation.containers.values()})
        except SyncdError as err:
            self.log.warning("swarm_state_failed", error=str(err))
            return None
