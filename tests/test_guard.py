"""The removal guards without Docker: the source's identity (real git repos), the share
setting, and the daemon's refusals (its own objects on a fake engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.apply.ownership import parse_share
from syncd.apply.store import Store
from syncd.cli.main import main
from syncd.errors import SyncdError
from syncd.source.identity import SourceIdentity, identify
from tests.fake_engine import FakeEngine
from tests.gitrepo import GitRepo
from tests.test_readme_claims import SHOP, InProcess

THREE = "kind: Stack\nproject: shop\nservices:\n" + "".join(
    f"  {name}: {{image: 'busybox:1.36'}}\n" for name in ("a", "b", "c")
)
ONE = "kind: Stack\nproject: shop\nservices:\n  a: {image: 'busybox:1.36'}\n"


def test_a_clone_and_its_origin_are_one_source_without_the_token(tmp_path: Path) -> None:
    origin = GitRepo(tmp_path / "origin")
    origin.write("s.yaml", ONE)
    origin.commit()
    clone = tmp_path / "clone"
    origin.git("clone", "-q", str(origin.path), str(clone))
    assert identify(str(clone), []) == identify(str(origin.path), [], branch="main")
    # a subfolder reads the paths below it: the same source as the top with --path sub
    (clone / "sub").mkdir()
    assert identify(str(clone / "sub"), []).paths == ("sub",)
    assert identify(str(clone / "sub"), []) == identify(str(clone), ["sub/"])
    GitRepo(clone).git("remote", "set-url", "origin", "https://bot:s3cret-token@git.example/x.git")
    found = identify(str(clone), [])
    assert found.repo == "https://git.example/x.git" and found.branch == "main"
    assert "s3cret" not in found.to_json() and "s3cret" not in str(found)
    remote = identify("https://u:s3cret-token@git.example/x.git", ["apps"], branch="main")
    assert remote.repo == found.repo and remote.paths == ("apps",)
    # another repository, another branch, other paths: other sources
    other = GitRepo(tmp_path / "other")
    assert identify(str(other.path), []) != identify(str(origin.path), [])
    assert identify(str(origin.path), [], branch="dev") != identify(str(origin.path), [])
    main_ = identify(str(origin.path), [])
    assert not identify(str(origin.path), [], branch="dev").same_as(main_)
    origin.git("checkout", "-q", "--detach")  # CI's detached checkout claims no other branch
    detached = identify(str(origin.path), [])
    assert detached.branch is None and detached.same_as(main_) and main_.same_as(detached)
    assert not identify(str(other.path), []).same_as(main_)
    assert identify(str(origin.path), ["a"]) != identify(str(origin.path), [])


def test_a_broken_record_reads_as_no_record() -> None:
    for text in ("", "[]", '{"repo": 1}', '{"repo": "x", "branch": null, "paths": [2]}', "{"):
        assert SourceIdentity.from_json(text) is None
    kept = SourceIdentity("/r", "main", ("",))
    assert SourceIdentity.from_json(kept.to_json()) == kept


@pytest.mark.parametrize(
    ("text", "share"), [("50", 0.5), ("50%", 0.5), ("0.25", 0.25), ("100", 1.0), ("0", 0.0)]
)
def test_the_share_is_a_percentage_or_a_fraction(text: str, share: float) -> None:
    assert parse_share(text) == share


@pytest.mark.parametrize("text", ["x", "-1", "101", "150%", "nan"])
def test_a_share_out_of_range_is_a_clear_error(text: str) -> None:
    with pytest.raises(SyncdError, match="max-removal-share"):
        parse_share(text)


def test_syncd_run_reads_the_guard_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ["run", "--repo", str(tmp_path), "--data-dir", str(tmp_path), "--print-config"]
    monkeypatch.setenv("SYNCD_MAX_REMOVAL_SHARE", "20%")
    assert main([*base, "--allow-mass-removal", "--adopt"]) == 0
    rows = {r.split()[0]: " ".join(r.split()[1:]) for r in capsys.readouterr().out.splitlines()}
    assert rows["max-removal-share"] == "0.2 (env)"
    assert rows["adopt"] == "True (flag)"
    assert rows["allow-empty"] == "True (flag)"  # --allow-mass-removal: one setting
    monkeypatch.setenv("SYNCD_MAX_REMOVAL_SHARE", "lots")
    assert main(base) == 78  # an unusable setting of `run` (ExitCode.CONFIG)
    assert "max-removal-share 'lots'" in capsys.readouterr().err


def test_the_daemon_refuses_a_mass_removal_unless_allowed(tmp_path: Path) -> None:
    for allow, kept in ((False, True), (True, False)):
        made = InProcess(
            tmp_path / str(allow),
            THREE,
            FakeEngine(instance="claims").have("busybox:1.36"),
            allow_empty=allow,
        )
        try:
            made.sync()
            assert made.engine.of(SHOP.service("c"))
            made.repo.write("stack.yaml", ONE)  # b and c go: 2 of 3
            made.repo.commit("remove two")
            made.sync()
            assert bool(made.engine.of(SHOP.service("c"))) is kept
            assert made.engine.of(SHOP.service("a"))
            error = made.daemon.status.as_dict()["lastError"]
            if kept:
                assert error is not None and error["stage"] == "plan"
                assert "remove 2 of the instance's 3 services" in error["message"]
                assert "--allow-mass-removal" in error["message"]
            else:
                assert made.daemon.status.good_revision == made.repo.git("rev-parse", "HEAD")
        finally:
            made.close()


def test_the_daemon_refuses_to_prune_another_sources_instance(tmp_path: Path) -> None:
    made = InProcess(tmp_path, THREE, FakeEngine(instance="claims").have("busybox:1.36"))
    try:
        store = Store(made.daemon.settings.state_file)
        store.set_meta("source", SourceIdentity("/srv/other-repo", "main", ("",)).to_json())
        store.close()
        made.sync()  # another source, adding only: allowed, the binding stays
        assert made.engine.of(SHOP.service("c"))
        made.repo.write("stack.yaml", THREE.replace("  c: {image: 'busybox:1.36'}\n", ""))
        made.repo.commit("remove c")
        made.sync()
        assert made.engine.of(SHOP.service("c"))  # nothing removed
        error = made.daemon.status.as_dict()["lastError"]
        assert error is not None and error["stage"] == "plan"
        assert "belongs to /srv/other-repo (branch main)" in error["message"]
        assert "--adopt" in error["message"]
    finally:
        made.close()
