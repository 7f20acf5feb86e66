"""Plans of any revision against what runs, asked for through the API (`POST /v2/syncd/plans`,
`syncd plan --api`): the revision (or a ref, fetched from the remote) read with the daemon's own
policy, profiles, variables and settings, planned against one fresh listing of the engine, as a
sync would plan it.

A plan changes nothing and never waits for a sync: it takes no lock, writes nothing, and runs in
the API's thread. It is bounded: one plan per revision or ref at a time (a second request for it
waits for the first one's answer), at most `MAX_RUNNING` at once and `MAX_WAITING` waiting for
each (beyond: `PlansBusy`, answered 429 with Retry-After), and answers are kept in an LRU of
`CACHE_SIZE` by (revision, fingerprint of the live state, local images), so asking again while
nothing moved costs one engine listing. The manifests of the last `MANIFESTS_KEPT` revisions are
kept too (reading them is the costly part), and so are their problems.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from syncd import logs, taint
from syncd.apply.reconcile import Reconciler
from syncd.apply.store import Store
from syncd.core.canonical import canonical_json
from syncd.core.fingerprint import live_fingerprint
from syncd.core.plan import Plan
from syncd.daemon.revisions import Revisions, internal, log_frames
from syncd.engine.base import Engine, Observed
from syncd.errors import InvalidRevision, ManifestError, PlansBusy, SyncdError
from syncd.manifests import ManifestSet
from syncd.render import PlanFormat, render
from syncd.settings import Settings
from syncd.source import planrefs
from syncd.source.repository import Repository

MAX_RUNNING = 2  # plans computed at once (the host's syncs come first)
MAX_WAITING = 8  # requests waiting for the plan of one revision or ref
WAIT_LIMIT = 300.0  # seconds a waiting request waits for the one being computed
CACHE_SIZE = 32  # answers kept, by (revision, live state, local images)
MANIFESTS_KEPT = 4  # revisions whose manifests (or problems) are kept
RETRY_AFTER = 5  # seconds, in a 429's Retry-After

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A thread-safe mapping that keeps its `size` most recently used entries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class _Flight(Generic[V]):
    future: Future[V] = field(default_factory=Future)
    waiting: int = 0


class Flights(Generic[V]):
    """One computation per key at a time, at most `running` keys at once. A request for a key
    being computed waits for that computation's result (at most `waiting` of them per key, for
    `wait_limit` seconds); a request beyond either bound gets `PlansBusy` at once."""

    def __init__(
        self, running: int = MAX_RUNNING, waiting: int = MAX_WAITING, wait_limit: float = WAIT_LIMIT
    ) -> None:
        self.running = running
        self.waiting = waiting
        self.wait_limit = wait_limit
        self._lock = threading.Lock()
        self._flights: dict[str, _Flight[V]] = {}

    def run(self, key: str, compute: Callable[[], V]) -> V:
        with self._lock:
            flight = self._flights.get(key)
            if flight is None:
                if len(self._flights) >= self.running:
                    raise PlansBusy(
                        f"{self.running} plans are being computed; try again in {RETRY_AFTER} s",
                        RETRY_AFTER,
                    )
                flight = self._flights[key] = _Flight()
                leading = True
            else:
                if flight.waiting >= self.waiting:
                    raise PlansBusy(
                        f"{self.waiting} requests already wait for this plan; "
                        f"try again in {RETRY_AFTER} s",
                        RETRY_AFTER,
                    )
                flight.waiting += 1
                leading = False
        if not leading:
            return self._wait(flight)
        try:
            value = compute()
        except BaseException as err:
            flight.future.set_exception(err)
            raise
        else:
            flight.future.set_result(value)
            return value
        finally:
            with self._lock:
                del self._flights[key]

    def _wait(self, flight: _Flight[V]) -> V:
        try:
            return flight.future.result(timeout=self.wait_limit)
        except FutureTimeout:
            raise PlansBusy(
                f"the plan took longer than {self.wait_limit:.0f} s; try again later", RETRY_AFTER
            ) from None
        finally:
            with self._lock:
                flight.waiting -= 1


@dataclass(frozen=True)
class PlanRequest:
    """What a client asks for: exactly one of a revision and a ref (checked by `planrefs`)."""

    revision: str | None = None
    ref: str | None = None

    @property
    def key(self) -> str:
        """One plan at a time per key: `main` and `refs/heads/main` are one ref."""
        if self.ref is not None:
            full = self.ref if self.ref.startswith("refs/") else f"refs/heads/{self.ref}"
            return f"ref {full}"
        return f"revision {(self.revision or '').lower()}"


@dataclass(frozen=True)
class LivePlan:
    """A revision's plan against what ran when it was computed, rendered in every format."""

    revision: str
    plan: Plan
    outputs: Mapping[PlanFormat, str]
    warnings: tuple[str, ...] = ()
    cached: bool = False  # the answer of an earlier request: nothing moved since

    def as_json(self, ref: str | None, fmt: PlanFormat) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "ref": ref,
            "base": self.plan.base,
            "changed": self.plan.changed,
            "counts": self.plan.counts(),
            "cached": self.cached,
            "format": fmt.value,
            "output": self.outputs[fmt],
            "markdown": self.outputs[PlanFormat.MARKDOWN],
            "plan": json.loads(self.outputs[PlanFormat.JSON]),
            "warnings": list(self.warnings),
        }


