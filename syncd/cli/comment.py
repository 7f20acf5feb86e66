"""`syncd comment`: post a file (the markdown plan) as ONE sticky pull-request comment.

The comment starts with a hidden marker (`<!-- syncd:plan -->`; `--key` names others, one per
environment), by which a later run finds and updates it (`sticky`), within `MAX_BODY_CHARS`.

Settings come from the provider's standard CI variables (GitHub/Gitea: `GITHUB_API_URL`,
`GITHUB_REPOSITORY`, `GITHUB_REF`; GitLab: `CI_API_V4_URL`, `CI_PROJECT_ID`,
`CI_MERGE_REQUEST_IID`), overridden by `--api-url`, `--repo-slug`, `--pr`. The token comes only
from the environment (`GITHUB_TOKEN`; `GITEA_TOKEN` or `GITHUB_TOKEN`; `GITLAB_TOKEN`).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from syncd import taint
from syncd.cli.githost import GitHostClient, Provider
from syncd.cli.sticky import Target, own_logins, upsert
from syncd.errors import ExitCode, GitHostSettingsError, GitHostUnreachable

MAX_BODY_CHARS = 65_000  # GitHub refuses a comment over 65536 characters; the others allow this
MAX_INPUT_BYTES = 1024 * 1024  # read of the file; the rest is only counted
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SLUG = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_PROJECT = re.compile(r"^(?:\d+|[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+)$")
_PULL_REF = re.compile(r"^refs/pull/(\d+)/(?:merge|head)$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def add_parser(sub: Any) -> None:
    """`syncd comment` on the `syncd` parser's subcommands."""
    parser = sub.add_parser(
        "comment",
        help="post a file as one sticky pull-request comment, updated by later runs",
        description="Create or update syncd's own comment on a pull/merge request (found by a "
        "hidden marker among the token's own comments). Token from GITHUB_TOKEN, GITEA_TOKEN "
        f"or GITLAB_TOKEN. Exit codes: {ExitCode.OK} posted, {ExitCode.ERROR} the host refused, "
        f"{ExitCode.UNAVAILABLE} host unreachable, {ExitCode.CONFIG} settings missing.",
    )
    parser.set_defaults(func=cmd_comment)
    parser.add_argument("--provider", required=True, choices=[p.value for p in Provider])
    parser.add_argument(
        "--pr",
        type=int,
        help="pull/merge request number (default: from GITHUB_REF or CI_MERGE_REQUEST_IID)",
    )
    parser.add_argument("--file", required=True, help="the comment's text (markdown); - = stdin")
    parser.add_argument(
        "--api-url",
        help="the host's API (default: GITHUB_API_URL, or CI_API_V4_URL on GitLab)",
    )
    parser.add_argument(
        "--repo-slug",
        help="OWNER/NAME, or the GitLab project's id or path (default: GITHUB_REPOSITORY, "
        "CI_PROJECT_ID)",
    )
    parser.add_argument(
        "--key",
        default="plan",
        help="which sticky comment: one per key, e.g. one per environment (default: plan)",
    )
    parser.add_argument(
        "--author",
        action="append",
        default=[],
        help="login whose comment may be updated (repeatable; default: the token's own user)",
    )


def _env(*names: str) -> tuple[str, str] | None:
    """The first variable of `names` that is set: (its name, its value), remembered as secret."""
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            taint.remember([value])  # no log line or error may show it
            return name, value
    return None


def _need(value: Any, what: str) -> Any:
    if value in (None, ""):
        raise GitHostSettingsError(what)
    return value


def target(args: argparse.Namespace, provider: Provider) -> Target:
    """Where the comments are, from the flags and the CI's variables."""
    if args.pr is not None and not 0 < args.pr < 10**9:
        raise GitHostSettingsError(f"--pr {args.pr}: give the pull request's number")
    if provider is Provider.GITLAB:
        if _env("GITLAB_TOKEN") is None and _env("CI_JOB_TOKEN") is not None:
            raise GitHostSettingsError(
                "GitLab's CI_JOB_TOKEN may not write merge request notes: create a project "
                "access token (role Reporter, scope api) and set it as the masked CI/CD "
                "variable GITLAB_TOKEN"
            )
        token = _need(_env("GITLAB_TOKEN"), "no token: set GITLAB_TOKEN")
        server = os.environ.get("CI_SERVER_URL", "").rstrip("/")
        api = args.api_url or os.environ.get("CI_API_V4_URL") or (server and f"{server}/api/v4")
        api = _need(api, "no API URL: give --api-url https://gitlab.example.com/api/v4")
        project = _need(
            args.repo_slug or os.environ.get("CI_PROJECT_ID"),
            "no project: give --repo-slug GROUP/NAME (or set CI_PROJECT_ID)",
        )
        if not _PROJECT.match(project):
            raise GitHostSettingsError(f"{project!r} is not a GitLab project id or path")
        iid = args.pr or _number(os.environ.get("CI_MERGE_REQUEST_IID"))
        iid = _need(iid, "no merge request: give --pr N (or run in a merge request pipeline)")
        client = GitHostClient(provider, api, token[1], token[0])
        notes = f"/projects/{quote(project, safe='')}/merge_requests/{iid}/notes"
        return Target(client, notes, notes + "/{id}", "PUT")
    names = ("GITHUB_TOKEN",) if provider is Provider.GITHUB else ("GITEA_TOKEN", "GITHUB_TOKEN")
    token = _need(_env(*names), f"no token: set {' or '.join(names)}")
    api = args.api_url or os.environ.get("GITHUB_API_URL")
    if not api and provider is Provider.GITHUB:
        api = "https://api.github.com"
    if not api and os.environ.get("GITHUB_SERVER_URL"):
        api = os.environ["GITHUB_SERVER_URL"].rstrip("/") + "/api/v1"
    api = _need(api, "no API URL: give --api-url https://gitea.example.com/api/v1")
    slug = _need(
        args.repo_slug or os.environ.get("GITHUB_REPOSITORY"),
        "no repository: give --repo-slug OWNER/NAME (or set GITHUB_REPOSITORY)",
    )
    if not _SLUG.match(slug) or {".", ".."} & set(slug.split("/")):
        raise GitHostSettingsError(f"{slug!r} is not OWNER/NAME")
    ref = _PULL_REF.match(os.environ.get("GITHUB_REF", ""))
    number = args.pr or (_number(ref[1]) if ref else None)
    number = _need(number, "no pull request: give --pr N (or run on a pull_request event)")
    client = GitHostClient(provider, api, token[1], token[0])
    comments = f"/repos/{slug}/issues/{number}/comments"
    return Target(client, comments, f"/repos/{slug}/issues/comments/{{id}}", "PATCH")


