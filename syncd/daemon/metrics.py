"""Prometheus metrics of one daemon: counters updated as syncs end (`sync_done`, the sink the
daemon is given), gauges read at scrape time from a `GaugeSource`. Labels carry keys and
counts, never values."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from syncd.core.live import ServiceStatus
from syncd.core.records import StackRecord
from syncd.daemon.swarmstatus import SwarmStatus
from syncd.engine.swarmview import NodeState
from syncd.errors import Stage

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric


class GaugeSource(Protocol):
    """What the gauges show, read when scraped."""

    def engine_available(self) -> bool: ...

    def service_states(self) -> Iterable[tuple[ServiceStatus, bool]]:
        """(status, requires recreate) of every service the API shows."""
        ...

    def stacks(self) -> Mapping[str, StackRecord]: ...

    def swarm(self) -> SwarmStatus | None:
        """Nodes and task summaries (None: not a Swarm engine)."""
        ...


class _State(Collector):
    def __init__(self, source: GaugeSource) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        engine = GaugeMetricFamily("syncd_engine_available", "1 while Docker answers")
        engine.add_metric([], 1.0 if self.source.engine_available() else 0.0)
        yield engine
        states = list(self.source.service_states())
        services = GaugeMetricFamily("syncd_services", "services by status", labels=["status"])
        counts: dict[str, int] = {}
        for status, _ in states:
            counts[status.value] = counts.get(status.value, 0) + 1
        for name, count in sorted(counts.items()):
            services.add_metric([name], count)
        yield services
        drift = GaugeMetricFamily(
            "syncd_services_drifted", "services whose running state differs from the declared one"
        )
        drift.add_metric(
            [],
            sum(
                1 for status, recreate in states if recreate or status is not ServiceStatus.RUNNING
            ),
        )
        yield drift
        stacks = GaugeMetricFamily(
            "syncd_stack_in_sync",
            "1 when the stack's applied revision is the one last seen",
            labels=["stack"],
        )
        for key, row in sorted(self.source.stacks().items()):
            stacks.add_metric([key], 1.0 if row.in_sync else 0.0)
        yield stacks
        swarm = self.source.swarm()
        if swarm is not None:
            yield from _swarm(swarm)


def _swarm(swarm: SwarmStatus) -> Iterator[Metric]:
    """Nodes by state (every state, zeros too, so an alert can say `down > 0`), and each
    service's replicas running and desired."""
    nodes = GaugeMetricFamily("syncd_swarm_nodes", "Swarm nodes by state", labels=["state"])
    for state in NodeState:
        nodes.add_metric([state.value], sum(1 for n in swarm.nodes if n.state is state))
    yield nodes
    running = GaugeMetricFamily(
        "syncd_service_replicas_running", "a Swarm service's running tasks", labels=["service"]
    )
    desired = GaugeMetricFamily(
        "syncd_service_replicas_desired", "a Swarm service's desired tasks", labels=["service"]
    )
    for key, tasks in sorted(swarm.services.items()):
        running.add_metric([key], tasks.running)
        desired.add_metric([key], tasks.desired)
    yield running
    yield desired


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.syncs = Counter("syncd_syncs", "syncs by result", ["result"], registry=self.registry)
        self.failures = Counter(
            "syncd_sync_failures", "failed syncs by stage", ["stage"], registry=self.registry
        )
        self.duration = Histogram(
            "syncd_sync_duration_seconds",
            "sync durations",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
            registry=self.registry,
        )
        self.revisions_refused = Counter(
            "syncd_revisions_refused",
            "revisions refused by --verify-commits, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.webhooks_rejected = Counter(
            "syncd_webhooks_rejected", "webhook requests refused (401)", registry=self.registry
        )

    def watch(self, source: GaugeSource) -> None:
        """Show `source`'s gauges from now on (once per registry)."""
        self.registry.register(_State(source))

    def sync_done(self, ok: bool, duration: float, stage: Stage | None) -> None:
        self.syncs.labels("ok" if ok else "failed").inc()
        self.duration.observe(duration)
        if stage is not None:
            self.failures.labels(stage.value).inc()

    def revision_refused(self, reason: str) -> None:
        self.revisions_refused.labels(reason).inc()

    def webhook_rejected(self) -> None:
        self.webhooks_rejected.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
