"""Commits verified against the operator's keys (`--verify-commits`), with `git verify-commit`'s
semantics, and nothing of the host's own configuration deciding.

git verifies (one `git log --format=%G?…` over the commits, `source.signed` judges each line):
SSH signatures with `ssh-keygen` against `--allowed-signers`, OpenPGP signatures with `gpg`
against a private GnuPG home under the data dir (`<data dir>/gnupg/<digest of the keyring>`,
0700) into which `--gpg-keyring` is imported; a changed keyring file is imported into a new home.
That home trusts every key in it (`trust-model always`): the keyring is the trust list. git runs
without the system and global config (`GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL=/dev/null`),
with the signature programs and the allowed signers file set above any repository config, so
neither `~/.gnupg` nor `~/.gitconfig` can widen what is trusted.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from syncd import datadir
from syncd.errors import CommitRefused, SettingsUnusable, SourceError
from syncd.signers import CommitVerification
from syncd.source.gitargs import GIT_ALLOW_PROTOCOL, check_revision, config_environment, git_error
from syncd.source.signed import LOG_FORMAT, Check, Refusal, Signer, judge

MAX_RANGE = 1000  # commits `--verify-range` checks at most in one revision
MAX_KEYRING_BYTES = 16 * 1024 * 1024
GIT_TIMEOUT = 120.0
GPG_CONF = "trust-model always\nno-autostart\n"


@dataclass(frozen=True)
class Verified:
    """A revision whose commits verified: its full sha, the head's signer, how many commits
    were checked and the revision the range starts after (None: the head alone)."""

    revision: str
    signer: Signer
    commits: int = 1
    since: str | None = None


def _read(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as file:
            data = file.read(MAX_KEYRING_BYTES + 1)
    except OSError as err:
        raise SourceError(f"cannot read the {what} {path}: {err.strerror}") from err
    if len(data) > MAX_KEYRING_BYTES:
        raise SourceError(f"the {what} {path} is over {MAX_KEYRING_BYTES} bytes")
    return data


class Verifier:
    def __init__(self, settings: CommitVerification, data_dir: Path) -> None:
        """`SettingsUnusable` when a key file cannot be read at start."""
        self.settings = settings
        self.data_dir = data_dir
        for path, what in (
            (settings.allowed_signers, "--allowed-signers"),
            (settings.gpg_keyring, "--gpg-keyring"),
        ):
            if path is not None and not os.access(path, os.R_OK):
                raise SettingsUnusable(f"{what} {path} cannot be read")

    # -- the private GnuPG home ----------------------------------------------------------------

    def gnupg_home(self) -> Path:
        """The GnuPG home holding exactly the keyring's keys (imported once per content)."""
        root = datadir.private_dir(self.data_dir / "gnupg")
        keyring = self.settings.gpg_keyring
        content = _read(keyring, "--gpg-keyring") if keyring is not None else b""
        home = root / hashlib.sha256(content).hexdigest()[:16]
        if (home / "gpg.conf").is_file():
            return home
        fresh = Path(tempfile.mkdtemp(prefix=".new-", dir=root))  # 0700
        try:
            (fresh / "gpg.conf").write_text(GPG_CONF)  # before the import: no agent started
            if content:
                self._import(fresh, content, keyring)
            fresh.rename(home)  # whole or not at all
        except OSError:  # another syncd made the same home meanwhile
            if not (home / "gpg.conf").is_file():
                raise
        finally:
            shutil.rmtree(fresh, ignore_errors=True)
        for old in root.iterdir():  # the homes of keyrings no longer given
            if old != home and not old.name.startswith(".new-"):
                shutil.rmtree(old, ignore_errors=True)
        return home

    @staticmethod
    def _import(home: Path, content: bytes, keyring: Path | None) -> None:
        command = ["gpg", "--batch", "--no-tty", "--homedir", str(home), "--status-fd", "1"]
        try:
            done = subprocess.run(
                [*command, "--import-options", "import-minimal", "--import"],
                input=content,
                capture_output=True,
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SourceError(f"importing --gpg-keyring {keyring} timed out") from None
        except OSError as err:
            raise SourceError(f"cannot run gpg for --gpg-keyring: {err.strerror}") from err
        if b"[GNUPG:] IMPORT_OK" not in done.stdout:
            raise SourceError(f"--gpg-keyring {keyring} holds no OpenPGP public key gpg accepts")

    # -- git -----------------------------------------------------------------------------------

    def _git(self, repo: Path, *args: str) -> str:
        allowed = self.settings.allowed_signers
        if allowed is not None:
            _read(allowed, "--allowed-signers")  # unreadable: not "every key unknown"
        env = {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
            "GIT_ALLOW_PROTOCOL": GIT_ALLOW_PROTOCOL,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GNUPGHOME": str(self.gnupg_home()),
            **config_environment(
                ("gpg.ssh.allowedSignersFile", str(allowed) if allowed else os.devnull),
                ("gpg.program", "gpg"),
                ("gpg.ssh.program", "ssh-keygen"),
                ("gpg.x509.program", "gpgsm"),
            ),
        }
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=repo,
                env=env,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SourceError(f"verifying signatures: git {args[0]} timed out") from None
        except OSError as err:
            raise SourceError(f"cannot run git: {err.strerror}") from err
        if done.returncode != 0:
            detail = git_error(done.stderr, done.returncode)
            raise SourceError(f"verifying signatures: git {args[0]} failed:\n{detail}")
        return done.stdout

    def commit(self, repo: Path, revision: str) -> str | None:
        """`revision`'s full commit sha (None: no such commit)."""
        check_revision(revision)
        try:
            out = self._git(
                repo,
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                f"{revision}^{{commit}}",
            )
        except SourceError:
            return None
        return out.strip() or None

    # -- the question --------------------------------------------------------------------------

    def verify(self, repo: Path, revision: str, since: str | None = None) -> Verified:
        """`revision` (with `--verify-range`, every commit since `since`, the last applied
        revision) signed by the operator's keys; else `CommitRefused` naming the first bad
        commit, its author and why."""
        sha = self.commit(repo, revision)
        if sha is None:
            raise SourceError(f"revision {revision[:80]!r} is not a commit")
        base = self.commit(repo, since) if self.settings.range and since else None
        if base == sha:
            base = None  # nothing new since: the head alone
        selection = [sha, f"^{base}"] if base else [sha]
        count = MAX_RANGE + 1 if base else 1
        out = self._git(
            repo,
            "log",
            f"--max-count={count}",
            f"--format={LOG_FORMAT}",
            "--end-of-options",
            *selection,
        )
        judged = [judge(line) for line in out.splitlines()]
        checks = [c for c in judged if c is not None]
        if not checks or len(checks) != len(judged) or checks[0].revision != sha:
            # fail closed: a line not understood may be a commit not checked
            raise SourceError(f"verifying {sha[:12]}: git's answer is not understood")
        if len(checks) > MAX_RANGE:
            raise CommitRefused(
                f"--verify-range: more than {MAX_RANGE} commits since {base and base[:12]}; "
                "syncd checks at most that many (apply a revision in between first)",
                reason=Refusal.TOO_MANY_COMMITS.value,
                commit=sha[:12],
            )
        for check in reversed(checks):  # the oldest first
            if check.signer is None:
                raise _refused(check, len(checks), base)
        signer = checks[0].signer
        assert signer is not None
        return Verified(sha, signer, len(checks), base)


def _refused(check: Check, commits: int, base: str | None) -> CommitRefused:
    message = check.message
    if base is not None:
        message += f" (--verify-range: {commits} commit(s) since {base[:12]}, each must be signed)"
    assert check.refusal is not None
    return CommitRefused(message, reason=check.refusal.value, commit=check.revision[:12])
