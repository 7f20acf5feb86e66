"""The daemon's side of pauses (`apply.pauses`) and of detect mode (`syncd run --mode detect`).

Both let every sync fetch, parse, plan and report as usual; what they hold is the execution
(`Reconciler.hold`): a paused stack's changes, every change of a paused instance, and, in detect
mode, every engine write at all. The status shows the pause (who, when, why), the stacks whose
changes wait, and the mode; `/metrics` has `syncd_paused{stack}` and `syncd_mode{mode}`.

A pause or resume written straight into the store (`syncd pause` on the host) is seen within
`WATCH_EVERY` seconds (one small read of the store), and a resume starts a sync at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from enum import StrEnum
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from syncd import logs
from syncd.apply.pauses import Pause, Pauses, PauseState, hold
from syncd.apply.results import Planned
from syncd.apply.store import Store
from syncd.daemon.status import Status, Trigger
from syncd.errors import OperationRefused
from syncd.ids import StackKey

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

WATCH_EVERY = 1.0  # seconds between two reads of the pauses in the store


class Mode(StrEnum):
    APPLY = "apply"  # act: converge Docker to the branch
    DETECT = "detect"  # read only: report drift and the pending plan, never act


_DETECT = Pause("detect mode", 0.0)  # detect mode holds as a pause of the instance would
HELD = {
    Mode.APPLY: "not applied: the stack is paused (`syncd resume`)",
    Mode.DETECT: "not applied: the daemon runs in detect mode",
}


class Pausing:
    def __init__(
        self, store: Store, status: Status, mode: Mode, request: Callable[[Trigger], None]
    ) -> None:
        self.pauses = Pauses(store)
        self.store = store
        self.status = status
        self.mode = mode
        self.request = request  # a sync once a pause is lifted
        self.log = logs.get()
        self._held: tuple[str, ...] = ()
        self._seen = self.pauses.state()
        self.show(self._seen)

    @property
    def detect(self) -> bool:
        return self.mode is Mode.DETECT

    def refuse_writes(self, what: str) -> None:
        """Operational tasks write to the engine: never in detect mode."""
        if self.detect:
            raise OperationRefused(f"{what}: the daemon runs in detect mode (read only)")

    def pause(self, stacks: Iterable[StackKey], by: str, reason: str = "") -> PauseState:
        state = self.pauses.pause(stacks, by, reason)
        self.changed(state)
        return state

    def resume(self, stacks: Iterable[StackKey], *, everything: bool = False) -> PauseState:
        state = self.pauses.resume(stacks, everything=everything)
        self.changed(state)
        return state

    # -- the hold on executions (`Reconciler.hold`) --------------------------------------------

    def hold(self, planned: Planned) -> Planned | None:
        """What of `planned` may run; the stacks whose changes wait are recorded and shown."""
        state = self.pauses.state()
        if self.detect:
            runs, held = hold(planned, PauseState(instance=_DETECT))
        else:
            runs, held = hold(planned, state)
        self._held = tuple(str(k) for k in held)
        self.status.held = self._held
        self.show(state)
        self._record(held, planned.plan.head)
        if held:
            self.log.info("changes_held", mode=self.mode.value, stacks=list(self._held))
        return runs

    def _record(self, held: Iterable[StackKey], revision: str | None) -> None:
        for key in held:
            self.store.set_stack(str(key), seen=revision, error=HELD[self.mode])

    # -- what readers see ----------------------------------------------------------------------

    def state(self) -> PauseState:
        return self.pauses.state()

    def show(self, state: PauseState) -> None:
        self.status.pause = {
            "mode": self.mode.value,
            **state.as_json(),
            "heldStacks": list(self._held),
        }

    def changed(self, state: PauseState) -> None:
        """A pause or resume (from the API, or seen in the store): shown, and a sync runs (a
        resume applies the pending plan at once)."""
        self._seen = state
        self.show(state)
        self.log.info(
            "pauses_changed",
            paused=state.instance is not None,
            stacks=sorted(state.stacks),
        )
        self.request(Trigger.OPERATOR)

    def watch(self, stop: threading.Event) -> None:
        """Notice pauses written into the store by another process (`syncd pause`)."""
        while not stop.wait(WATCH_EVERY):
            try:
                state = self.pauses.state()
            except Exception as err:  # the store busy or gone: tried again next time
                self.log.warning("pauses_unreadable", error=type(err).__name__)
                continue
            if state != self._seen:
                self.changed(state)

    def collector(self) -> Collector:
        return _Gauges(self)


class _Gauges(Collector):
    def __init__(self, pausing: Pausing) -> None:
        self.pausing = pausing

    def collect(self) -> Iterator[Metric]:
        state = self.pausing.state()
        paused = GaugeMetricFamily(
            "syncd_paused",
            '1 while paused: the whole instance (stack="") or one stack',
            labels=["stack"],
        )
        paused.add_metric([""], 1.0 if state.instance is not None else 0.0)
        for key in sorted(state.stacks):
            paused.add_metric([key], 1.0)
        yield paused
        mode = GaugeMetricFamily("syncd_mode", "the daemon's mode (1: current)", labels=["mode"])
        for each in Mode:
            mode.add_metric([each.value], 1.0 if each is self.pausing.mode else 0.0)
        yield mode
