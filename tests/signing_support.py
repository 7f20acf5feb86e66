"""Real signing keys made in a test: SSH (`ssh-keygen`) and OpenPGP (`gpg` in its own home),
commits signed with them (`git commit -S`), and the files syncd verifies with."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.gitrepo import GitRepo


class SshKey:
    def __init__(self, folder: Path, name: str, principal: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / name
        self.principal = principal
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", principal, "-f", str(self.path))
        self.public = self.path.with_suffix(".pub").read_text().strip()
        self.fingerprint = run("ssh-keygen", "-l", "-f", str(self.path)).split()[1]

    def allowed_signers_line(self) -> str:
        return f'{self.principal} namespaces="git" {self.public}\n'

    def commit(self, repo: GitRepo, message: str = "change") -> str:
        repo.git("add", "-A")
        repo.git(
            "-c", "gpg.format=ssh", "-c", f"user.signingkey={self.path}",
            "commit", "-q", "--allow-empty", "-S", "-m", message,
        )  # fmt: skip
        return repo.git("rev-parse", "HEAD")


class GpgKey:
    """An OpenPGP key in its own GnuPG home (never the user's ~/.gnupg), in a short folder of
    /tmp (gpg-agent's socket path must stay short); `close` stops its agent and removes it."""

    def __init__(self, uid: str) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="syncd-gpg-", dir="/tmp"))
        self.uid = uid
        self.gpg("--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never")
        listing = self.gpg("--with-colons", "--list-keys", uid).decode()
        self.fingerprint = next(
            line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
        )

    def close(self) -> None:
        subprocess.run(
            ["gpgconf", "--kill", "all"],
            env={**os.environ, "GNUPGHOME": str(self.home)},
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.home, ignore_errors=True)

    def gpg(self, *args: str, stdin: bytes | None = None) -> bytes:
        done = subprocess.run(
            ["gpg", "--batch", "--homedir", str(self.home), *args],
            input=stdin,
            capture_output=True,
            check=True,
        )
        return done.stdout

    def export(self, path: Path, *, armor: bool = True) -> Path:
        """The public key, as the operator's `--gpg-keyring` (armored or binary)."""
        path.write_bytes(self.gpg(*(["--armor"] if armor else []), "--export", self.fingerprint))
        return path

    def revoke(self) -> None:
        """Import the revocation certificate gpg made with the key (armor's ':' guard cut)."""
        cert = (self.home / "openpgp-revocs.d" / f"{self.fingerprint}.rev").read_text()
        self.gpg("--import", stdin=cert.replace(":-----BEGIN", "-----BEGIN").encode())

    def commit(self, repo: GitRepo, message: str = "change") -> str:
        repo.git("add", "-A")
        subprocess.run(
            ["git", "-c", f"user.signingkey={self.fingerprint}", "-c", "gpg.format=openpgp",
             "commit", "-q", "--allow-empty", "-S", "-m", message],
            cwd=repo.path, check=True, capture_output=True,
            env={**os.environ, "GNUPGHOME": str(self.home)},
        )  # fmt: skip
        return repo.git("rev-parse", "HEAD")


def allowed_signers(path: Path, *keys: SshKey) -> Path:
    path.write_text("".join(k.allowed_signers_line() for k in keys))
    return path


def run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, check=True, text=True).stdout
