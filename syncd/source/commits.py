"""A commit as the daemon shows it beside its sha: subject, author and time, read with one
`git log` (`GIT_FORMAT`, whose truncation bounds what git prints) and cleaned here, because a
pusher writes them: no control or formatting characters (a terminal escape, a bidi override),
bounded lengths. And the `owner/name` a git host knows a repository by, read from its URL.
Pure: parses strings."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from syncd.timestamps import iso

MAX_SUBJECT = 200  # characters of a commit subject shown (git cuts it first, see GIT_FORMAT)
MAX_AUTHOR = 100
# sha, subject, author name, committer time (unix seconds); NUL-separated (no field holds one)
GIT_FORMAT = f"%H%x00%<({MAX_SUBJECT},trunc)%s%x00%<({MAX_AUTHOR},trunc)%an%x00%ct"
_DROPPED = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # controls, format (bidi), unassigned
_SEGMENT = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]*")
_SCP = re.compile(r"^(?:[^@/]+@)?[^:/]+:(?!//)(?P<path>.+)$")  # git@host:owner/name.git


def clean_text(text: str, limit: int) -> str:
    """`text` safe to show anywhere (a terminal, JSON, a git host): control and formatting
    characters dropped, whitespace runs made one space, at most `limit` characters."""
    kept = []
    for char in text[: limit * 4]:  # a bound before the walk; what survives is cut below
        if char.isspace():
            kept.append(" ")
        elif unicodedata.category(char) not in _DROPPED:
            kept.append(char)
    out = " ".join("".join(kept).split())
    return out if len(out) <= limit else out[: limit - 1] + "…"


@dataclass(frozen=True)
class CommitInfo:
    revision: str
    subject: str
    author: str
    committed_at: int  # unix seconds (the committer's time)

    def as_dict(self) -> dict[str, Any]:
        """As the status and the webhook events show it: its time in ISO 8601 UTC."""
        return {
            "revision": self.revision,
            "subject": self.subject,
            "author": self.author,
            "committedAt": iso(self.committed_at),
        }


def parse_commit(revision: str, output: str) -> CommitInfo | None:
    """`git log -1 --format=GIT_FORMAT` output as a `CommitInfo` (None: not that shape)."""
    fields = output.rstrip("\n").split("\x00")
    if len(fields) != 4 or fields[0] != revision or not fields[3].isdigit():
        return None
    _sha, subject, author, at = fields
    return CommitInfo(
        revision,
        clean_text(subject, MAX_SUBJECT),
        clean_text(author, MAX_AUTHOR),
        int(at[:12]),
    )


def repo_path_of(url: str) -> str | None:
    """The repository's path on its git host (`owner/name`, or `group/sub/name` on GitLab)
    from a remote URL (`https://host/owner/name.git`, `ssh://git@host/owner/name`,
    `git@host:owner/name.git`); None when `url` is no such URL or a segment looks odd."""
    if "://" in url:
        path = urlsplit(url).path
    elif match := _SCP.match(url):
        path = match["path"]
    else:
        return None
    path = path.strip("/").removesuffix(".git")
    return path if valid_repo_path(path) else None


def valid_repo_path(path: str) -> bool:
    segments = path.split("/")
    return (
        2 <= len(segments) <= 20
        and len(path) <= 500
        and all(_SEGMENT.fullmatch(s) and s not in (".", "..") for s in segments)
    )
