"""The `syncd` command line: thin wrappers that read input, call the core and print."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from syncd import __version__, logs, operatorenv, settings, taint
from syncd.apply.reconcile import Reconciler, SyncResult
from syncd.cli import report
from syncd.cli.report import ReportFormat
from syncd.core.desired import DesiredState, resolve
from syncd.core.live import LiveState
from syncd.core.plan import REASON_TEXT, Action, Plan, Reason, as_live, plan
from syncd.daemon.tasks import Task
from syncd.errors import ManifestError, Problem, SyncdError, errors_only
from syncd.ids import ServiceKey
from syncd.manifests import ManifestSet, read_manifests
from syncd.render import PlanFormat, render
from syncd.settings import Layers
from syncd.source.reader import Snapshot, read_directory, read_revision

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_CHANGES = 2  # `syncd plan`, as terraform's -detailed-exitcode
EXIT_PARTIAL = 3  # `syncd apply`: applied, but some services failed


def environment(args: argparse.Namespace) -> dict[str, str]:
    """The operator's variables (env files + allowed process variables, never `SYNCD_*`)."""
    return operatorenv.from_layers(Layers(args, os.environ), os.environ)


def _read(args: argparse.Namespace, snap: Snapshot) -> ManifestSet:
    """The snapshot's manifests; their variables' values are remembered, so no log line shows
    them."""
    layers = Layers(args, os.environ)
    manifests = read_manifests(
        snap.files,
        operatorenv.from_layers(layers, os.environ),
        problems=snap.problems,
        secrets_dir=settings.secrets_dir(layers, os.environ),
    )
    taint.remember(manifests.secret_values())
    return manifests


def snapshot(repo: str, rev: str | None, paths: Sequence[str]) -> Snapshot:
    """A git revision when `rev` is given, else the directory as it is on disk."""
    if rev is not None:
        return read_revision(repo, rev, paths)
    return read_directory(repo, paths)


def _add_source_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", default=".", help="repository or directory (default: .)")
    parser.add_argument(
        "--path",
        action="append",
        default=[],
        metavar="P",
        help="manifest root inside the repo; repeatable (default: the whole repo)",
    )
    operatorenv.add_arguments(parser)


def cmd_validate(args: argparse.Namespace) -> int:
    snap = snapshot(args.repo, args.rev, args.path)
    result = _read(args, snap)
    problems = result.problems
    if not result.errors:  # StackPatches apply only to valid documents: build the state too
        try:
            resolve(result, snap.revision)
        except ManifestError as err:
            problems = sorted([*problems, *err.problems], key=Problem.sort_key)
    errors = errors_only(problems)
    fmt = ReportFormat(args.format)
    print(report.render(problems, fmt, files=len(snap.files), revision=snap.revision))
    logs.get().info(
        "manifests_validated",
        revision=snap.revision,
        files=len(snap.files),
        errors=len(errors),
        warnings=len(problems) - len(errors),
    )
    return EXIT_INVALID if errors else EXIT_OK


def desired_at(args: argparse.Namespace, rev: str, last_applied: LiveState | None) -> DesiredState:
    """One revision's desired state; PATCH-strategy stacks build on `last_applied` when given."""
    snap = read_revision(args.repo, rev, args.path)
    manifests = _read(args, snap)
    base = last_applied.last_applied() if last_applied is not None else None
    secrets = last_applied.last_secrets() if last_applied is not None else None
    try:
        return resolve(manifests, snap.revision, base, secrets)
    except ManifestError as err:
        label = f"revision {rev} ({(snap.revision or '')[:12]})"
        raise ManifestError(err.problems) from SyncdError(label)


def manifests_at(args: argparse.Namespace, rev: str | None) -> tuple[ManifestSet, str | None]:
    """Every manifest of a revision (or of the files on disk), or `ManifestError`."""
    snap = snapshot(args.repo, rev, args.path)
    manifests = _read(args, snap)
    if manifests.errors:
        raise ManifestError(manifests.errors)
    return manifests, snap.revision


def _print_plan(result: Plan, fmt: PlanFormat) -> None:
    print(render(result, fmt, color=fmt is PlanFormat.TEXT and sys.stdout.isatty()))


def cmd_plan(args: argparse.Namespace) -> int:
    fmt = PlanFormat(args.format)
    if args.base is None:  # against what runs
        manifests, revision = manifests_at(args, args.head)
        with Reconciler.open(settings.from_args(args), environment(args)) as rec:
            planned = rec.prepare(manifests, revision, allow_empty=args.allow_empty)
        _print_plan(planned.plan, fmt)
        for warning in planned.desired.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        return EXIT_CHANGES if planned.plan.changed else EXIT_OK
    old = desired_at(args, args.base, None)
    live = as_live(old)
    new = desired_at(args, args.head or "HEAD", live)
    result = plan(new, live, base=old.revision, allow_empty=args.allow_empty)
    _print_plan(result, fmt)
    for warning in new.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    logs.get().info(
        "plan_computed",
        base=old.revision,
        head=new.revision,
        changed=result.changed,
        **result.counts(),
    )
    return EXIT_CHANGES if result.changed else EXIT_OK


