"""`syncd comment`: one sticky pull-request comment per key, created once and then updated, on a
fake GitHub, Gitea and GitLab over real HTTP on 127.0.0.1 (tests/githost.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd import taint
from syncd.cli import githost
from syncd.cli.main import main
from tests.githost import FakeGitHost

TOKEN = "tok-3f9a1c7e5b2d"
ROOT = Path(__file__).resolve().parent.parent
CI_VARIABLES = (
    "GITHUB_TOKEN",
    "GITEA_TOKEN",
    "GITLAB_TOKEN",
    "CI_JOB_TOKEN",
    "GITHUB_API_URL",
    "GITHUB_SERVER_URL",
    "GITHUB_REPOSITORY",
    "GITHUB_REF",
    "CI_API_V4_URL",
    "CI_SERVER_URL",
    "CI_PROJECT_ID",
    "CI_MERGE_REQUEST_IID",
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
)
# provider -> (the API's base below the host, the repository as the CI names it, its comments)
PROVIDERS = {
    "github": ("", "acme/deploy", "acme/deploy"),
    "gitea": ("/api/v1", "acme/deploy", "acme/deploy"),
    "gitlab": ("/api/v4", "42", "42"),
}


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield
    taint.forget_all()


@pytest.fixture
def host() -> Iterator[FakeGitHost]:
    with FakeGitHost(users={TOKEN: "deploy-bot"}) as fake:
        yield fake


def ci_environment(provider: str, host: FakeGitHost, number: int = 7) -> dict[str, str]:
    """The variables the provider's CI sets in a pull request job (and the token)."""
    base, repo, _ = PROVIDERS[provider]
    if provider == "gitlab":
        return {
            "CI_API_V4_URL": host.url + base,
            "CI_PROJECT_ID": repo,
            "CI_MERGE_REQUEST_IID": str(number),
            "GITLAB_TOKEN": TOKEN,
        }
    token = "GITHUB_TOKEN" if provider == "github" else "GITEA_TOKEN"
    return {
        "GITHUB_API_URL": host.url + base,
        "GITHUB_REPOSITORY": repo,
        "GITHUB_REF": f"refs/pull/{number}/merge",
        token: TOKEN,
    }


