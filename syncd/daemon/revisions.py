"""The branch's revisions as the daemon reads them: the head, its files and its manifests,
the last good revision (kept in memory, read again from git after a restart) and a head that
failed on its own (not read again until the branch moves)."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from syncd import logs, operatorenv, taint
from syncd.daemon.status import LastError, Status
from syncd.errors import ManifestError, PermanentFailure, SopsError, SyncdError
from syncd.manifests import ManifestSet, read_manifests
from syncd.manifests.isolate import isolate
from syncd.problems import Problem
from syncd.settings import Settings
from syncd.sops import AgeIdentities
from syncd.source.reader import Snapshot
from syncd.source.repository import Repository

if TYPE_CHECKING:
    from syncd.daemon.verifying import CommitGate


def internal(err: BaseException, what: str) -> str:
    """An unexpected error, by its type only: its text may hold a secret's value."""
    return f"syncd {what} (internal error {type(err).__name__}; a bug, please report it)"


def describe(err: BaseException) -> str:
    return str(err) if isinstance(err, SyncdError) else internal(err, "failed")


def log_frames(event: str, err: BaseException, **fields: Any) -> None:
    """An unexpected error's frames, to the debug log (never its text)."""
    frames = [f"{f.filename}:{f.lineno} {f.name}" for f in traceback.extract_tb(err.__traceback__)]
    logs.get().debug(event, error=type(err).__name__, frames=frames, **fields)


@dataclass(frozen=True)
class Parsed:
    revision: str
    manifests: ManifestSet


@dataclass(frozen=True)
class Fetched:
    """A revision's files, or its manifests when they were parsed before."""

    revision: str
    files: Snapshot | None
    parsed: Parsed | None


