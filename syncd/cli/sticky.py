"""The sticky comment: find syncd's own comment on a pull request by its marker, among the
comments of the token's own user only, and update it; else create it.

Comments of anyone else are never touched, whatever they hold: whoever may comment on the pull
request could otherwise plant the marker, have syncd write the plan into their comment, and then
edit the plan a reviewer reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from syncd.cli.githost import GitHostClient, Provider
from syncd.errors import GitHostError

PER_PAGE = 100
MAX_PAGES = 50  # 5000 comments looked through at most
# Who writes a comment with the CI's own token, when the host will not say (GET /user refused).
_CI_AUTHORS: Mapping[Provider, tuple[str, ...]] = {
    Provider.GITHUB: ("github-actions[bot]",),  # brackets: no account can be named so
    Provider.GITEA: ("gitea-actions", "forgejo-actions"),
    Provider.GITLAB: (),
}
# Gitea's and Forgejo's Actions user has the id -2, which no account can have: its name alone
# is no proof (Gitea does not reserve `forgejo-actions`, nor Forgejo `gitea-actions`).
_ACTIONS_USER_ID = -2


@dataclass(frozen=True)
class Target:
    """One pull request's comments on one host: where to list, create and edit them."""

    client: GitHostClient
    comments: str  # the path listing and creating the pull request's comments
    edit: str  # the path of one comment, with `{id}`
    edit_method: str


def _pages(target_: Target) -> Iterator[list[Any]]:
    """The comments, page by page (a host that ignores paging answers one page)."""
    client = target_.client
    seen: set[object] = set()
    for page in range(1, MAX_PAGES + 1):
        query: dict[str, str | int] = {"page": page}
        if client.provider is Provider.GITEA:
            query["limit"] = PER_PAGE
        else:
            query["per_page"] = PER_PAGE
        if client.provider is Provider.GITLAB:
            query |= {"sort": "asc", "order_by": "created_at"}
        data = client.request("GET", target_.comments, query=query).data
        if not isinstance(data, list):
            raise GitHostError(f"{client.host} answered GET {target_.comments} with no list")
        first = data[0].get("id") if data and isinstance(data[0], dict) else None
        if first is not None and first in seen:
            return
        seen.add(first)
        yield data
        if len(data) < PER_PAGE:
            return


def _author(provider: Provider, comment: Mapping[str, Any]) -> str | None:
    who = comment.get("author" if provider is Provider.GITLAB else "user")
    if not isinstance(who, dict):
        return None
    name = who.get("username" if provider is Provider.GITLAB else "login")
    if not isinstance(name, str):
        return None
    if provider is Provider.GITEA and name in _CI_AUTHORS[provider]:
        return name if who.get("id") == _ACTIONS_USER_ID else None  # an account so named
    return name


def own_logins(target_: Target, given: list[str]) -> set[str]:
    """Whose comments may be updated: `--author`, else the token's user, else the CI's bot."""
    if given:
        return set(given)
    client = target_.client
    try:
        me = client.request("GET", "/user").data
    except GitHostError as err:  # GitHub's and Gitea's CI tokens may not ask who they are
        if err.status not in (401, 403, 404):
            raise
        return set(_CI_AUTHORS[client.provider])
    key = "username" if client.provider is Provider.GITLAB else "login"
    name = me.get(key) if isinstance(me, dict) else None
    return {name} if isinstance(name, str) and name else set(_CI_AUTHORS[client.provider])


def find_own(target_: Target, mark: str, logins: set[str]) -> int | None:
    """The id of the first comment of `logins` that starts with `mark`."""
    provider = target_.client.provider
    for page in _pages(target_):
        for comment in page:
            if not isinstance(comment, dict) or comment.get("system") is True:
                continue
            body, ident = comment.get("body"), comment.get("id")
            if not isinstance(body, str) or not body.startswith(mark):
                continue
            if type(ident) is int and _author(provider, comment) in logins:
                return ident
    return None


def upsert(target_: Target, body: str, mark: str, logins: set[str]) -> tuple[str, int | None]:
    """('updated' | 'created', the comment's id)."""
    client = target_.client
    found = find_own(target_, mark, logins)
    if found is not None:
        path = target_.edit.format(id=found)
        client.request(target_.edit_method, path, {"body": body})
        return "updated", found
    data = client.request("POST", target_.comments, {"body": body}).data
    ident = data.get("id") if isinstance(data, dict) else None
    return "created", ident if type(ident) is int else None
