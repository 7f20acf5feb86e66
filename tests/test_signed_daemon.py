"""`--verify-commits` end to end: pushes signed with real SSH and OpenPGP keys to a bare repo,
`syncd run` as a real process on real Docker, and `syncd apply --rev`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.daemon_support import RunningDaemon, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo
from tests.signing_support import GpgKey, SshKey, allowed_signers
from tests.test_daemon import env_of, stack

pytestmark = pytest.mark.docker


@pytest.fixture
def bob() -> Iterator[GpgKey]:
    key = GpgKey("Bob <bob@example.com>")
    yield key
    key.close()


class Pusher:
    """A work tree that pushes to a bare repository (the one the daemon watches)."""

    def __init__(self, tmp_path: Path) -> None:
        self.bare = tmp_path / "remote.git"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(self.bare)], check=True)
        self.work = GitRepo(tmp_path / "work")
        self.work.git("remote", "add", "origin", str(self.bare))

    def commit(self, n: int, key: SshKey | GpgKey | None) -> str:
        self.work.write("s.yaml", stack(n))
        return key.commit(self.work, f"n={n}") if key else self.work.commit(f"n={n}")

    def push(self) -> None:
        self.work.git("push", "-q", "origin", "HEAD:main")


def refused(daemon: RunningDaemon, revision: str) -> dict[str, Any]:
    """The last error once the daemon refused `revision`: stage `verify`."""
    error: dict[str, Any] = wait_for(
        lambda: (e := daemon.status()["lastError"]) and e["revision"] == revision and e,
        15,
        "the refusal",
    )
    assert error["stage"] == "verify", error
    return error


def healed_after_removal(deployment: Deployment, n: int) -> None:
    """Remove the service's container by hand: syncd brings it back, on revision `n`."""
    old = deployment.container("app")
    old.remove(force=True)
    wait_for(
        lambda: (
            (found := deployment.containers(service="app"))
            and found[0].id != old.id
            and env_of(deployment) == str(n)
        ),
        20,
        "the container back on the last verified revision",
    )


def test_signed_pushes_apply_and_unsigned_or_unknown_key_pushes_are_refused_and_healed(
    deployment: Deployment, daemons: list[RunningDaemon], tmp_path: Path, bob: GpgKey
) -> None:
    alice = SshKey(tmp_path / "keys", "alice", "alice@example.com")
    mallory = SshKey(tmp_path / "keys", "mallory", "mallory@example.com")
    signers = allowed_signers(tmp_path / "allowed_signers", alice)
    keyring = bob.export(tmp_path / "keyring.asc")
    pusher = Pusher(tmp_path)
    good = pusher.commit(1, alice)
    pusher.push()
    daemon = RunningDaemon(
        str(pusher.bare), deployment.settings.data_dir, deployment.instance,
        "--verify-commits", "--allowed-signers", str(signers), "--gpg-keyring", str(keyring),
    )  # fmt: skip
    daemons.append(daemon.started())
    wait_for(lambda: env_of(deployment) == "1", 20, "the signed revision")
    status = wait_for(lambda: (s := daemon.status())["appliedSigner"] and s, 10, "the signer")
    assert status["appliedRevision"] == good
    assert status["appliedSigner"] == {
        "kind": "ssh",
        "fingerprint": alice.fingerprint,
        "principal": "alice@example.com",
    }
    assert "revision_verified" in daemon.log() and alice.fingerprint in daemon.log()

    unsigned = pusher.commit(2, None)
    pusher.push()
    error = refused(daemon, unsigned)
    assert error["message"] == f"commit {unsigned[:12]} by syncd tests: no signature"
    assert env_of(deployment) == "1" and daemon.status()["appliedRevision"] == good
    healed_after_removal(deployment, 1)

    unknown = pusher.commit(3, mallory)
    pusher.push()
    error = refused(daemon, unknown)
    assert (
        f"commit {unknown[:12]} by syncd tests: signed by a key not in --allowed-signers"
        in (error["message"])
    )
    assert mallory.fingerprint in error["message"]
    healed_after_removal(deployment, 1)
    assert env_of(deployment) == "1"

    signed = pusher.commit(4, bob)  # OpenPGP: a key of --gpg-keyring
    pusher.push()
    wait_for(lambda: env_of(deployment) == "4", 20, "the OpenPGP-signed revision")
    status = wait_for(
        lambda: (s := daemon.status())["appliedRevision"] == signed and s, 10, "the status"
    )
    assert status["appliedSigner"]["kind"] == "openpgp"
    assert status["appliedSigner"]["fingerprint"] == bob.fingerprint
    assert status["appliedSigner"]["principal"] == "Bob <bob@example.com>"
    assert status["lastError"] is None
    metrics = daemon.http.get("/metrics").text
    assert 'syncd_revisions_refused_total{reason="unsigned"} 1.0' in metrics
    assert 'syncd_revisions_refused_total{reason="unknown_key"} 1.0' in metrics
    rows = [r for r in daemon.syncs() if r["revision"] in (unsigned, unknown)]
    assert rows and {r["stage"] for r in rows} == {"verify"}, rows


