"""The pipelines in `ci/`, run as their CI would run them: the YAML is read, the shell steps
(`run:`, GitLab's `script:`) run with bash and the variables the CI sets, in a workspace checked
out the way the CI checks out (shallow, one ref) from a real git repository, against the fake git
host of tests/githost.py. Only the steps that install tools are skipped (syncd is this tree)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.ci_support import CI, TOKEN, run_actions, run_gitlab, shell_env
from tests.githost import FakeGitHost
from tests.gitrepo import GitRepo

# a production variable the CI does not have: validate and plan read it as an unknown value
STACK = (
    "kind: Stack\nproject: blog\nservices:\n  app:\n    image: 'busybox:%s'\n"
    "    environment: {TOKEN: '${BLOG_API_TOKEN}'}\n"
)
SHOP = "kind: Stack\nproject: shop\nservices:\n  web: {image: 'busybox:1.36'}\n"
BROKEN = "kind: Stack\nproject: blog\nservices:\n  app:\n    image: busybox:1.36\n    ports: [x]\n"
PR = 7


class PullRequest:
    """A repository with `main` and a pull request's branch, with the refs a git host keeps for
    it (`refs/pull/N/head`, `refs/pull/N/merge`)."""

    def __init__(self, path: Path) -> None:
        self.origin = GitRepo(path)
        self.origin.write("deploy/blog/stack.yaml", STACK % "1.36")
        self.origin.write("README.md", "deploy\n")
        self.origin.commit("base")
        self.origin.git("branch", "feature")
        self.origin.write("deploy/shop/stack.yaml", SHOP)  # the base moves on meanwhile
        self.origin.commit("a shop on main")

    @property
    def merge_base(self) -> str:
        return self.origin.git("merge-base", "main", "feature")

    def push(self, stack: str) -> str:
        """A commit on the branch, and the host's refs moved: the merge commit's id."""
        origin = self.origin
        origin.git("checkout", "-q", "feature")
        origin.write("deploy/blog/stack.yaml", stack)
        head = origin.commit("change")
        origin.git("checkout", "-q", "--detach", "main")
        origin.git("merge", "-q", "--no-ff", "-m", "merge", "feature")
        merge = origin.git("rev-parse", "HEAD")
        origin.git("update-ref", f"refs/pull/{PR}/head", head)
        origin.git("update-ref", f"refs/pull/{PR}/merge", merge)
        origin.git("checkout", "-q", "main")
        return merge

    def checkout(self, workspace: Path, ref: str, depth: int) -> None:
        """What actions/checkout (or the GitLab runner) does: one ref, `depth` commits."""
        url = f"file://{self.origin.path}"
        sha = self.origin.git("rev-parse", ref)
        spec = f"+{sha}:refs/ci/checkout"
        for args in (
            ["init", "-q", str(workspace)],
            ["-C", str(workspace), "remote", "add", "origin", url],
            ["-C", str(workspace), "fetch", "-q", "--no-tags", f"--depth={depth}", "origin", spec],
            ["-C", str(workspace), "checkout", "-q", "--force", "refs/ci/checkout"],
        ):
            subprocess.run(["git", *args], check=True, capture_output=True)


# -- the three pipelines, three pushes each ------------------------------------------------------


def _github_like(
    provider: str, host: FakeGitHost, sha: str, ws: Path, merge_base: str
) -> tuple[dict[str, str], dict[str, str]]:
    api = host.url + ("/api/v1" if provider == "gitea" else "")
    ci = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_API_URL": api,
        "GITHUB_SERVER_URL": host.url,
        "GITHUB_REPOSITORY": "acme/deploy",
        "GITHUB_REF": f"refs/pull/{PR}/{'merge' if provider == 'github' else 'head'}",
        "GITHUB_SHA": sha,
        "GITHUB_BASE_REF": "main",
        "GITHUB_HEAD_REF": "feature",
        "GITHUB_WORKSPACE": str(ws),
    }
    context = {
        "vars.SYNCD_API": "",
        "secrets.SYNCD_READ_TOKEN": "",
        "github.base_ref": "main",
        "github.event.pull_request.number": str(PR),
        "secrets.GITHUB_TOKEN": TOKEN,
    }
    if provider == "gitea":  # Gitea's pull request payload names it; GitHub's does not
        context["github.event.pull_request.merge_base"] = merge_base
    return ci, context


def _gitlab_ci(host: FakeGitHost, head: str, ws: Path, merge_base: str) -> dict[str, str]:
    return {
        "GITLAB_CI": "true",
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_API_V4_URL": host.url + "/api/v4",
        "CI_SERVER_URL": host.url,
        "CI_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": str(PR),
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": merge_base,
        "CI_MERGE_REQUEST_EVENT_TYPE": "detached",
        "CI_COMMIT_SHA": head,
        "CI_PROJECT_DIR": str(ws),
        "CI_JOB_TOKEN": "job-token-is-not-for-notes",
        "GITLAB_TOKEN": TOKEN,  # the masked CI/CD variable the user sets
    }


def _run_pipeline(
    provider: str, pull: PullRequest, host: FakeGitHost, tmp_path: Path, run: int
) -> tuple[bool, str, Path]:
    """Check out the pull request afresh and run the provider's pipeline: (passed, output)."""
    merge = pull.origin.git("rev-parse", f"refs/pull/{PR}/merge")
    head = pull.origin.git("rev-parse", f"refs/pull/{PR}/head")
    ws = tmp_path / f"ws-{run}"
    work = tmp_path / f"run-{run}"
    work.mkdir()
    edits = {"SYNCD_REPO": "deploy"}
    if provider == "gitlab":
        pull.checkout(ws, f"refs/pull/{PR}/head", depth=20)  # the branch, GIT_DEPTH's default
        env = shell_env(work, _gitlab_ci(host, head, ws, pull.merge_base))
        step = run_gitlab(CI / "gitlab-ci.yml", ws, env, edits, work)
        return step.code == 0, step.stdout + step.stderr, ws
    # GitHub checks out the merge with the base branch, Gitea the branch's head
    ref = f"refs/pull/{PR}/merge" if provider == "github" else f"refs/pull/{PR}/head"
    pull.checkout(ws, ref, depth=1)
    sha = merge if provider == "github" else head
    ci, context = _github_like(provider, host, sha, ws, pull.merge_base)
    name = "github-actions.yml" if provider == "github" else "gitea-actions.yml"
    steps = run_actions(CI / name, ws, shell_env(work, ci), context, edits, work)
    assert [s.name for s in steps][:2] == ["Validate", "Plan"] and steps[-1].name == "Comment"
    output = "".join(s.stdout + s.stderr for s in steps)
    return all(s.code == 0 for s in steps), output, ws