def _images_key(observed: Observed) -> str:
    """What else a plan reads from the engine: the local image index and the stack networks."""
    payload = {"images": dict(observed.images), "networks": sorted(observed.stack_networks)}
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


class LivePlanner:
    def __init__(
        self,
        *,
        repo: Repository,
        revisions: Revisions,
        engine: Engine,
        store: Store,
        settings: Settings,
        env: Mapping[str, str],
        allow_empty: bool,
    ) -> None:
        self.repo = repo
        self.revisions = revisions  # reads a revision's manifests as the daemon does
        self.engine = engine
        # its own reconciler on the daemon's engine and store: it only reads (no lock taken,
        # nothing executed), and its desired-state cache never evicts the daemon's
        self.reconciler = Reconciler(settings, engine, store, env)
        self.allow_empty = allow_empty
        self.flights: Flights[LivePlan] = Flights()
        self.answers: Lru[tuple[str, str, str], LivePlan] = Lru(CACHE_SIZE)
        self.manifests: Lru[str, ManifestSet | ManifestError] = Lru(MANIFESTS_KEPT)
        self.log = logs.get()

    def plan(self, request: PlanRequest) -> LivePlan:
        """The plan `request` names, against what runs now. Raises `PlanRequestInvalid`,
        `RevisionNotFound`, `SourceError`, `InvalidRevision`, `PlanRefused`, `PlansBusy`,
        `EngineUnavailable`, or a `SyncdError` naming an internal error by its type."""
        return self.flights.run(request.key, lambda: self._guarded(request))

    def _guarded(self, request: PlanRequest) -> LivePlan:
        try:
            return self._compute(request)
        except SyncdError:
            raise
        except Exception as err:  # a bug: by its type only, its text may quote a secret
            log_frames("live_plan_crashed", err)
            raise SyncdError(internal(err, "could not plan this revision")) from None

    def _compute(self, request: PlanRequest) -> LivePlan:
        revision = planrefs.resolve(self.repo, revision=request.revision, ref=request.ref)
        manifests = self._manifests(revision)
        observed = self.engine.observe()
        live = self.reconciler.observe(observed, None).live
        key = (revision, live_fingerprint(live), _images_key(observed))
        known = self.answers.get(key)
        if known is not None:
            return replace(known, cached=True)
        try:
            desired = self.reconciler.resolve(manifests, revision, observed)
        except ManifestError as err:  # a StackPatch op that does not apply
            raise InvalidRevision(revision, err.problems) from None
        planned = self.reconciler.plan_for(desired, observed, allow_empty=self.allow_empty)
        answer = LivePlan(
            revision=revision,
            plan=planned.plan,
            outputs={fmt: render(planned.plan, fmt) for fmt in PlanFormat},
            warnings=tuple(taint.scrub_known(str(w)) for w in desired.warnings),
        )
        self.answers.put(key, answer)
        self.log.info(
            "live_plan_computed",
            revision=revision,
            ref=request.ref,
            changed=planned.plan.changed,
            **planned.plan.counts(),
        )
        return answer

    def _manifests(self, revision: str) -> ManifestSet:
        found = self.manifests.get(revision)
        if found is None:
            try:
                found = self.revisions.manifests(self.repo.snapshot(revision), reviewed=False)
            except ManifestError as err:
                found = err.with_traceback(None)  # kept: not its frames (and their values)
            self.manifests.put(revision, found)
        if isinstance(found, ManifestError):
            raise InvalidRevision(revision, found.problems)
        return found
