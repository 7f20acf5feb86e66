"""`--verify-commits` in the daemon: the head is verified before its manifests are read (stage
`verify`), each revision once. A refused head is a `PermanentFailure`: it waits for the branch
to move while the last good (verified) revision stays enforced, as a head that fails to parse.
The signers of verified revisions go to the status (`appliedSigner`) and the log
(`revision_verified`); refusals are counted by reason."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from syncd import logs
from syncd.daemon.status import Status
from syncd.errors import CommitRefused, PermanentFailure, Stage
from syncd.settings import Settings
from syncd.source.repository import Repository
from syncd.source.signatures import Verified, Verifier

KEPT = 16  # verified revisions remembered (their signers shown in the status)


class CommitGate:
    def __init__(
        self,
        verifier: Verifier,
        repo: Repository,
        status: Status,
        refused: Callable[[str], None],
    ) -> None:
        self.verifier = verifier
        self.repo = repo
        self.status = status
        self.refused = refused  # counts a refusal by its reason (the metrics)
        self.range = verifier.settings.range
        self._verified: OrderedDict[str, Verified] = OrderedDict()
        self.log = logs.get()

    def check(self, revision: str, since: str | None) -> None:
        """`revision` signed by the operator's keys (with `--verify-range`, every commit since
        `since`, the last applied revision); else a `PermanentFailure` of stage `verify`."""
        if revision in self._verified:
            return
        try:
            verified = self.verifier.verify(self.repo.git_dir, revision, since)
        except CommitRefused as err:
            self.refused(err.reason)
            self.log.error("revision_refused", revision=revision, reason=err.reason)
            raise PermanentFailure(Stage.VERIFY, str(err), revision=revision) from err
        self._verified[revision] = verified
        while len(self._verified) > KEPT:
            self._verified.popitem(last=False)
        self.status.signers = {r: v.signer.as_dict() for r, v in self._verified.items()}
        note = None
        if self.range and verified.since is None:
            note = "no earlier applied revision (or none known to git): the head alone"
        self.log.info(
            "revision_verified",
            revision=revision,
            **verified.signer.as_dict(),
            commits=verified.commits,
            since=verified.since,
            note=note,
        )


def gate(
    repo: Repository, settings: Settings, status: Status, refused: Callable[[str], None]
) -> CommitGate | None:
    """The daemon's gate (None: `--verify-commits` is off); `SettingsUnusable` when a key file
    cannot be read at start."""
    if not settings.verify.enabled:
        return None
    return CommitGate(Verifier(settings.verify, settings.data_dir), repo, status, refused)
