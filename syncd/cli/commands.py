"""`syncd validate`, `plan`, `apply`, `run` and `schema`: read the input, call the core, print.

Each command returns its `ExitCode`; `main` turns a `SyncdError` into `ExitCode.ERROR`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from syncd import logs, operatorenv, settings, taint
from syncd.apply.reconcile import Reconciler
from syncd.cli import report
from syncd.cli.liveplan import cmd_plan_api
from syncd.cli.report import ReportFormat
from syncd.core.desired import DesiredState, resolve
from syncd.core.live import LiveState
from syncd.core.plan import Plan, as_live, plan
from syncd.daemon.policyload import read_policy, with_policy
from syncd.errors import (
    ExitCode,
    InvalidRevision,
    ManifestError,
    PolicyFileError,
    SettingsUnusable,
    SyncdError,
)
from syncd.layers import Layers
from syncd.manifests import ManifestSet, read_manifests
from syncd.problems import Problem, errors_only
from syncd.render import PlanFormat, render
from syncd.secretpolicy import unknowns_allowed
from syncd.source.checkout import fetch_missing, repo_prefix
from syncd.source.reader import Snapshot, read_directory, read_revision


def environment(args: argparse.Namespace) -> dict[str, str]:
    """The operator's variables (env files + allowed process variables, never `SYNCD_*`)."""
    return operatorenv.from_layers(Layers(args, os.environ), os.environ)


def run_settings(args: argparse.Namespace) -> settings.Settings:
    """The shared settings, with the operator's policy file read (`PolicyFileError`)."""
    return with_policy(settings.from_args(args), args.repo)


def read_snapshot(args: argparse.Namespace, snap: Snapshot) -> ManifestSet:
    """The snapshot's manifests, checked against the operator's policy, with the active
    profiles; their variables' values are remembered, so no log line shows them."""
    layers = Layers(args, os.environ)
    manifests = read_manifests(
        snap.files,
        operatorenv.from_layers(layers, os.environ),
        problems=snap.problems,
        secrets_dir=settings.secrets_dir(layers, os.environ),
        policy=read_policy(settings.policy_file(layers), args.repo),
        profiles=settings.profiles(layers),
        engine=settings.engine(layers),
        identities=operatorenv.age_identities(settings.age_key_file(layers, os.environ)),
    )
    taint.remember(manifests.secret_values())
    return manifests


def snapshot(repo: str, rev: str | None, paths: Sequence[str]) -> Snapshot:
    """A git revision when `rev` is given, else the directory as it is on disk."""
    if rev is not None:
        return read_revision(repo, fetch_missing(repo, rev), paths)
    return read_directory(repo, paths)


def cmd_validate(args: argparse.Namespace) -> ExitCode:
    snap = snapshot(args.repo, args.rev, args.path)
    # --unset-ok (CI without production variables): a variable not set is an unknown value
    with unknowns_allowed() if args.unset_ok else contextlib.nullcontext():
        result = read_snapshot(args, snap)
        problems = result.problems
        if not result.errors:  # StackPatches apply only to valid documents: build the state too
            try:
                resolve(result, snap.revision)
            except ManifestError as err:
                problems = sorted([*problems, *err.problems], key=Problem.sort_key)
    errors = errors_only(problems)
    fmt = ReportFormat(args.format)
    root = repo_prefix(args.repo) if fmt.from_top else ""
    print(report.render(problems, fmt, files=len(snap.files), revision=snap.revision, root=root))
    logs.get().info(
        "manifests_validated",
        revision=snap.revision,
        files=len(snap.files),
        errors=len(errors),
        warnings=len(problems) - len(errors),
    )
    return ExitCode.ERROR if errors else ExitCode.OK


def desired_at(args: argparse.Namespace, rev: str, last_applied: LiveState | None) -> DesiredState:
    """One revision's desired state; PATCH-strategy stacks build on `last_applied` when given."""
    snap = read_revision(args.repo, fetch_missing(args.repo, rev), args.path)
    base = last_applied.last_applied() if last_applied is not None else None
    secrets = last_applied.last_secrets() if last_applied is not None else None
    try:
        with unknowns_allowed():  # only `plan --base` calls it: unset is an unknown value
            return resolve(read_snapshot(args, snap), snap.revision, base, secrets)
    except ManifestError as err:
        label = f"revision {rev} ({(snap.revision or '')[:12]})"
        raise InvalidRevision(label, err.problems) from err


def manifests_at(args: argparse.Namespace, rev: str | None) -> tuple[ManifestSet, str | None]:
    """Every manifest of a revision (or of the files on disk), or `ManifestError`."""
    snap = snapshot(args.repo, rev, args.path)
    manifests = read_snapshot(args, snap)
    if manifests.errors:
        raise ManifestError(manifests.errors)
    return manifests, snap.revision


def _print_plan(result: Plan, fmt: PlanFormat) -> None:
    print(render(result, fmt, color=fmt is PlanFormat.TEXT and sys.stdout.isatty()))


def plan_exit(result: Plan) -> ExitCode:
    """terraform's `-detailed-exitcode`: 2 when the plan changes something, else 0."""
    return ExitCode.CHANGES if result.changed else ExitCode.OK


