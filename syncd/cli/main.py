"""The `syncd` command line: the parser, and `main`, which runs a command and turns its errors
into exit codes. The commands are in `commands` (validate, plan, apply, run, schema) and
`tasks` (service, volume)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from syncd import __version__, logs, operatorenv, settings, taint
from syncd.cli import comment, confirm, history, init, liveplan, pause, secrets, status
from syncd.cli import logs as logs_cmd
from syncd.cli.commands import cmd_apply, cmd_plan, cmd_run, cmd_schema, cmd_validate
from syncd.cli.report import ReportFormat
from syncd.cli.tasks import cmd_service, cmd_volume
from syncd.daemon.tasks import Task
from syncd.errors import (
    ExitCode,
    InvalidRevision,
    ManifestError,
    PolicyFileError,
    SettingsUnusable,
    SyncdError,
)
from syncd.render import PlanFormat

DETAILED = f"{ExitCode.OK} no changes, {ExitCode.CHANGES} changes, {ExitCode.ERROR} error"


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


def _add_settings_args(parser: argparse.ArgumentParser) -> None:
    """The shared settings, and those that decide what a revision may ask for (policy,
    profiles)."""
    settings.add_arguments(parser)
    settings.add_manifest_arguments(parser)


def _add_daemon_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api", help="the running daemon, e.g. http://127.0.0.1:8080 (SYNCD_API)")
    parser.add_argument("--token-file", help="file holding the admin token (or SYNCD_ADMIN_TOKEN)")


def _add_saved_plan_args(
    parser: argparse.ArgumentParser, func: Callable[[argparse.Namespace], int], flag: str, text: str
) -> None:
    """`--out` (plan) or `--plan` (apply), `--check-images`, and the command's function."""
    parser.add_argument(flag, metavar="FILE", help=text)
    parser.add_argument(
        "--check-images",
        action="store_true",
        help="resolve every new or changed image at its registry; a missing one is an error",
    )
    parser.set_defaults(func=func)


def default_log_level(command: str) -> str:
    """The daemon tells what it does (`info`: every sync, every service action); a one-shot
    command prints its answer and logs only warnings and errors."""
    return "info" if command == "run" else "warning"


