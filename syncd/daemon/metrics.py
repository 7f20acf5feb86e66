"""Prometheus metrics of one daemon: counters updated as syncs end, gauges read from the
daemon's status and snapshot at scrape time. Labels carry keys and counts, never values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from syncd.daemon.loop import Daemon


class _State(Collector):
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    def collect(self) -> Iterator[Metric]:
        view = self.daemon.view
        status = self.daemon.status
        engine = GaugeMetricFamily("syncd_engine_available", "1 while Docker answers")
        engine.add_metric([], 1.0 if status.engine_available else 0.0)
        yield engine
        services = GaugeMetricFamily("syncd_services", "services by status", labels=["status"])
        counts: dict[str, int] = {}
        for service in view.services.values():
            counts[service.status.value] = counts.get(service.status.value, 0) + 1
        for name, count in sorted(counts.items()):
            services.add_metric([name], count)
        yield services
        drift = GaugeMetricFamily(
            "syncd_services_drifted", "services whose running state differs from the declared one"
        )
        drift.add_metric(
            [],
            sum(
                1
                for s in view.services.values()
                if s.requiresRecreate or s.status.value != "running"
            ),
        )
        yield drift
        stacks = GaugeMetricFamily(
            "syncd_stack_in_sync",
            "1 when the stack's applied revision is the one last seen",
            labels=["stack"],
        )
        for key, row in sorted(self.daemon.store.stacks().items()):
            stacks.add_metric([key], 1.0 if row.in_sync else 0.0)
        yield stacks


class Metrics:
    def __init__(self, daemon: Daemon) -> None:
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
        self.webhooks_rejected = Counter(
            "syncd_webhooks_rejected", "webhook requests refused (401)", registry=self.registry
        )
        self.registry.register(_State(daemon))

    def sync_done(self, ok: bool, duration: float, stage: str | None) -> None:
        self.syncs.labels("ok" if ok else "failed").inc()
        self.duration.observe(duration)
        if stage is not None:
            self.failures.labels(stage).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