def cmd_plan(args: argparse.Namespace) -> ExitCode:
    """Exit codes are always the detailed ones (`--detailed-exitcode` is accepted, a no-op)."""
    if args.api:  # the running daemon plans against what runs
        return cmd_plan_api(args)
    from syncd.cli import confirm, saved

    fmt = PlanFormat(args.format)
    saved.check_out(args)
    if args.base is None:  # against what runs
        manifests, revision = manifests_at(args, args.head)
        with Reconciler.open(run_settings(args), environment(args)) as rec:
            planned = rec.prepare(manifests, revision, allow_empty=args.allow_empty)
            bad = saved.plan_images(args, rec, planned, manifests)
            refusal = confirm.refusal_of(args, rec.store, planned.plan)
            stranger = report.unknown_instance(rec.engine, planned.observed)
        _print_plan(planned.plan, fmt)
        for warning in (*planned.desired.warnings, *filter(None, [stranger])):
            print(f"warning: {warning}", file=sys.stderr)
        if refusal is not None:
            print(f"note: an apply would be refused: {refusal}", file=sys.stderr)
        failed = saved.finish(args, planned.plan, bad, planned=planned)
        return failed if failed is not None else plan_exit(planned.plan)
    old = desired_at(args, args.base, None)
    live = as_live(old)
    new = desired_at(args, args.head or "HEAD", live)
    stop_timeout = settings.from_args(args).stop_timeout  # what an impact names
    result = plan(
        new, live, base=old.revision, allow_empty=args.allow_empty, stop_timeout=stop_timeout
    )
    bad = saved.base_head_images(args, result, new.registries, old.registries)
    _print_plan(result, fmt)
    for warning in new.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if (failed := saved.finish(args, result, bad, planned=None)) is not None:
        return failed
    logs.get().info(
        "plan_computed",
        base=old.revision,
        head=new.revision,
        changed=result.changed,
        **result.counts(),
    )
    return plan_exit(result)


def cmd_apply(args: argparse.Namespace) -> ExitCode:
    if args.detailed_exitcode and not args.dry_run:
        raise SyncdError(
            "--detailed-exitcode goes with --dry-run; an apply exits 0 when converged, "
            "3 when some services failed"
        )
    from syncd.cli import confirm, isolated, pause, progress, revertrevision, saved, signing

    guard, refusal, reverted = confirm.guard_of(args), None, None
    ask = confirm.Question(None, ask=not args.yes and not args.dry_run and confirm.interactive())
    broken = None
    if args.plan is not None:
        if run_settings(args).verify.enabled:
            raise SyncdError("--verify-commits goes with --rev, not with --plan")
        result = saved.apply_saved(args, guard, ask)
    else:  # the broken stacks of a partial revision keep the last good one (`isolated`)
        rev = signing.verified_revision(args, run_settings(args))  # --verify-commits
        manifests, revision = isolated.manifests_for_apply(args, rev, run_settings(args))
        broken = isolated.report_broken(manifests)
        with Reconciler.open(run_settings(args), environment(args)) as rec:
            rec.guard, ask.then = guard, saved.image_gate(args, rec, manifests)
            check = revertrevision.holding(rec, revision, ask)  # --rollback=revision
            if not args.dry_run:  # a dry run shows the plan, paused or not
                check = pause.refusing(rec.store, check)
            with progress.shown(rec.engine):
                result = rec.sync(
                    manifests, revision, dry_run=args.dry_run, allow_empty=args.allow_empty,
                    check=check,
                )  # fmt: skip
            refusal = guard.refusal(rec.store, result.plan) if result.dry_run else None
            isolated.record_good(rec.store, manifests, revision, result)
            reverted = revertrevision.revert(args, rec, revision, result)
    if not ask.shown:
        _print_plan(result.plan, PlanFormat.TEXT)
    if result.dry_run:
        if args.plan is None and refusal is not None:
            print(f"\nnote: an apply would be refused: {refusal}")
        print(f"\n{report.DRY_RUN}")
        if broken is not None:
            return broken
        return plan_exit(result.plan) if args.detailed_exitcode else ExitCode.OK
    print(report.applied(result))
    if reverted is not None:
        print(f"\nreturned to the last good revision: {report.applied(reverted)}")
    if broken is not None:
        return broken
    return ExitCode.OK if result.ok else ExitCode.PARTIAL


def cmd_run(args: argparse.Namespace) -> int:
    from syncd.daemon import config as runconfig

    try:
        config, settings_, layers = runconfig.resolve(args)
        variables = operatorenv.variables(config.env_files, config.allow_env, os.environ)
    except (SettingsUnusable, PolicyFileError):
        raise
    except SyncdError as err:  # a flag, variable or config value `run` cannot use: exit 78
        raise SettingsUnusable(str(err)) from err
    if args.print_config:
        print(runconfig.describe(config, settings_, layers))
        print(operatorenv.describe(variables))
        return ExitCode.OK
    from syncd.cli.run import run_daemon

    return run_daemon(config, settings_, variables)


def cmd_schema(args: argparse.Namespace) -> ExitCode:
    from syncd.manifests import schema

    for path in schema.write(Path(args.out)):
        print(path)
    return ExitCode.OK