def test_verify_range_refuses_a_signed_head_over_an_unsigned_commit(
    deployment: Deployment, daemons: list[RunningDaemon], tmp_path: Path
) -> None:
    alice = SshKey(tmp_path / "keys", "alice", "alice@example.com")
    signers = allowed_signers(tmp_path / "allowed_signers", alice)
    pusher = Pusher(tmp_path)
    good = pusher.commit(1, alice)
    pusher.push()
    daemon = RunningDaemon(
        str(pusher.bare), deployment.settings.data_dir, deployment.instance,
        "--verify-commits", "--allowed-signers", str(signers), "--verify-range",
    )  # fmt: skip
    daemons.append(daemon.started())
    wait_for(lambda: daemon.status()["appliedRevision"] == good, 20, "the first revision")
    assert "the head alone" in daemon.log()  # the first apply checks only the head

    unsigned = pusher.commit(2, None)
    head = pusher.commit(3, alice)
    pusher.push()
    error = refused(daemon, head)
    assert error["message"].startswith(f"commit {unsigned[:12]} by syncd tests: no signature")
    assert f"2 commit(s) since {good[:12]}" in error["message"]
    healed_after_removal(deployment, 1)

    pusher.work.git("reset", "-q", "--hard", good)  # the unsigned commit dropped
    fixed = pusher.commit(5, alice)
    subprocess.run(
        ["git", "push", "-q", "--force", "origin", "HEAD:main"], cwd=pusher.work.path, check=True
    )
    wait_for(lambda: env_of(deployment) == "5", 20, "the re-signed history")
    wait_for(lambda: daemon.status()["appliedRevision"] == fixed, 10, "the status")


def test_apply_rev_refuses_an_unsigned_commit_and_applies_a_signed_one(
    deployment: Deployment, tmp_path: Path
) -> None:
    alice = SshKey(tmp_path / "keys", "alice", "alice@example.com")
    signers = allowed_signers(tmp_path / "allowed_signers", alice)
    repo = GitRepo(deployment.repo)
    repo.write("s.yaml", stack(1))
    unsigned = repo.commit("unsigned")
    command = [sys.executable, "-m", "syncd", "apply", "--yes"]
    verify = ["--verify-commits", "--allowed-signers", str(signers)]

    def apply(rev: str) -> subprocess.CompletedProcess[str]:
        args = deployment.cli_args(repo.path, "--rev", rev, *verify)
        return subprocess.run([*command, *args], capture_output=True, text=True, check=False)

    done = apply(unsigned)
    assert done.returncode == 1, done.stderr
    assert f"commit {unsigned[:12]} by syncd tests: no signature" in done.stderr
    assert deployment.containers(service="app") == []  # nothing applied

    repo.write("s.yaml", stack(2))
    signed = alice.commit(repo, "signed")
    done = apply(signed)
    assert done.returncode == 0, done.stderr
    assert f"verified: {signed[:12]} signed by alice@example.com" in done.stderr
    assert env_of(deployment) == "2"


def test_after_a_restart_the_last_good_revision_is_enforced_only_while_it_still_verifies(
    deployment: Deployment, daemons: list[RunningDaemon], tmp_path: Path
) -> None:
    alice = SshKey(tmp_path / "keys", "alice", "alice@example.com")
    mallory = SshKey(tmp_path / "keys", "mallory", "mallory@example.com")
    signers = allowed_signers(tmp_path / "allowed_signers", alice)
    pusher = Pusher(tmp_path)
    good = pusher.commit(1, alice)
    pusher.push()
    flags = ("--verify-commits", "--allowed-signers", str(signers), "--drift-interval", "3600")
    data, instance = deployment.settings.data_dir, deployment.instance
    first = RunningDaemon(str(pusher.bare), data, instance, *flags).started()
    daemons.append(first)
    wait_for(lambda: first.status()["appliedRevision"] == good, 20, "the signed revision")
    unsigned = pusher.commit(2, None)
    pusher.push()
    refused(first, unsigned)
    first.kill()

    # the same keys: the last good revision is verified again and enforced
    deployment.container("app").remove(force=True)
    second = RunningDaemon(str(pusher.bare), data, instance, *flags).started()
    daemons.append(second)
    wait_for(lambda: env_of(deployment) == "1", 20, "the last good revision, after a restart")
    assert second.status()["goodRevisionError"] is None
    second.kill()

    # alice's key withdrawn: her revision is no longer enforced, and the status says why
    allowed_signers(signers, mallory)
    deployment.container("app").remove(force=True)
    third = RunningDaemon(str(pusher.bare), data, instance, *flags).started()
    daemons.append(third)
    status = wait_for(lambda: (s := third.status())["goodRevisionError"] and s, 20, "the error")
    assert f"the last good revision {good[:12]} does not verify" in status["goodRevisionError"]
    assert "signed by a key not in --allowed-signers" in status["goodRevisionError"]
    refused(third, unsigned)
    assert deployment.containers(service="app") == []


def test_a_key_file_that_cannot_be_read_stops_the_start_with_exit_78(
    deployment: Deployment, tmp_path: Path
) -> None:
    pusher = Pusher(tmp_path)
    pusher.commit(1, None)
    pusher.push()
    args = deployment.cli_args(
        pusher.bare, "--verify-commits", "--gpg-keyring", str(tmp_path / "missing.asc")
    )
    done = subprocess.run(
        [sys.executable, "-m", "syncd", "run", *args, "--listen", "127.0.0.1:1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 78, done.stderr
    assert f"--gpg-keyring {tmp_path / 'missing.asc'} cannot be read" in done.stderr