def _print_results(result: SyncResult) -> None:
    shown = [r for r in result.services if r.action is not Action.NONE or not r.ok]
    if shown or result.errors:
        print()
    width = max((len(str(r.key)) for r in shown), default=0)
    for item in shown:
        mark = "ok   " if item.ok else "ERROR"
        print(f"{mark} {item.key!s:<{width}}  {item.action.value:<8}  {item.detail}")
    for error in result.errors:
        print(f"ERROR {error}")
    quiet = [r for r in result.services if r.action is Action.NONE and r.ok]
    kept = sum(1 for r in quiet if r.detail == REASON_TEXT[Reason.OPERATOR_STOPPED])
    failed = len(result.failed) + len(result.errors)
    verdict = "converged" if result.ok else f"{failed} failed"
    notes = f"{len(quiet)} unchanged" + (f", {kept} stopped by an operator" if kept else "")
    print(f"\napplied in {result.duration:.2f} s: {verdict} ({notes})")


def cmd_apply(args: argparse.Namespace) -> int:
    manifests, revision = manifests_at(args, args.rev)
    with Reconciler.open(settings.from_args(args), environment(args)) as rec:
        result = rec.sync(manifests, revision, dry_run=args.dry_run, allow_empty=args.allow_empty)
    _print_plan(result.plan, PlanFormat.TEXT)
    _print_results(result)
    return EXIT_OK if result.ok else EXIT_PARTIAL


def _service_key(text: str) -> ServiceKey:
    parts = text.split("/")
    if len(parts) == 2:
        parts.insert(1, "default")
    if len(parts) != 3 or not all(parts):
        raise SyncdError(
            f"{text!r} is not a service: give project/stack/service (or project/service)"
        )
    return ServiceKey(*parts)


def _through_daemon(args: argparse.Namespace, method: str, path: str) -> int | None:
    """Ask the running daemon (`--api`/SYNCD_API) for an operational task; None: no daemon."""
    api = args.api or os.environ.get("SYNCD_API")
    if not api:
        return None
    import urllib.error
    import urllib.request

    token = os.environ.get("SYNCD_ADMIN_TOKEN", "")
    if args.token_file:
        token = Path(args.token_file).read_text().strip()
    request = urllib.request.Request(
        api.rstrip("/") + path, method=method, headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60):
            return EXIT_OK
    except urllib.error.HTTPError as err:
        body = err.read().decode(errors="replace")
        raise SyncdError(f"the daemon answered {err.code}: {body}") from None
    except urllib.error.URLError as err:
        raise SyncdError(f"cannot reach the daemon at {api}: {err.reason}") from None


def cmd_service(args: argparse.Namespace) -> int:
    key = _service_key(args.service)
    path = f"/v2/stacks/{key.stack_key.id}/services/{key.name}/actions/{args.action}"
    if _through_daemon(args, "POST", path) is not None:
        print(f"{key}: {args.action} done by the daemon")
        return EXIT_OK
    if args.action not in ("stop", "start"):
        raise SyncdError(f"'{args.action}' needs the running daemon: give --api URL")
    with Reconciler.open(settings.from_args(args), {}) as rec:  # reads no manifest variable
        if args.action == "stop":
            rec.operator_stop(key)
            print(f"{key}: stopped; self-heal leaves it stopped until `syncd service start {key}`")
        else:
            rec.operator_start(key)
            print(f"{key}: started; self-heal looks after it again")
    return EXIT_OK


def cmd_volume(args: argparse.Namespace) -> int:
    key = _service_key(args.volume)  # project/[stack/]name, as for services
    path = f"/v2/stacks/{key.stack_key.id}/volumes/{key.name}"
    if _through_daemon(args, "DELETE", path) is None:
        raise SyncdError("deleting a volume goes through the running daemon: give --api URL")
    print(f"volume {key}: deleted, with its data")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from syncd.daemon import config as runconfig

    config, settings_, layers = runconfig.resolve(args)
    variables = operatorenv.variables(config.env_files, config.allow_env, os.environ)
    if args.print_config:
        print(runconfig.describe(config, settings_, layers))
        print(operatorenv.describe(variables))
        return EXIT_OK
    from syncd.cli.run import run_daemon

    return run_daemon(config, settings_, variables)


def cmd_schema(args: argparse.Namespace) -> int:
    from syncd.manifests import schema

    for path in schema.write(Path(args.out)):
        print(path)
    return EXIT_OK


