"""`--verify-commits` in the source layer, against real git and real keys made here: SSH keys
(`ssh-keygen`) and OpenPGP keys (`gpg`), commits signed with them, and what is refused."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.cli.main import main
from syncd.errors import CommitRefused, ExitCode, SettingsUnusable, SourceError
from syncd.signers import CommitVerification, from_layers
from syncd.source.signatures import Verifier
from syncd.source.signed import Refusal, SignatureKind, judge
from tests.gitrepo import GitRepo
from tests.signing_support import GpgKey, SshKey, allowed_signers


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[SshKey, SshKey]:
    folder = tmp_path_factory.mktemp("keys")
    return SshKey(folder, "alice", "alice@example.com"), SshKey(folder, "mallory", "mallory")


@pytest.fixture(scope="module")
def gpg_key() -> Iterator[GpgKey]:
    key = GpgKey("Bob <bob@example.com>")
    yield key
    key.close()


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    repo.write("stack.yaml", "kind: Stack\n")
    return repo


def ssh_verifier(tmp_path: Path, *allowed: SshKey, range_: bool = False) -> Verifier:
    signers = allowed_signers(tmp_path / "allowed_signers", *allowed)
    settings = CommitVerification(True, allowed_signers=signers, range=range_)
    return Verifier(settings, tmp_path / "data")


def refusal(verifier: Verifier, repo: GitRepo, rev: str, since: str | None = None) -> CommitRefused:
    with pytest.raises(CommitRefused) as caught:
        verifier.verify(repo.path, rev, since)
    return caught.value


def test_a_commit_signed_by_an_allowed_ssh_key_verifies_with_its_signer(
    tmp_path: Path, repo: GitRepo, keys: tuple[SshKey, SshKey]
) -> None:
    alice, _ = keys
    sha = alice.commit(repo)
    verified = ssh_verifier(tmp_path, alice).verify(repo.path, "main")
    assert verified.revision == sha
    assert verified.signer.kind is SignatureKind.SSH
    assert verified.signer.fingerprint == alice.fingerprint
    assert verified.signer.principal == "alice@example.com"


def test_an_unsigned_commit_is_refused_naming_the_commit_its_author_and_why(
    tmp_path: Path, repo: GitRepo, keys: tuple[SshKey, SshKey]
) -> None:
    sha = repo.commit("unsigned")
    refused = refusal(ssh_verifier(tmp_path, keys[0]), repo, sha)
    assert refused.reason == Refusal.UNSIGNED
    assert str(refused) == f"commit {sha[:12]} by syncd tests: no signature"


def test_a_commit_signed_by_a_key_not_in_allowed_signers_is_refused_with_its_fingerprint(
    tmp_path: Path, repo: GitRepo, keys: tuple[SshKey, SshKey]
) -> None:
    alice, mallory = keys
    sha = mallory.commit(repo)
    refused = refusal(ssh_verifier(tmp_path, alice), repo, sha)
    assert refused.reason == Refusal.UNKNOWN_KEY
    assert f"signed by a key not in --allowed-signers ({mallory.fingerprint})" in str(refused)
    assert refused.commit == sha[:12]


def test_a_commit_changed_after_it_was_signed_is_refused_as_a_bad_signature(
    tmp_path: Path, repo: GitRepo, keys: tuple[SshKey, SshKey]
) -> None:
    alice, _ = keys
    signed = alice.commit(repo, "deploy v1")
    body = repo.git("cat-file", "commit", signed).replace("deploy v1", "deploy v2")
    forged = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=repo.path, input=body + "\n", capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    refused = refusal(ssh_verifier(tmp_path, alice), repo, forged)
    assert refused.reason == Refusal.BAD_SIGNATURE
    assert "bad signature" in str(refused)


def test_an_allowed_signer_outside_its_validity_window_is_refused(
    tmp_path: Path, repo: GitRepo, keys: tuple[SshKey, SshKey]
) -> None:
    alice, _ = keys
    sha = alice.commit(repo)
    signers = tmp_path / "allowed_signers"
    signers.write_text(f'alice@example.com valid-before="20200101" {alice.public}\n')
    verifier = Verifier(CommitVerification(True, allowed_signers=signers), tmp_path / "data")
    assert refusal(verifier, repo, sha).reason == Refusal.UNKNOWN_KEY


def test_range_mode_refuses_a_signed_head_over_an_unsigned_commit_naming_that_commit(
    tmp_path: Path, repo: GitRepo, keys: tuple[SshKey, SshKey]
) -> None:
    alice, _ = keys
    applied = alice.commit(repo, "applied")
    repo.write("stack.yaml", "kind: Stack\n# unsigned\n")
    unsigned = repo.commit("unsigned in between")
    head = alice.commit(repo, "signed head")
    # the head alone verifies
    assert ssh_verifier(tmp_path, alice).verify(repo.path, head, applied).revision == head
    ranged = ssh_verifier(tmp_path, alice, range_=True)
    refused = refusal(ranged, repo, head, applied)
    assert refused.commit == unsigned[:12] and refused.reason == Refusal.UNSIGNED
    assert f"2 commit(s) since {applied[:12]}" in str(refused)
    # signed all the way: verified, and the count says how many were checked
    clean = alice.commit(repo, "another")
    assert ranged.verify(repo.path, clean, head).commits == 1
    # the first apply (nothing applied before): the head alone
    first = ranged.verify(repo.path, head, None)
    assert first.since is None and first.commits == 1


def test_openpgp_a_key_in_the_keyring_verifies_and_one_that_is_not_is_refused(
    tmp_path: Path, repo: GitRepo, gpg_key: GpgKey
) -> None:
    sha = gpg_key.commit(repo)
    for armor in (True, False):  # armored or binary keyrings alike
        keyring = gpg_key.export(tmp_path / f"keyring-{armor}", armor=armor)
        verifier = Verifier(CommitVerification(True, gpg_keyring=keyring), tmp_path / "data")
        verified = verifier.verify(repo.path, sha)
        assert verified.signer.kind is SignatureKind.OPENPGP
        assert verified.signer.fingerprint == gpg_key.fingerprint
        assert verified.signer.principal == "Bob <bob@example.com>"
        home = verifier.gnupg_home()
        assert home.stat().st_mode & 0o777 == 0o700 and home.parent.name == "gnupg"
    other = GpgKey("Eve <eve@example.com>")
    try:
        keyring = other.export(tmp_path / "other.asc")
        verifier = Verifier(CommitVerification(True, gpg_keyring=keyring), tmp_path / "data")
        refused = refusal(verifier, repo, sha)
    finally:
        other.close()
    assert refused.reason == Refusal.UNKNOWN_KEY
    assert "not in --gpg-keyring" in str(refused)
    # one home per keyring content: the old ones are removed
    assert len(list((tmp_path / "data" / "gnupg").iterdir())) == 1


def test_openpgp_a_revoked_key_is_refused_and_ssh_keys_do_not_count_for_the_keyring(
    tmp_path: Path, repo: GitRepo, keys: tuple[SshKey, SshKey]
) -> None:
    key = GpgKey("Carol <carol@example.com>")
    try:
        sha = key.commit(repo)
        key.revoke()
        keyring = key.export(tmp_path / "revoked.asc")
    finally:
        key.close()
    verifier = Verifier(CommitVerification(True, gpg_keyring=keyring), tmp_path / "data")
    assert refusal(verifier, repo, sha).reason == Refusal.REVOKED
    ssh_signed = keys[0].commit(repo)  # no --allowed-signers: an SSH key is unknown
    assert refusal(verifier, repo, ssh_signed).reason == Refusal.UNKNOWN_KEY


def test_the_users_own_gnupg_home_and_git_config_do_not_decide(
    tmp_path: Path,
    repo: GitRepo,
    keys: tuple[SshKey, SshKey],
    gpg_key: GpgKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sha = gpg_key.commit(repo)
    alice, mallory = keys
    mallory_sha = mallory.commit(repo)
    # the user's GnuPG home holds Bob's key; their global git config allows Mallory
    monkeypatch.setenv("GNUPGHOME", str(gpg_key.home))
    home = tmp_path / "home"
    home.mkdir()
    allowed_signers(home / "signers", mallory)
    (home / ".gitconfig").write_text(f'[gpg "ssh"]\n\tallowedSignersFile = {home / "signers"}\n')
    monkeypatch.setenv("HOME", str(home))
    # plain git, as the user runs it, would take both
    assert repo.git("log", "-1", "--format=%G?", mallory_sha) == "G"
    assert repo.git("log", "-1", "--format=%G?", sha) in ("G", "U")
    verifier = ssh_verifier(tmp_path, alice)
    assert refusal(verifier, repo, sha).reason == Refusal.UNKNOWN_KEY
    assert refusal(verifier, repo, mallory_sha).reason == Refusal.UNKNOWN_KEY


def test_hostile_revisions_and_key_file_names_starting_with_a_dash(
    tmp_path: Path, repo: GitRepo, keys: tuple[SshKey, SshKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, _ = keys
    sha = alice.commit(repo)
    verifier = ssh_verifier(tmp_path, alice)
    marker = tmp_path / "written"
    for rev in (f"--output={marker}", "-h", "--all"):
        with pytest.raises(SourceError, match="may not start with '-'"):
            verifier.verify(repo.path, rev)
    assert not marker.exists()
    with pytest.raises(SourceError, match="is not a commit"):
        verifier.verify(repo.path, "no-such-branch")
    # a key file whose name starts with '-' is a file (given to git as a config value)
    monkeypatch.chdir(tmp_path)
    allowed_signers(tmp_path / "-signers", alice)
    values = {"verify_commits": "true", "allowed_signers": "-signers"}
    settings = from_layers(values.get)
    assert settings.allowed_signers == tmp_path / "-signers"
    assert Verifier(settings, tmp_path / "data").verify(repo.path, sha).revision == sha


def test_settings_without_a_key_source_or_keys_without_the_flag_are_refused(
    tmp_path: Path,
) -> None:
    with pytest.raises(SettingsUnusable, match="needs the keys"):
        CommitVerification(True)
    with pytest.raises(SettingsUnusable, match="only with --verify-commits"):
        CommitVerification(False, range=True)
    with pytest.raises(SettingsUnusable, match="cannot be read"):
        Verifier(CommitVerification(True, gpg_keyring=tmp_path / "missing"), tmp_path)


def test_apply_refuses_at_start_without_keys_and_refuses_an_unsigned_revision(
    tmp_path: Path, repo: GitRepo, keys: tuple[SshKey, SshKey], capsys: pytest.CaptureFixture[str]
) -> None:
    sha = repo.commit("unsigned")
    common = ["apply", "--repo", str(repo.path), "--data-dir", str(tmp_path / "d"), "--rev", sha]
    assert main([*common, "--verify-commits"]) == ExitCode.CONFIG
    assert "needs the keys" in capsys.readouterr().err
    signers = allowed_signers(tmp_path / "signers", keys[0])
    assert main([*common, "--verify-commits", "--allowed-signers", str(signers)]) == ExitCode.ERROR
    assert f"commit {sha[:12]} by syncd tests: no signature" in capsys.readouterr().err
    assert not (tmp_path / "d" / "state-default.sqlite").exists()  # nothing applied


SHA = "a" * 40
SSH_FP = "SHA256:ZEY/mxs8S18uPHbO3sl9ND1IBwyE/rABkbckxBk0grU"


@pytest.mark.parametrize(
    ("code", "key", "signer", "expected"),
    [
        ("G", SSH_FP, "alice", None),
        ("G", SSH_FP, "", Refusal.UNKNOWN_KEY),  # good, but no principal matched: not allowed
        ("U", SSH_FP, "", Refusal.UNKNOWN_KEY),
        ("E", "CB668687AA04FE97", "", Refusal.UNKNOWN_KEY),
        ("E", "", "", Refusal.UNVERIFIABLE),
        ("N", "", "", Refusal.UNSIGNED),
        ("B", SSH_FP, "alice", Refusal.BAD_SIGNATURE),
        ("X", "CB668687AA04FE97", "Bob", Refusal.EXPIRED),
        ("Y", "CB668687AA04FE97", "Bob", Refusal.EXPIRED),
        ("R", "CB668687AA04FE97", "Bob", Refusal.REVOKED),
        ("?", "", "", Refusal.UNVERIFIABLE),
    ],
)
def test_only_a_good_signature_with_a_named_signer_counts(
    code: str, key: str, signer: str, expected: Refusal | None
) -> None:
    check = judge(f"{SHA}\x00{code}\x00{key}\x00{key}\x00{signer}\x00Al\x1b[31mice\nx")
    assert check is not None
    assert check.refusal == expected
    assert (check.signer is None) == (expected is not None)
    assert "\x1b" not in check.message and check.message.startswith(f"commit {SHA[:12]} by Al")


def test_a_line_that_is_not_the_format_is_not_judged() -> None:
    assert judge("") is None
    assert judge(f"{SHA}\x00G\x00k\x00k\x00alice") is None  # a field short
    assert judge("notasha\x00G\x00k\x00k\x00alice\x00Alice") is None