def build_parser() -> argparse.ArgumentParser:  # noqa: PLR0915 - one block per command
    parser = argparse.ArgumentParser(
        prog="syncd", description="Declarative GitOps for Docker container stacks."
    )
    parser.add_argument("--version", action="version", version=f"syncd {__version__}")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("SYNCD_LOG_LEVEL"),
        choices=["debug", "info", "warning", "error"],
        help=f"(env: SYNCD_LOG_LEVEL; default: {default_log_level('run')} for run, "
        f"{default_log_level('validate')} for the other commands)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = sub.add_parser(
        "validate", help=f"check every manifest; exit {ExitCode.ERROR} on errors"
    )
    _add_source_args(validate)
    validate.add_argument("--rev", help="git revision to read (default: the files on disk)")
    validate.add_argument(
        "--format",
        default="text",
        choices=[f.value for f in ReportFormat],
        help="text, json, github (workflow annotations) or gitlab (Code Quality report)",
    )
    validate.add_argument(
        "--unset-ok",
        action="store_true",
        help="a variable not set here is an unknown value, not an error (CI without the "
        "production variables; `plan --base` always reads so)",
    )
    settings.add_manifest_arguments(validate)
    validate.add_argument(
        "--engine",
        choices=[e.value for e in settings.EngineKind],
        help="check the manifests for this engine: what it cannot honour is a warning or an "
        "error at its line (env: SYNCD_ENGINE; docker)",
    )
    validate.set_defaults(func=cmd_validate)

    plan_cmd = sub.add_parser(
        "plan",
        help=f"what would change: exit {DETAILED}",
        description="Show what would change, per stack and service: between two revisions "
        "(--base, --head; no Docker needed), or, without --base, between what runs in Docker "
        f"and --head (default: the files on disk). Exit codes: {DETAILED}.",
    )
    _add_source_args(plan_cmd)
    _add_settings_args(plan_cmd)
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
        "--allow-mass-removal",
        "--allow-empty",
        dest="allow_empty",
        action="store_true",
        help="allow a revision that removes every stack",
    )
    plan_cmd.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help=f"exit {DETAILED} (always so for plan; accepted as terraform spells it)",
    )
    liveplan.add_arguments(plan_cmd)
    _add_saved_plan_args(plan_cmd, cmd_plan, "--out", "save the plan for `apply --plan`")

    apply = sub.add_parser(
        "apply",
        help=f"make Docker match the manifests once; exit {ExitCode.OK} converged, "
        f"{ExitCode.PARTIAL} some services failed",
        description="Run one reconcile: observe Docker, plan, execute, print the plan and the "
        f"result per service. Exit codes: {ExitCode.OK} converged (with --dry-run: planned), "
        f"{ExitCode.ERROR} nothing applied (invalid manifests, no engine), "
        f"{ExitCode.PARTIAL} applied but some services failed.",
    )
    _add_source_args(apply)
    _add_settings_args(apply)
    apply.add_argument("--rev", help="git revision to apply (default: the files on disk)")
    apply.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    apply.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help=f"with --dry-run: exit {DETAILED}",
    )
    apply.add_argument(
        "--allow-mass-removal",
        "--allow-empty",
        dest="allow_empty",
        action="store_true",
        help="allow removing more than --max-removal-share of the services, or every stack",
    )
    apply.add_argument(
        "--yes", "-y", action="store_true", help="on a terminal: remove without asking"
    )
    confirm.add_arguments(apply)
    _add_saved_plan_args(apply, cmd_apply, "--plan", "apply a saved plan; refused when stale")

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
        f"and the status API. Exit codes at start-up: {ExitCode.UNAVAILABLE} no Docker engine, "
        f"{ExitCode.CANTCREAT} the listen address is taken, {ExitCode.CONFIG} repository or "
        f"settings unusable; {ExitCode.OK} after SIGTERM/SIGINT.",
    )
    runconfig.add_arguments(run)
    _add_settings_args(run)
    run.set_defaults(func=cmd_run)

    from syncd.cli import convert

    converter = sub.add_parser(
        "convert",
        help="print a Compose file as a native Stack; exit 1 when something is not carried over",
        description="Print the native Stack document equivalent to a Compose file (stdout) and, "
        "on stderr, what could not be carried over. Values from the environment are printed as "
        f"<redacted>. Exit codes: {ExitCode.OK} all carried over, {ExitCode.ERROR} not all.",
    )
    convert.add_arguments(converter)
    converter.set_defaults(func=convert.cmd_convert)

    comment.add_parser(sub)
    pause.add_parsers(sub)
    status.add_parser(sub)
    history.add_parser(sub)
    logs_cmd.add_parser(sub)
    secrets.add_parser(sub)
    init.add_parser(sub)

    schema = sub.add_parser("schema", help="write the manifests' JSON Schemas")
    schema.add_argument("--out", default="schemas", help="directory (default: schemas)")
    schema.set_defaults(func=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure(args.log_level or default_log_level(args.command))
    try:
        code: int = args.func(args)
    except ManifestError as err:
        if isinstance(err, InvalidRevision):
            print(f"syncd: {taint.printable(err.revision)} has invalid manifests:", file=sys.stderr)
        if err.held:  # not confined to some stacks: nothing applied
            print(f"syncd: held: {err.held}", file=sys.stderr)
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return ExitCode.ERROR
    except PolicyFileError as err:  # the operator's configuration: fix it, nothing was read
        print(f"syncd: {taint.printable(str(err), newlines=True)}", file=sys.stderr)
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return ExitCode.CONFIG
    except SettingsUnusable as err:  # contradicting settings: fix them, nothing was read
        print(f"syncd: {taint.printable(str(err), newlines=True)}", file=sys.stderr)
        return ExitCode.CONFIG
    except SyncdError as err:
        shown = taint.printable(taint.scrub_known(str(err)), newlines=True)
        print(f"syncd: {shown}", file=sys.stderr)
        return ExitCode.ERROR
    return code
