"""What reaches git: option-looking locations, branches and revisions are refused, only the
documented transports are accepted, and URL credentials never reach a printed or logged line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from syncd import logs
from syncd.errors import SourceError
from syncd.source.gitargs import check_branch, check_location, check_revision
from syncd.source.repository import Repository
from tests.daemon_support import free_port
from tests.gitrepo import GitRepo


@pytest.mark.parametrize(
    ("location", "remote"),
    [
        ("/srv/deploy.git", False),
        ("deploy", False),
        ("./a:b", False),
        ("https://git.example.com/org/repo.git", True),
        ("https://deploy:t0ken@git.example.com/org/repo.git", True),
        ("ssh://git@git.example.com:2222/org/repo.git", True),
        ("git@github.com:org/repo.git", True),
        ("file:///srv/deploy.git", True),
        ("HTTPS://git.example.com/x", True),
    ],
)
def test_documented_locations_are_accepted(location: str, remote: bool) -> None:
    assert check_location(location) is remote


@pytest.mark.parametrize(
    ("location", "why"),
    [
        ("--upload-pack=touch /tmp/x;://x", "starts with '-'"),
        ("-oProxyCommand=x", "starts with '-'"),
        ("ext::sh -c touch% /tmp/x", "remote helpers"),
        ("fd::17", "remote helpers"),
        ("git::https://x/y", "remote helpers"),
        ("http://git.example.com/x", "http:// transport is not accepted"),
        ("git://git.example.com/x", "git:// transport is not accepted"),
        ("ftp://git.example.com/x", "ftp:// transport"),
        ("ssh://-oProxyCommand=touch%20x/y", "host or user starts with '-'"),
        ("ssh://-o@host/y", "host or user starts with '-'"),
        ("git@-oProxyCommand:x", "host or user starts with '-'"),
        ("https:///x", "names no host"),
        ("https://host:port/x", "not a valid URL"),
        ("weird scheme://x", "not a URL"),
        ("https://x/y\nz", "control characters"),
        ("", "empty"),
    ],
)
def test_options_helpers_and_undocumented_transports_are_refused(location: str, why: str) -> None:
    with pytest.raises(SourceError, match="is refused") as err:
        check_location(location)
    assert why in str(err.value)


def test_a_refused_url_never_shows_its_credentials() -> None:
    with pytest.raises(SourceError) as err:
        check_location("http://deploy:t0ken@git.example.com/x")
    assert "t0ken" not in str(err.value) and "<redacted>@git.example.com" in str(err.value)


@pytest.mark.parametrize("name", ["main", "release/1.x", "feature-a", "v1.2", "a@b"])
def test_branch_names_git_accepts_are_accepted(name: str) -> None:
    assert check_branch(name) == name


@pytest.mark.parametrize(
    "name",
    ["-x", "--upload-pack=x", "", "a..b", "a b", "a:b", "a~1", "a^", "a?", "a*", "a[", "a\\b",
     "/a", "a/", "a//b", ".a", "a/.b", "a.", "a.lock", "a.lock/b", "@", "a@{1}", "a\x01"],
)  # fmt: skip
def test_branch_names_git_refuses_or_reads_as_options_are_refused(name: str) -> None:
    with pytest.raises(SourceError, match="not a valid branch name"):
        check_branch(name)


@pytest.mark.parametrize("rev", ["-x", "--output=/tmp/x", "", "HEAD\n--all"])
def test_revisions_that_look_like_options_are_refused(rev: str) -> None:
    with pytest.raises(SourceError, match="not a revision"):
        check_revision(rev)


def run_daemon(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "syncd", "run", "--data-dir", str(tmp_path / "data"),
         "--listen", f"127.0.0.1:{free_port()}", *args],
        capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **(env or {})},
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def test_an_option_as_repository_is_refused_at_start_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for args, env in (
        ([f"--repo=--upload-pack=touch {marker};://x"], None),
        ([], {"SYNCD_REPO": f"ext::sh -c touch% {marker}"}),
    ):  # every other refused form: the table above
        code, out = run_daemon(tmp_path, *args, env=env)
        assert not marker.exists(), f"{args or env} ran a command"
        assert code == 78, out
        assert "is refused" in out and "Traceback" not in out, out


def test_an_option_as_branch_is_refused_at_start(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("one")
    code, out = run_daemon(tmp_path, "--repo", str(repo.path), "--branch=--upload-pack=x")
    assert code == 78 and "is not a valid branch name" in out, out


def test_a_remote_advertising_an_option_as_default_branch_is_refused(tmp_path: Path) -> None:
    work = GitRepo(tmp_path / "work")
    head = work.commit("one")
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work.path), str(bare)], check=True)
    subprocess.run(["git", "-C", str(bare), "update-ref", "refs/heads/-x", head], check=True)
    subprocess.run(["git", "-C", str(bare), "symbolic-ref", "HEAD", "refs/heads/-x"], check=True)
    with pytest.raises(SourceError, match="'-x' is not a valid branch name"):
        Repository(f"file://{bare}", tmp_path / "data")


def test_cli_revisions_that_look_like_options_are_refused(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("one")
    for command in (
        ["validate", "--rev=--output=x"],
        ["plan", "--base", "HEAD", "--head=--all"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "syncd", *command, "--repo", str(repo.path)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        assert "may not start with '-'" in done.stderr, done.stderr


def test_print_config_redacts_a_token_in_the_repository_url(tmp_path: Path) -> None:
    url = "https://deploy:t0ken-4711@git.example.com/org/deploy.git"
    done = subprocess.run(
        [sys.executable, "-m", "syncd", "run", "--repo", url, "--print-config"],
        capture_output=True, text=True, check=False, env={"HOME": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "t0ken-4711" not in done.stdout + done.stderr
    assert "https://<redacted>@git.example.com/org/deploy.git" in done.stdout


def test_no_log_line_holds_url_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("info", json=True)
    try:
        raise RuntimeError("fetch https://deploy:t0ken-4711@git.example.com/x failed")
    except RuntimeError:
        logs.get().exception(
            "sync_crashed",
            error="clone of ssh://me:pw-4711@host/x failed",
            problems=["https://a:b-4711@h/x", 1],
            count=1,
        )
    line = capsys.readouterr().err
    assert "4711" not in line, line
    event = json.loads(line)
    assert event["error"] == "clone of ssh://<redacted>@host/x failed"
    assert event["problems"] == ["https://<redacted>@h/x", 1] and event["count"] == 1
    assert "https://<redacted>@git.example.com/x" in event["exception"]
