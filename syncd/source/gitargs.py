"""What syncd hands to git: repository locations, branch names and revisions, checked before any
git command sees them, and URLs with their credentials redacted for every message. Pure.

A value that starts with `-` would be read by git as an option (`--upload-pack=<command>`), and
a `<transport>::<address>` location (`ext::sh -c …`) runs a command: both are refused, and only
the transports the README documents are accepted.

git follows an HTTP redirect on its first request by default (`http.followRedirects=initial`) and
then sends every later request, credentials included (the URL's `user:token@` or the token
file's header), to the host the redirect names: syncd's git never follows a redirect.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from syncd.errors import SourceError
from syncd.taint import redact_url

ALLOWED_SCHEMES = ("https", "ssh", "file")
# git itself refuses every other transport (defence in depth: set for every git command)
GIT_ALLOW_PROTOCOL = "file:https:ssh"
# the configuration every git command gets (through GIT_CONFIG_*, above any config file)
GIT_CONFIG = (("http.followRedirects", "false"),)
ACCEPTED = "a local path, https://…, ssh://…, user@host:path or file://…"

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_SCP = re.compile(r"^([\w.-]+)@([\w.-]+):", re.ASCII)
_HELPER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+.-]*::")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


def _refuse(location: str, why: str) -> SourceError:
    return SourceError(f"repository {redact_url(location)!r} is refused: {why}; give {ACCEPTED}")


def check_location(location: str) -> bool:
    """True for a remote URL, False for a local path; `SourceError` for anything else."""
    if not location:
        raise _refuse(location, "it is empty")
    if location.startswith("-"):
        raise _refuse(location, "it starts with '-' (git would read it as an option)")
    if _CONTROL.search(location):
        raise _refuse(location, "it holds control characters")
    if _HELPER.match(location):
        raise _refuse(location, "'<transport>::<address>' remote helpers are not accepted")
    if match := _SCHEME.match(location):
        scheme = match[1].lower()
        if scheme not in ALLOWED_SCHEMES:
            raise _refuse(location, f"the {scheme}:// transport is not accepted")
        try:
            parts = urlsplit(location)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            # from None: urllib's message quotes parts of the URL, credentials included
            raise _refuse(location, "it is not a valid URL") from None
        if scheme != "file" and not parts.hostname:
            raise _refuse(location, "it names no host")
        if (parts.hostname or "").startswith("-") or (parts.username or "").startswith("-"):
            raise _refuse(location, "its host or user starts with '-'")
        return True
    if "://" in location:
        raise _refuse(location, "it is not a URL")
    if match := _SCP.match(location):
        if match[1].startswith("-") or match[2].startswith("-"):
            raise _refuse(location, "its host or user starts with '-'")
        return True
    return False


def config_environment(*pairs: tuple[str, str]) -> dict[str, str]:
    """`GIT_CONFIG` and `pairs` as git's GIT_CONFIG_COUNT/KEY/VALUE environment variables."""
    env = {"GIT_CONFIG_COUNT": str(len(GIT_CONFIG) + len(pairs))}
    for index, (key, value) in enumerate((*GIT_CONFIG, *pairs)):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


_REDIRECT = re.compile(r"returned error: 30[1-8]\b")


def redirect_refused(stderr: str) -> bool:
    """Whether git failed because the server answered with a redirect (not followed)."""
    return _REDIRECT.search(stderr) is not None


def check_branch(name: str) -> str:
    """`name` if it is a branch name git accepts (git check-ref-format) and no option."""
    bad = (
        not name
        or name.startswith(("-", "/", "."))
        or name.endswith(("/", ".", ".lock"))
        or name == "@"
        or "/." in name
        or ".lock/" in name
        or _REF_FORBIDDEN.search(name) is not None
    )
    if bad:
        raise SourceError(f"branch {name!r} is not a valid branch name")
    return name


def check_revision(rev: str) -> str:
    """`rev` unless git could read it as an option (or it holds control characters)."""
    if not rev or rev.startswith("-") or _CONTROL.search(rev):
        raise SourceError(f"revision {rev!r} is not a revision (it may not start with '-')")
    return rev


MAX_GIT_ERROR = 4096  # characters of git's stderr an error quotes


def git_error(stderr: str, returncode: int) -> str:
    """git's whole stderr for an error message: every line (the cause is rarely the last one
    alone: `fatal: unable to access …` follows the `error:` that says why), URLs' credentials
    redacted, control characters dropped, at most `MAX_GIT_ERROR` characters (the head and the
    tail, where git puts the cause and its verdict)."""
    lines = [_CONTROL.sub("", redact_url(line)).rstrip() for line in stderr.strip().splitlines()]
    text = "\n".join(line for line in lines if line)
    if not text:
        return f"exit {returncode}"
    if len(text) > MAX_GIT_ERROR:
        head, tail = text[: MAX_GIT_ERROR // 4], text[-3 * MAX_GIT_ERROR // 4 :]
        text = f"{head}\n… ({len(text) - MAX_GIT_ERROR} characters not shown) …\n{tail}"
    return text
