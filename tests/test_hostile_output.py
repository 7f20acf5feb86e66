"""What a pusher or a git host writes never acts on the terminal or the CI log that shows it: a
file name, key or value holding a newline (a forged `::error` workflow command line), ESC (a
terminal sequence) or a bidi override is printed escaped, one problem per line, and a file so
named is refused with a located error. Real git repositories in a temporary folder, the real
CLI, and a fake git host over real HTTP on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.cli.comment import compose, marker
from syncd.cli.main import main
from syncd.problems import Position, Problem
from tests.githost import FakeGitHost
from tests.gitrepo import GitRepo

# a newline forging a workflow command, a terminal escape (clear screen), a bidi override
HOSTILE = "a\n::error file=README.md,line=1::forged\x1b[2J\u202e"
STACK = "kind: Stack\nproject: shop\nservices:\n  web:\n    image: busybox:1.36\n"
UNSAFE = ("\x1b", "\u202e", "\x9b", "\r")


def _repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    repo.write("stacks/ok.yaml", STACK)
    repo.write(f"stacks/{HOSTILE}.yaml", "kind: Nope\n")
    repo.write(  # a key with ESC and a newline, and a value the model refuses
        "stacks/values.yaml",
        STACK.replace("shop", "blog")
        + '    environment:\n      "K\\e[31m\\n::warning::x": "v"\n    user: [12]\n',
    )
    repo.commit("files a pusher named")
    return repo


def _lines(text: str) -> list[str]:
    return text.splitlines()


@pytest.mark.parametrize("fmt", ["text", "github"])
def test_a_hostile_file_name_is_refused_and_printed_escaped_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    repo = _repo(tmp_path)

    code = main(["validate", "--repo", str(repo.path), "--rev", "HEAD", "--format", fmt])

    out = capsys.readouterr().out
    assert code == 1
    assert not any(c in out for c in UNSAFE)
    lines = _lines(out)
    named = [line for line in lines if "forged" in line]
    assert len(named) == 1, lines  # the name stays on its line: no second, forged line
    assert "holds control or invisible characters; rename it" in named[0]
    assert "a\\n::error file=README.md" in named[0] or "a\\n%3A%3Aerror" in named[0]
    assert "\\x1b[2J\\u202e" in named[0]
    if fmt == "github":  # every line is one of syncd's own commands, then the summary
        assert all(line.startswith(("::error file=", "::warning file=")) for line in lines[:-1])


def test_a_hostile_key_is_printed_escaped_when_the_revision_fails_a_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path)
    repo.write("stacks/x.yaml", STACK.replace("shop", "x"))
    base = repo.commit("base")

    code = main(["plan", "--repo", str(repo.path), "--base", base, "--head", "HEAD~1"])

    err = capsys.readouterr().err
    assert code == 1
    assert not any(c in err for c in UNSAFE)
    assert not any(line.startswith("::") for line in _lines(err))


def test_a_problem_is_one_printable_line() -> None:
    problem = Problem("x\ny.yaml", "bad \x9b2J value\u2028next", "/environment/K\x1b", Position(3))
    assert str(problem) == "x\\ny.yaml:3:0: /environment/K\\x1b: bad \\x9b2J value\\u2028next"


def test_a_git_host_message_with_terminal_controls_is_printed_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    token = "tok-8c1d2e3f4a5b"
    with FakeGitHost(users={token: "deploy-bot"}) as host:
        host.fail_next = (422, {"message": "refused \x9b2J\x1b]0;owned\x07 \u202eexe.txt"})
        for name, value in {
            "GITHUB_API_URL": host.url,
            "GITHUB_REPOSITORY": "acme/deploy",
            "GITHUB_REF": "refs/pull/7/merge",
            "GITHUB_TOKEN": token,
        }.items():
            monkeypatch.setenv(name, value)
        plan = tmp_path / "plan.md"
        plan.write_text("a plan\n")
        code = main(["comment", "--provider", "github", "--file", str(plan)])

    captured = capsys.readouterr()
    assert code == 1
    assert "answered 422" in captured.err
    assert "refused \\x9b2J" in captured.err and "\\u202eexe.txt" in captured.err
    assert not any(c in captured.err + captured.out for c in (*UNSAFE, "\x07"))


def test_a_cut_plan_closes_the_fence_it_is_in_and_only_the_details_really_open() -> None:
    # a plan's values may hold ``` and </details>: the renderer then fences with more backticks
    values = "".join(f'~ /environment/V{i}: "```\\n</details>\\n<details>"\n' for i in range(400))
    lines = "\n".join(["```", "</details>", "<details><summary>x</summary>"] * 300)
    text = (
        "## Plan\n<details><summary>shop/web</summary>\n\n"
        f"````diff\n{values}{lines}\n````\n</details>\n"
    )
    body = compose(text, marker("plan"), limit=20_000)

    assert len(body) <= 20_000
    head, note = body.split("\n\n---\n**Cut short:**")
    # closed with the fence's own four backticks, then the one <details> opened outside it
    assert head.endswith("\n````\n</details>\n")
    assert not head.endswith("\n````\n</details>\n</details>\n")
    assert "of " in note


def test_a_cut_plan_with_a_long_fence_still_fits_the_limit() -> None:
    fence = "`" * 3000
    text = f"<details>\n\n{fence}diff\n" + "+ x\n" * 20_000 + f"{fence}\n</details>\n"
    body = compose(text, marker("plan"), limit=20_000)
    assert len(body) <= 20_000
    assert body.split("\n\n---\n**Cut short:**")[0].endswith(f"\n{fence}\n</details>\n")
