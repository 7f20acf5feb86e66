"""`syncd run`'s process: start the daemon, its API and its loops; stop on SIGTERM/SIGINT.
Here the parts are wired: the API and the metrics get the daemon's snapshot provider, trigger
sink and task runner, never the daemon itself."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from fastapi import FastAPI

from syncd import logs
from syncd.api.view import Views
from syncd.api.wiring import Wiring
from syncd.core.live import ServiceStatus
from syncd.core.records import StackRecord
from syncd.daemon.config import RunConfig
from syncd.daemon.liveplans import LivePlanner
from syncd.daemon.loop import Daemon
from syncd.daemon.status import Trigger
from syncd.daemon.swarmstatus import SwarmStatus, swarm_status
from syncd.daemon.tasks import Operator
from syncd.errors import ExitCode, StartupError
from syncd.settings import Settings

STOP_GRACE = 8.0  # seconds the current sync gets to finish after SIGTERM (exit within 10 s)


class _Gauges:
    """The metrics' gauges: the daemon's status and stacks, the services as the API shows them."""

    def __init__(self, daemon: Daemon, views: Views) -> None:
        self.daemon = daemon
        self.views = views

    def engine_available(self) -> bool:
        return self.daemon.status.engine_available

    def service_states(self) -> Iterable[tuple[ServiceStatus, bool]]:
        return [(s.status, s.requiresRecreate) for s in self.views.current().services.values()]

    def stacks(self) -> Mapping[str, StackRecord]:
        return self.daemon.stacks()

    def swarm(self) -> SwarmStatus | None:
        return swarm_status(self.daemon.snapshot())


def wire(daemon: Daemon) -> Wiring:
    """What the API is given: views of the daemon's snapshots (built in the sync thread as
    each is published), the operator tasks, the trigger sink and the metrics."""
    views = Views(daemon)
    daemon.subscribe(views.update)
    operator = Operator(
        engine=daemon.engine,
        reconciler=daemon.reconciler,
        settings=daemon.settings,
        env=daemon.env,
        status=daemon.status,
        snapshot=daemon.snapshot,
        request=daemon.request,
        registry_checks=daemon.refresher.registry_checks,
    )
    daemon.metrics.watch(_Gauges(daemon, views))
    return Wiring(
        config=daemon.config,
        state=daemon,
        views=views,
        tasks=operator,
        triggers=daemon,
        metrics=daemon.metrics,
        plans=live_planner(daemon),
        pausing=daemon.pausing,
    )


def live_planner(daemon: Daemon) -> LivePlanner:
    """Plans of any revision against what runs, read as the daemon reads its own."""
    return LivePlanner(
        repo=daemon.repo,
        revisions=daemon.revisions,
        engine=daemon.engine,
        store=daemon.store,
        settings=daemon.settings,
        env=daemon.env,
        allow_empty=daemon.config.allow_empty,
    )


def api_of(daemon: Daemon) -> FastAPI:
    from syncd.api import create_app

    return create_app(wire(daemon))


def run_daemon(config: RunConfig, settings: Settings, env: Mapping[str, str]) -> int:
    """Start everything, serve until SIGTERM/SIGINT, stop within 10 s. The exit code."""
    import signal
    import sys

    from syncd.api.server import Server, bind
    from syncd.errors import PortInUse

    log = logs.get()
    # The API shares the process with syncs: a short GIL switch interval keeps a drift pass's
    # parsing (tens of ms) from stalling requests by whole 5 ms slices.
    sys.setswitchinterval(0.001)
    try:
        sock = bind(config.host, config.port)
    except PortInUse as err:
        print(f"syncd: {err} (is another syncd running? choose --listen)", file=sys.stderr)
        return ExitCode.CANTCREAT
    try:
        daemon = Daemon(config, settings, env)
    except StartupError as err:
        sock.close()
        print(f"syncd: {err}", file=sys.stderr)
        return err.code
    server = Server(api_of(daemon), sock)
    threads = daemon.threads()

    def stop(signum: int, _frame: object) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        daemon.shutdown()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.start()
    for thread in threads:
        thread.start()
    log.info(
        "daemon_started",
        repo=daemon.repo.display,
        kind=daemon.repo.kind.value,
        branch=daemon.repo.branch,
        instance=settings.instance,
        listen=f"{config.host}:{config.port}",
    )
    daemon.request(Trigger.START)
    while not daemon.stop.wait(3600):  # woken by the signal handler; no idle polling
        pass
    server.stop()
    sync = next(t for t in threads if t.name == "syncd-sync")
    sync.join(STOP_GRACE)
    if sync.is_alive():  # abandoned mid-step: as safe as a kill, the next start converges
        log.warning("sync_abandoned")
    else:
        daemon.close()
    log.info("stopped")
    return ExitCode.OK