def _number(text: str | None) -> int | None:
    """A pull request's number from a CI variable, or None."""
    if not text or not text.isascii() or not text.isdigit() or len(text) >= 10:
        return None
    return int(text) or None


def read_text(name: str) -> str:
    """The file's text (at most `MAX_INPUT_BYTES` read; a longer one is cut with a note)."""
    try:
        if name == "-":
            raw = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        else:
            with Path(name).open("rb") as handle:
                raw = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as err:
        raise GitHostSettingsError(f"cannot read {name}: {err.strerror}") from None
    text = raw[:MAX_INPUT_BYTES].decode("utf-8", "ignore").replace("\x00", "")
    if len(raw) > MAX_INPUT_BYTES:
        text += "\n"  # cut below anyway: over MAX_BODY_CHARS
    if not text.strip():
        raise GitHostSettingsError(f"{name} is empty: nothing to post")
    return text


def marker(key: str) -> str:
    if not _KEY.match(key):
        raise GitHostSettingsError(f"--key {key!r}: letters, digits, '.', '_', '-' (at most 64)")
    return f"<!-- syncd:{key} -->"


def _still_open(text: str) -> tuple[str | None, int]:
    """The code fence open at the end of `text` (its backticks or tildes, as CommonMark closes
    it: the same character, at least as many) and how many `<details>` are open outside
    fences (a `</details>` inside a code block, a value in the plan, closes nothing)."""
    fence: str | None = None
    details = 0
    for line in text.splitlines():
        match = _FENCE.match(line)
        if fence is not None:
            closes = match is not None and match[1][0] == fence[0] and len(match[1]) >= len(fence)
            if closes and match is not None and not line[match.end() :].strip():
                fence = None
        elif match and not (match[1][0] == "`" and "`" in line[match.end() :]):
            fence = match[1]
        else:
            low = line.lower()
            details = max(details + low.count("<details") - low.count("</details>"), 0)
    return fence, details


def compose(text: str, mark: str, limit: int = MAX_BODY_CHARS) -> str:
    """The comment: the marker line, then `text`, cut at a line to fit `limit` characters with
    the open code block and `<details>` closed, and a note saying so."""
    body = f"{mark}\n{text.rstrip()}\n"
    if len(body) <= limit:
        return body
    note = (
        f"\n\n---\n**Cut short:** this comment shows the first part of {len(text)} characters "
        "(the host's limit). The whole text is in the CI job's log."
    )
    room = limit - len(note)
    while True:
        kept = body[:room]
        kept = kept[: kept.rfind("\n") + 1] if "\n" in kept else kept
        fence, details = _still_open(kept)
        closing = (f"{fence}\n" if fence else "") + "</details>\n" * min(details, 8)
        if len(kept) + len(closing) + len(note) <= limit or not kept:
            return kept + closing + note
        room = len(kept) - len(closing) - 1  # a long fence: cut that much more


def cmd_comment(args: argparse.Namespace) -> ExitCode:
    provider = Provider(args.provider)
    try:
        mark = marker(args.key)
        text = read_text(args.file)
        where = target(args, provider)
        if where.client.plain_http:
            print(
                f"syncd: warning: {where.client.host} is plain http: the token is sent "
                "unencrypted; give an https:// API URL",
                file=sys.stderr,
            )
        action, ident = upsert(where, compose(text, mark), mark, own_logins(where, args.author))
    except GitHostSettingsError as err:
        print(f"syncd: {taint.printable(str(err))}", file=sys.stderr)
        return ExitCode.CONFIG
    except GitHostUnreachable as err:
        print(f"syncd: {taint.printable(str(err))}", file=sys.stderr)
        return ExitCode.UNAVAILABLE
    shown = f" {ident}" if ident is not None else ""
    print(f"{provider} comment{shown} {action} on {where.client.host}")
    return ExitCode.OK