class Revisions:
    def __init__(
        self,
        repo: Repository,
        settings: Settings,
        env: Mapping[str, str],
        status: Status,
        *,
        gate: CommitGate | None = None,
    ) -> None:
        self.repo = repo
        self.settings = settings
        self.env = env
        self.log = logs.get()
        self.status = status  # `good_revision` (from the store) and `good_revision_error`
        self.gate = gate  # `--verify-commits` (None: off)
        self._good: Parsed | None = None  # the last good revision, enforced meanwhile
        self._partial: Parsed | None = None  # a head applied in part, enforced meanwhile
        # the head's own failure, as it was reported: it waits for the branch to move
        self.unusable: tuple[PermanentFailure, LastError] | None = None

    def head(self) -> str:
        return self.repo.head()

    def raise_if_unusable(self, revision: str) -> None:
        """The head failed on its own before: the same failure again, without reading it."""
        if self.unusable is not None and self.unusable[0].revision == revision:
            raise self.unusable[0].with_traceback(None)  # raised again: no frames pile up

    def verify(self, revision: str) -> None:
        """With `--verify-commits`: `revision` (and, with `--verify-range`, every commit since
        the last good one) signed; else a `PermanentFailure` of stage `verify`."""
        if self.gate is not None:
            self.gate.check(revision, self.status.good_revision)

    def fetch(self, revision: str) -> Fetched:
        for known in (self._good, self._partial):
            if known is not None and known.revision == revision:
                return Fetched(revision, None, known)
        return Fetched(revision, self.repo.snapshot(revision), None)

    def parse(self, fetched: Fetched) -> Parsed:
        if fetched.parsed is not None:
            return fetched.parsed
        assert fetched.files is not None
        manifests = self.read(fetched.files)
        if manifests.errors:  # confined to some stacks: the others apply (`isolate`)
            good = self.last_good()
            manifests = isolate(
                manifests,
                good.manifests if good else None,
                good.revision if good else None,
            )
        return Parsed(fetched.revision, manifests)

    def manifests(self, snap: Snapshot, *, reviewed: bool = True) -> ManifestSet:
        """The snapshot's manifests, or a ManifestError (`read`)."""
        manifests = self.read(snap, reviewed=reviewed)
        if manifests.errors:
            raise ManifestError(manifests.errors)
        return manifests

    def read(self, snap: Snapshot, *, reviewed: bool = True) -> ManifestSet:
        """The snapshot's manifests with their problems, or a ManifestError when the reader
        itself breaks.
        The values it took from the environment are remembered (no log line shows them); of a
        revision not `reviewed` (a live plan's pull request), only the operator's own values:
        a text it built (`${X:+any words}`) would hide those words from every log line and API
        answer, and enough of them would push the real secrets out of the bounded memory."""
        identities = self._identities()
        try:
            manifests = read_manifests(
                snap.files,
                self.env,
                problems=snap.problems,
                secrets_dir=self.settings.secrets,
                policy=self.settings.policy,
                profiles=self.settings.profiles,
                engine=self.settings.engine,
                identities=identities,
            )
        except Exception as err:  # a reader bug: still say in which file(s)
            log_frames("reader_crashed", err)
            # from None: the reader's exception text may quote a secret's value
            raise ManifestError(self._reader_crash(snap, err)) from None
        values = manifests.secret_values()
        if not reviewed:
            values = values & frozenset(self.env.values())
        taint.remember(values)  # no log line shows them, whatever quotes them
        return manifests

    def _identities(self) -> AgeIdentities | None:
        """The operator's age identities (read again when the key file changes); a key file
        that cannot be read fails the revision, naming the file (never a key)."""
        try:
            return operatorenv.age_identities(self.settings.age_key_file)
        except SopsError as err:
            raise ManifestError([Problem("(age key file)", str(err))]) from None

    def _reader_crash(self, snap: Snapshot, err: Exception) -> list[Problem]:
        problems = []
        for file in snap.files:
            try:
                read_manifests(
                    (file,),
                    self.env,
                    secrets_dir=self.settings.secrets,
                    policy=self.settings.policy,
                    profiles=self.settings.profiles,
                )
            except Exception as each:  # only its type is reported
                problems.append(Problem(file.path, internal(each, "cannot read this file")))
        return problems or [Problem("(revision)", internal(err, "cannot read the manifests"))]

    def applied(self, parsed: Parsed) -> None:
        """`parsed` applied: the new last good revision; the head's own failure is gone."""
        self._good, self.unusable, self._partial = parsed, None, None
        self.status.good_revision, self.status.good_revision_error = parsed.revision, None
        self.status.broken_stacks = {}

    def applied_in_part(self, parsed: Parsed) -> None:
        """`parsed`, a partial revision, applied: enforced until a revision applies whole."""
        self._partial = parsed

    def enforced(self) -> Parsed | None:
        """What self-heal enforces: the partial revision applied last, else the last good."""
        return self._partial or self.last_good()

    def last_good(self) -> Parsed | None:
        """The last good revision: in memory, or (after a restart) read again from git."""
        revision = self.status.good_revision
        if self._good is not None or revision is None or self.status.good_revision_error:
            return self._good
        if not self._still_verified(revision):
            return None
        try:
            self._good = Parsed(revision, self.manifests(self.repo.snapshot(revision)))
        except Exception as err:  # reported in the status
            reason = describe(err)
            self.status.good_revision_error = (
                f"the last good revision {revision[:12]} cannot be read ({reason}); "
                "was it garbage-collected? Nothing is enforced until a revision applies"
            )
            self.log.error("good_revision_unreadable", revision=revision, error=reason)
        return self._good

    def _still_verified(self, revision: str) -> bool:
        """With `--verify-commits`, the last good revision read again after a restart verifies
        too (the keys may have changed since it applied); else the status says why."""
        if self.gate is None:
            return True
        try:
            self.gate.check(revision, None)
        except Exception as err:  # reported in the status
            self.status.good_revision_error = (
                f"the last good revision {revision[:12]} does not verify ({describe(err)}); "
                "nothing is enforced until a revision applies"
            )
            return False
        return True

    def good_stacks(self) -> list[str]:
        """The stacks a failure of the head holds (none when it is the partial revision
        applied: its stacks have their own records, `daemon.isolation`)."""
        source = self._partial or self._good
        failed = self.unusable[0].revision if self.unusable else None
        if source is None or (self._partial is not None and failed == self._partial.revision):
            return []
        return [str(s.manifest.key) for s in source.manifests.stacks]
