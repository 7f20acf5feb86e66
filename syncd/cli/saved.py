"""Saved plans and image checks for `syncd plan` and `syncd apply`.

`syncd plan --out FILE` writes the plan with what it was made against (`render.planfile`);
`syncd apply --plan FILE` reads the revision again, observes Docker, and executes the plan
computed now only when it is the saved one: same settings, the ref still naming the revision,
the live state unchanged, the same plan digest; otherwise `StalePlan`, naming what moved.
`--check-images` resolves every new or changed image at its registry (`apply.imagecheck`).
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from pydantic import ValidationError

from syncd import logs
from syncd.apply.imagecheck import ImageCheck, check_images
from syncd.apply.ownership import Guard
from syncd.apply.reconcile import Reconciler
from syncd.apply.results import Planned, SyncResult
from syncd.cli import commands, pause, progress
from syncd.cli.confirm import Question
from syncd.core.desired import DesiredRegistry, registries_of
from syncd.core.plan import Plan
from syncd.errors import ExitCode, ManifestError, PlanFileError, StalePlan, SyncdError
from syncd.ids import RegistryKey
from syncd.manifests import ManifestSet
from syncd.render import planfile
from syncd.render.json_format import plan_json


def check_out(args: argparse.Namespace) -> None:
    """A saved plan is of a git revision, which an apply reads again; the files on disk are
    not one (they may change unseen)."""
    if args.out is not None and args.base is None and args.head is None:
        raise SyncdError(
            "--out saves the plan of a git revision and the files on disk are none: "
            "add --head HEAD (or another revision)"
        )


def images(
    args: argparse.Namespace,
    rec: Reconciler,
    planned: Planned,
    manifests: ManifestSet,
    *,
    always: bool = False,
    trusted: Mapping[RegistryKey, DesiredRegistry] | None = None,
) -> ImageCheck:
    """With `--check-images` (or `always`): the planned images resolved, or their located
    problems. `trusted`: see `check_images` (None: an apply, every registry's credentials)."""
    if not (args.check_images or always):
        return ImageCheck()
    return check_images(
        rec.engine,
        planned.plan,
        registries=planned.desired.registries,
        manifests=manifests,
        env=rec.env,
        settings=rec.settings,
        trusted=trusted,
    )


def plan_images(
    args: argparse.Namespace, rec: Reconciler, planned: Planned, manifests: ManifestSet
) -> ImageCheck:
    """`images` for a plan against what runs: credentials only for the registries of the
    revision that runs (else of the last one the daemon applied), declared alike."""
    if not args.check_images:
        return ImageCheck()
    return images(args, rec, planned, manifests, trusted=_running_registries(args, rec, planned))


def _running_registries(
    args: argparse.Namespace, rec: Reconciler, planned: Planned
) -> Mapping[RegistryKey, DesiredRegistry] | None:
    """The registries of the revision the plan starts from; None: nothing runs and nothing
    was applied (a first deployment, where the planned revision is the operator's own); empty
    when that revision cannot be read (no credentials are sent, and the problem says why)."""
    revision = planned.plan.base or rec.store.good_revision()
    if revision is None:
        return None if not planned.observation.live.stacks else {}
    try:
        manifests, _ = commands.manifests_at(args, revision)
    except SyncdError:
        return {}
    return registries_of(manifests)


def base_head_images(
    args: argparse.Namespace,
    plan: Plan,
    registries: Mapping[RegistryKey, DesiredRegistry],
    trusted: Mapping[RegistryKey, DesiredRegistry],
) -> ImageCheck:
    """`images` for a revision-to-revision plan: the engine is opened for it alone; only the
    credentials of the registries `trusted` (the base's) declares alike are sent."""
    if not args.check_images:
        return ImageCheck()
    from syncd.engine import connect

    settings = commands.run_settings(args)
    manifests, _ = commands.manifests_at(args, plan.head or args.head or "HEAD")
    engine = connect(settings)
    try:
        env = commands.environment(args)
        return check_images(
            engine,
            plan,
            registries=registries,
            manifests=manifests,
            env=env,
            settings=settings,
            trusted=trusted,
        )
    finally:
        engine.close()


def finish(
    args: argparse.Namespace,
    plan: Plan,
    checked: ImageCheck,
    *,
    planned: Planned | None,
) -> ExitCode | None:
    """After the plan is printed: its image problems (exit 1, nothing saved), else the plan
    file written with `--out` (with the digests the images resolved to). None: go on."""
    for problem in checked.problems:
        print(problem, file=sys.stderr)
    if checked.problems:
        return ExitCode.ERROR
    if args.out is None:
        return None
    if plan.head is None:
        raise SyncdError("--out needs a git revision: add --head HEAD (or another revision)")
    try:
        settings = planfile.plan_settings(
            commands.run_settings(args), args.path, allow_empty=args.allow_empty
        )
        saved = planfile.build(
            plan,
            ref=args.head or "HEAD",
            revision=plan.head,
            base=plan.base if planned is None else None,
            settings=settings,
            live=_live(planned) if planned is not None else None,
            images={str(key): digest for key, digest in checked.digests.items()},
        )
    except ValidationError as err:
        where = "/".join(str(p) for p in err.errors()[0]["loc"])
        raise SyncdError(f"cannot save the plan: {where}: {err.errors()[0]['msg']}") from None
    text = planfile.dump(saved)
    if len(text.encode()) > planfile.MAX_PLAN_FILE:  # `apply --plan` would refuse to read it
        raise SyncdError(f"the plan is larger than {planfile.MAX_PLAN_FILE} bytes: not saved")
    _write(Path(args.out), text)
    print(
        f"plan saved to {args.out}; apply it with: syncd apply --plan {args.out}", file=sys.stderr
    )
    logs.get().info("plan_saved", revision=plan.head, digest=saved.planDigest)
    return None


def _live(planned: Planned) -> planfile.LiveRecord:
    images = planfile.new_images(planned.plan, planned.observed)
    return planfile.live_record(planned.observation, images)


def _write(path: Path, text: str) -> None:
    """All or nothing: a plan file is never seen half written."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as err:
        raise SyncdError(f"cannot write the plan file {path}: {err.strerror}") from err


def load(path: Path) -> planfile.SavedPlan:
    """The plan file, read within its bound (a FIFO or a device is refused, never waited on)."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as err:
        raise PlanFileError(f"cannot read the plan file {path}: {err.strerror}") from err
    with os.fdopen(handle, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise PlanFileError(f"the plan file {path} is not a regular file")
        data = file.read(planfile.MAX_PLAN_FILE + 1)
    return planfile.parse(data, str(path))


def _current(repo: str, ref: str) -> str:
    from syncd.source.reader import open_repo, resolve_revision

    found, _ = open_repo(repo)
    try:
        return resolve_revision(found, ref).hexsha
    finally:
        found.close()


def image_gate(
    args: argparse.Namespace, rec: Reconciler, manifests: ManifestSet
) -> Callable[[Planned], None] | None:
    """With `--check-images`: a check that refuses an apply whose images do not resolve."""
    if not args.check_images:
        return None

    def gate(planned: Planned) -> None:
        if found := images(args, rec, planned, manifests).problems:
            raise ManifestError(list(found))

    return gate


def apply_saved(
    args: argparse.Namespace, guard: Guard | None = None, ask: Question | None = None
) -> SyncResult:
    """Execute the saved plan `args.plan` if it is still what an apply would do."""
    if args.rev is not None:
        raise SyncdError("--plan applies the revision its plan was made for: drop --rev")
    saved = load(Path(args.plan))
    settings = commands.run_settings(args)
    # a plan that removes every stack is applied only with --allow-empty given again, whatever
    # the file says
    allow_empty = bool(args.allow_empty)
    now = planfile.plan_settings(settings, args.path, allow_empty=allow_empty)
    if moved := planfile.settings_moved(saved.settings, now):
        raise StalePlan(moved)
    if saved.ref is not None and (current := _current(args.repo, saved.ref)) != saved.revision:
        raise StalePlan(
            f"the revision moved: {saved.ref} was {saved.revision[:12]} when planned, "
            f"now {current[:12]}"
        )
    manifests, revision = commands.manifests_at(args, saved.revision)

    with Reconciler.open(settings, commands.environment(args)) as rec:

        def check(planned: Planned) -> None:
            if saved.live is not None:
                moved = planfile.live_moved(saved.live, _live(planned))
                if moved:
                    raise StalePlan(moved)
            if planfile.plan_digest(planned.plan) != saved.planDigest:
                raise StalePlan(planfile.plan_moved(saved.plan, plan_json(planned.plan)))
            # images resolved when planned must resolve to the same digests now
            checked = images(args, rec, planned, manifests, always=bool(saved.images))
            if checked.problems:
                raise ManifestError(list(checked.problems))
            now = {str(key): digest for key, digest in checked.digests.items()}
            if moved := planfile.images_moved(saved.images, now):
                raise StalePlan(moved)

        rec.guard = guard
        unpaused = pause.refusing(rec.store, check)  # a paused stack: refused, nothing applied
        if ask is not None:
            ask.then = unpaused
        with progress.shown(rec.engine):  # pulls, creates and health waits, as `apply` shows
            return rec.sync(
                manifests,
                revision,
                dry_run=args.dry_run,
                allow_empty=allow_empty,
                check=ask or unpaused,
            )