@pytest.mark.parametrize("provider", ["github", "gitea", "gitlab"])
def test_the_pipeline_posts_one_plan_comment_that_later_runs_update(
    provider: str, tmp_path: Path
) -> None:
    pull = PullRequest(tmp_path / "origin")
    users = {TOKEN: "syncd-bot"} if provider == "gitlab" else {}
    ci_bot = "github-actions[bot]" if provider == "github" else "gitea-actions"
    ci_tokens = {} if provider == "gitlab" else {TOKEN: ci_bot}
    with FakeGitHost(users=users, ci_tokens=ci_tokens) as host:
        pull.push(STACK % "1.37")
        passed, output, _ = _run_pipeline(provider, pull, host, tmp_path, 1)
        assert passed, output
        [comment] = host.comments
        assert comment["body"].startswith("<!-- syncd:plan -->\n")
        assert "busybox:1.37" in comment["body"] and "recreate" in comment["body"]
        assert "BLOG_API_TOKEN" not in comment["body"]  # unchanged: no diff, and no error
        assert "shop" not in comment["body"]  # only the pull request's own change
        assert (comment["repo"], comment["number"]) == (
            "42" if provider == "gitlab" else "acme/deploy",
            PR,
        )
        first_id = comment["id"]

        pull.push(STACK % "1.38")  # a second push to the pull request
        passed, output, _ = _run_pipeline(provider, pull, host, tmp_path, 2)
        assert passed, output
        [comment] = host.comments
        assert comment["id"] == first_id
        assert "busybox:1.38" in comment["body"] and "busybox:1.37" not in comment["body"]
        assert "shop" not in comment["body"]

        pull.push(BROKEN)  # a broken push: the job fails, the comment says why
        passed, output, ws = _run_pipeline(provider, pull, host, tmp_path, 3)
        assert not passed
        [comment] = host.comments
        assert comment["id"] == first_id
        assert "syncd plan failed (exit 1)" in comment["body"]
        assert "blog/stack.yaml:6:" in comment["body"]
        if provider == "gitlab":
            report = json.loads((ws / "gl-code-quality-report.json").read_text())
            assert report[0]["location"] == {
                "path": "deploy/blog/stack.yaml",
                "lines": {"begin": 6},
            }
        else:
            assert "::error file=deploy/blog/stack.yaml,line=6,col=" in output
        writes = [r.method for r in host.requests if r.method != "GET"]
        assert writes == ["POST"] + ["PUT" if provider == "gitlab" else "PATCH"] * 2
        assert all(r.login is not None for r in host.requests)
    assert TOKEN not in output


@pytest.mark.parametrize("name", ["github-actions.yml", "gitea-actions.yml", "gitlab-ci.yml"])
def test_no_expression_is_pasted_into_a_script(name: str) -> None:
    """`${{ github.head_ref }}` inside `run:` is pasted into the script before bash reads it
    (script injection by a branch name); values reach the scripts as variables only."""
    config = yaml.safe_load((CI / name).read_text())
    scripts: list[str] = []
    for job in config.get("jobs", config).values():
        scripts += [step["run"] for step in job.get("steps", []) if "run" in step]
        scripts += job.get("before_script", []) + job.get("script", [])
    assert scripts
    for script in scripts:
        assert "${{" not in script, script
