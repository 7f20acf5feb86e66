"""`syncd apply --rev` with `--verify-commits`: the revision is verified before anything is read
(as the daemon's `verify` stage does), and the commit verified is the one applied. `syncd plan`
does not verify: it is read-only (a pull request's plan is shown before anyone signs it)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from syncd.apply.store import Store
from syncd.errors import SyncdError
from syncd.settings import Settings
from syncd.source.signatures import Verifier


def last_good(settings: Settings) -> str | None:
    """The revision this instance last applied whole (the start of `--verify-range`)."""
    if not settings.state_file.is_file():
        return None
    store = Store(settings.state_file)
    try:
        return store.good_revision()
    finally:
        store.close()


def verified_revision(args: argparse.Namespace, settings: Settings) -> str | None:
    """`--rev` as given, or with `--verify-commits` the commit it names once its signature
    verifies (`CommitRefused`, exit 1: nothing applied)."""
    rev: str | None = args.rev
    if not settings.verify.enabled:
        return rev
    if rev is None:
        raise SyncdError("--verify-commits needs --rev: files on disk carry no signature")
    since = last_good(settings) if settings.verify.range else None
    verified = Verifier(settings.verify, settings.data_dir).verify(Path(args.repo), rev, since)
    signer = verified.signer
    scope = f"{verified.commits} commit(s) since {verified.since[:12]}" if verified.since else ""
    print(
        f"verified: {verified.revision[:12]} signed by {signer.principal} ({signer.fingerprint})"
        + (f"; {scope}" if scope else ""),
        file=sys.stderr,
    )
    return verified.revision