def post(
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    provider: str,
    text: str,
    tmp_path: Path,
    *extra: str,
) -> int:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    plan = tmp_path / "plan.md"
    plan.write_text(text)
    return main(["comment", "--provider", provider, "--file", str(plan), *extra])


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_the_comment_is_created_once_then_updated(
    provider: str,
    host: FakeGitHost,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = PROVIDERS[provider][2]
    host.add_comment(provider, repo, 7, "LGTM", "alice")
    env = ci_environment(provider, host)
    assert post(monkeypatch, env, provider, "## Plan\n~ image 1.36 -> 1.37\n", tmp_path) == 0
    assert post(monkeypatch, env, provider, "## Plan\n~ image 1.36 -> 1.38\n", tmp_path) == 0
    ours = [c for c in host.comments if c["author"] == "deploy-bot"]
    assert len(ours) == 1
    assert ours[0]["body"] == "<!-- syncd:plan -->\n## Plan\n~ image 1.36 -> 1.38\n"
    assert (ours[0]["repo"], ours[0]["number"]) == (repo, 7)
    assert [c["body"] for c in host.comments if c["author"] == "alice"] == ["LGTM"]
    writes = [r.method for r in host.requests if r.method != "GET"]
    assert writes == ["POST", "PUT" if provider == "gitlab" else "PATCH"]
    out = capsys.readouterr().out
    assert f"comment {ours[0]['id']} created" in out and f"comment {ours[0]['id']} updated" in out
    assert TOKEN not in out


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_a_marker_planted_by_someone_else_is_never_taken_over(
    provider: str, host: FakeGitHost, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Whoever may comment could plant the marker, get the plan written into their comment,
    then edit what reviewers read: only the token's own comments are updated."""
    repo = PROVIDERS[provider][2]
    planted = host.add_comment(provider, repo, 7, "<!-- syncd:plan -->\nall fine", "mallory")
    env = ci_environment(provider, host)
    assert post(monkeypatch, env, provider, "real plan", tmp_path) == 0
    assert post(monkeypatch, env, provider, "real plan, again", tmp_path) == 0
    assert planted["body"] == "<!-- syncd:plan -->\nall fine"
    [ours] = [c for c in host.comments if c["author"] == "deploy-bot"]
    assert ours["body"].endswith("real plan, again\n")


def test_a_ci_token_that_may_not_ask_who_it_is_updates_the_ci_bots_comment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with FakeGitHost(ci_tokens={TOKEN: "github-actions[bot]"}) as host:
        env = ci_environment("github", host)
        assert post(monkeypatch, env, "github", "first", tmp_path) == 0
        assert post(monkeypatch, env, "github", "second", tmp_path) == 0
        [ours] = host.comments
        assert ours["author"] == "github-actions[bot]" and ours["body"].endswith("second\n")
        assert any(r.path == "/user" for r in host.requests)  # it asked, was refused, went on


def test_comments_beyond_the_first_page_are_found(
    host: FakeGitHost, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for index in range(230):
        host.add_comment("github", "acme/deploy", 7, f"comment {index}", "alice")
    env = ci_environment("github", host)
    assert post(monkeypatch, env, "github", "first", tmp_path) == 0
    assert post(monkeypatch, env, "github", "second", tmp_path) == 0
    assert [c["body"] for c in host.comments if c["author"] == "deploy-bot"] == [
        "<!-- syncd:plan -->\nsecond\n"
    ]
    pages = [r.query.get("page") for r in host.requests if r.method == "GET" and "issues" in r.path]
    assert pages[-3:] == ["1", "2", "3"]


def test_one_sticky_comment_per_key(
    host: FakeGitHost, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = ci_environment("gitea", host)
    for key, text in (("staging", "a"), ("production", "b"), ("staging", "c")):
        assert post(monkeypatch, env, "gitea", text, tmp_path, "--key", key) == 0
    assert sorted(c["body"] for c in host.comments) == [
        "<!-- syncd:production -->\nb\n",
        "<!-- syncd:staging -->\nc\n",
    ]
    assert post(monkeypatch, env, "gitea", "x", tmp_path, "--key", "a b -->") == 78


def test_a_long_plan_is_cut_to_the_hosts_limit_with_a_note(
    host: FakeGitHost, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    services = "".join(f"~ /services/s{i}/image: busybox:1.36 -> 1.37\n" for i in range(6000))
    text = f"## Plan\n<details><summary>shop</summary>\n\n```diff\n{services}```\n</details>\n"
    assert len(text) > 200_000
    env = ci_environment("github", host)
    assert post(monkeypatch, env, "github", text, tmp_path) == 0  # GitHub refuses > 65536
    [ours] = host.comments
    body = ours["body"]
    assert 60_000 < len(body) <= 65_536
    assert "**Cut short:**" in body and f"of {len(text)} characters" in body
    head = body[: body.index("\n---\n**Cut short")]
    assert head.count("```") % 2 == 0 and head.count("<details>") == head.count("</details>")


def test_the_token_goes_to_no_other_host_on_a_redirect(
    host: FakeGitHost, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with FakeGitHost(redirect_to=host.url) as moved:
        env = ci_environment("github", moved)
        done = _run_cli(env, tmp_path, "github")
    assert done.returncode == 1
    assert "redirect (307) to 127.0.0.1; syncd does not follow it" in done.stderr
    assert host.requests == [] and len(moved.requests) == 1
    assert TOKEN not in done.stdout + done.stderr


def _run_cli(
    env: dict[str, str], tmp_path: Path, provider: str
) -> subprocess.CompletedProcess[str]:
    plan = tmp_path / "plan.md"
    plan.write_text("plan")
    clean = {k: v for k, v in os.environ.items() if k not in CI_VARIABLES}
    command = [sys.executable, "-m", "syncd", "--log-level", "debug", "comment"]
    return subprocess.run(
        [*command, "--provider", provider, "--file", str(plan)],
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_a_host_echoing_the_token_in_an_error_never_gets_it_printed(
    host: FakeGitHost, tmp_path: Path
) -> None:
    host.fail_next = (500, {"message": f"internal error, header was 'Bearer {TOKEN}'"})
    done = _run_cli(ci_environment("github", host), tmp_path, "github")
    assert done.returncode == 1
    assert "answered 500 to GET /user: internal error" in done.stderr
    assert "<redacted>" in done.stderr and TOKEN not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"GITHUB_TOKEN": ""}, 78, "no token: set GITHUB_TOKEN"),
        ({"GITHUB_TOKEN": "wrong"}, 1, "answered 401 to GET /repos/acme/deploy/issues/7/comments"),
        ({"GITHUB_REPOSITORY": "acme/../x"}, 78, "is not OWNER/NAME"),
        ({"GITHUB_REPOSITORY": "./deploy"}, 78, "is not OWNER/NAME"),
        ({"GITHUB_REF": "refs/heads/main"}, 78, "no pull request: give --pr N"),
        ({"GITHUB_API_URL": "http://user:pw@127.0.0.1:1"}, 78, "holds a user or password"),
        ({"GITHUB_API_URL": "ftp://127.0.0.1/"}, 78, "must be https://"),
        ({"GITHUB_API_URL": "http://127.0.0.1:9"}, 69, "cannot reach github at"),
    ],
)
def test_clear_errors_and_exit_codes(  # noqa: PLR0917 - fixtures and parameters
    host: FakeGitHost,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, str],
    code: int,
    message: str,
) -> None:
    env = ci_environment("github", host) | change
    assert post(monkeypatch, env, "github", "plan", tmp_path) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert TOKEN not in err and "pw@" not in err
    assert not host.comments


def test_gitlab_job_token_alone_says_what_to_set(
    host: FakeGitHost,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = ci_environment("gitlab", host) | {"GITLAB_TOKEN": "", "CI_JOB_TOKEN": "job"}
    assert post(monkeypatch, env, "gitlab", "plan", tmp_path) == 78
    assert "set it as the masked CI/CD variable GITLAB_TOKEN" in capsys.readouterr().err
    assert host.requests == []


def test_flags_override_the_ci_variables(
    host: FakeGitHost, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    plan = tmp_path / "plan.md"
    plan.write_text("plan")
    args = ["--api-url", host.url + "/api/v4", "--repo-slug", "ops/infra/deploy", "--pr", "3"]
    assert main(["comment", "--provider", "gitlab", "--file", str(plan), *args]) == 0
    [ours] = host.comments
    assert (ours["repo"], ours["number"]) == ("ops/infra/deploy", 3)
    assert host.requests[-1].path == "/api/v4/projects/ops%2Finfra%2Fdeploy/merge_requests/3/notes"
    assert (
        main(["comment", "--provider", "gitlab", "--file", str(plan), *args[:4], "--pr", "0"]) == 78
    )


def test_an_empty_or_missing_file_is_refused(
    host: FakeGitHost,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = ci_environment("github", host)
    assert post(monkeypatch, env, "github", " \n", tmp_path) == 78
    assert main(["comment", "--provider", "github", "--file", str(tmp_path / "none.md")]) == 78
    err = capsys.readouterr().err
    assert "plan.md is empty: nothing to post" in err and "none.md: No such file" in err
    assert host.requests == []


@pytest.fixture
def drip() -> Iterator[str]:
    """A host that answers 200 and then one byte every 50 ms, for ever."""
    stop = threading.Event()
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n[")
                while not stop.wait(0.05):
                    try:
                        conn.sendall(b" ")
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    server.close()


def test_a_host_answering_a_byte_at_a_time_cannot_hold_the_job(
    drip: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(githost, "DEADLINE", 1.0)
    env = {"GITHUB_API_URL": drip, "GITHUB_REPOSITORY": "a/b", "GITHUB_TOKEN": TOKEN}
    assert post(monkeypatch, env, "github", "plan", tmp_path, "--pr", "1") == 69
    assert "took over 1 s for syncd's requests; gave up at GET /user" in capsys.readouterr().err


def test_an_answer_over_the_bound_is_refused(
    host: FakeGitHost,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(githost, "MAX_ANSWER_BYTES", 4096)
    for index in range(60):
        host.add_comment("github", "acme/deploy", 7, f"comment {index} " * 10, "alice")
    assert post(monkeypatch, ci_environment("github", host), "github", "plan", tmp_path) == 1
    assert "answered GET /repos/acme/deploy/issues/7/comments with over 4096 bytes" in (
        capsys.readouterr().err
    )
    assert not [c for c in host.comments if c["author"] == "deploy-bot"]


class _NoNetwork:
    def open(self, *args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("not sent: this test touches no network")


def test_plain_http_to_another_host_is_warned_about(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(githost, "_opener", _NoNetwork)
    for url, plain in (
        ("http://gitea.example:3000/api/v1", True),
        ("http://10.0.0.5/api/v1", True),
        ("https://gitea.example/api/v1", False),
        ("http://127.0.0.2:3000/api/v1", False),
        ("http://[::1]:3000/api/v1", False),
        ("http://localhost:3000/api/v1", False),
    ):
        client = githost.GitHostClient(githost.Provider.GITEA, url, TOKEN, "GITEA_TOKEN")
        assert client.plain_http is plain, url
    env = {"GITHUB_API_URL": "http://gitea.example:3000/api/v1", "GITHUB_REPOSITORY": "a/b"}
    env["GITEA_TOKEN"] = TOKEN
    assert post(monkeypatch, env, "gitea", "plan", tmp_path, "--pr", "1") == 69
    err = capsys.readouterr().err
    assert "gitea.example:3000 is plain http: the token is sent unencrypted" in err
    assert "not sent: this test touches no network" in err