def _add_daemon_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api", help="the running daemon, e.g. http://127.0.0.1:8080 (SYNCD_API)")
    parser.add_argument("--token-file", help="file holding the admin token (or SYNCD_ADMIN_TOKEN)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="syncd", description="Declarative GitOps for Docker container stacks."
    )
    parser.add_argument("--version", action="version", version=f"syncd {__version__}")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("SYNCD_LOG_LEVEL"),
        choices=["debug", "info", "warning", "error"],
        help="(env: SYNCD_LOG_LEVEL)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = sub.add_parser("validate", help="check every manifest; exit 1 on errors")
    _add_source_args(validate)
    validate.add_argument("--rev", help="git revision to read (default: the files on disk)")
    validate.add_argument(
        "--format",
        default="text",
        choices=[f.value for f in ReportFormat],
        help="text, json, or github (workflow annotations)",
    )
    validate.set_defaults(func=cmd_validate)

    plan_cmd = sub.add_parser(
        "plan",
        help="what would change: exit 0 no changes, 2 changes, 1 error",
        description="Show what would change, per stack and service: between two revisions "
        "(--base, --head; no Docker needed), or, without --base, between what runs in Docker "
        "and --head (default: the files on disk). Exit codes: 0 no changes, 2 changes, 1 error.",
    )
    _add_source_args(plan_cmd)
    settings.add_arguments(plan_cmd)
    plan_cmd.add_argument("--base", help="the revision to compare against (e.g. origin/main)")
    plan_cmd.add_argument(
        "--head",
        help="the proposed revision (default: HEAD with --base, else the files on disk)",
    )
    plan_cmd.add_argument(
        "--format",
        default="text",
        choices=[f.value for f in PlanFormat],
        help="text (terminal), markdown (PR comment), json (the plan) or json-patch (RFC 6902)",
    )
    plan_cmd.add_argument(
        "--allow-empty",
        action="store_true",
        help="allow a revision that removes every stack",
    )
    plan_cmd.set_defaults(func=cmd_plan)

    apply = sub.add_parser(
        "apply",
        help="make Docker match the manifests once; exit 0 converged, 3 some services failed",
        description="Run one reconcile: observe Docker, plan, execute, print the plan and the "
        "result per service. Exit codes: 0 converged, 1 nothing applied (invalid manifests, "
        "no engine), 3 applied but some services failed.",
    )
    _add_source_args(apply)
    settings.add_arguments(apply)
    apply.add_argument("--rev", help="git revision to apply (default: the files on disk)")
    apply.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    apply.add_argument(
        "--allow-empty", action="store_true", help="allow a revision that removes every stack"
    )
    apply.set_defaults(func=cmd_apply)

    service = sub.add_parser(
        "service",
        help="tasks on one service: stop (kept stopped), start, restart, recreate, pull",
        description="With --api (SYNCD_API) the running daemon does it (admin token from "
        "SYNCD_ADMIN_TOKEN or --token-file); without, stop and start act on Docker directly.",
    )
    settings.add_arguments(service)
    _add_daemon_args(service)
    service.add_argument("action", choices=[t.value for t in Task])
    service.add_argument("service", help="project/stack/service, or project/service")
    service.set_defaults(func=cmd_service)

    volume = sub.add_parser("volume", help="delete an orphaned volume, with its data")
    _add_daemon_args(volume)
    volume.add_argument("action", choices=["rm"])
    volume.add_argument("volume", help="project/stack/volume, or project/volume")
    volume.set_defaults(func=cmd_volume)

    from syncd.daemon import config as runconfig

    run = sub.add_parser(
        "run",
        help="the daemon: keep Docker equal to a branch; API on 127.0.0.1:8080",
        description="Watch a repository's branch and keep Docker equal to it: a commit or push "
        "to a local repo applies at once, remote URLs are polled, webhooks and Docker events "
        "trigger syncs, and a drift pass runs every minute. Serves /healthz, POST /hooks/git "
        "and the status API. Exit codes at start-up: 69 no Docker engine, 73 the listen "
        "address is taken, 78 repository or settings unusable; 0 after SIGTERM/SIGINT.",
    )
    runconfig.add_arguments(run)
    settings.add_arguments(run)
    run.set_defaults(func=cmd_run)

    schema = sub.add_parser("schema", help="write the manifests' JSON Schemas")
    schema.add_argument("--out", default="schemas", help="directory (default: schemas)")
    schema.set_defaults(func=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure(args.log_level or ("info" if args.command == "run" else "warning"))
    try:
        code: int = args.func(args)
    except ManifestError as err:
        if isinstance(err.__cause__, SyncdError):
            print(f"syncd: {err.__cause__} has invalid manifests:", file=sys.stderr)
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return EXIT_INVALID
    except SyncdError as err:
        print(f"syncd: {taint.scrub_known(str(err))}", file=sys.stderr)
        return EXIT_INVALID
    return code
