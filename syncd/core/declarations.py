"""How a service's secret values were declared: the digest a recorded secret is bound to.

The state store keeps each secret as a keyed digest and puts the real value back when the
desired value matches it (`Store.restore`), so that an unchanged secret plans as unchanged.
A template lets a pull request build a secret value of its own choosing (Compose's
`${TOKEN:+guess}`, `guess${SET_BUT_EMPTY}`, an env file line): compared with the digest alone,
the plan would say whether the guess equals the production secret. So the digest is of the
value *and* its declaration: how the files wrote every secret value of the service (the text
before interpolation, the env files that gave one, the stack's secret file sources). A changed
declaration never matches, whatever the value: a right guess and a wrong one plan alike (the
service is replaced, as for any changed secret). An unchanged declaration can only yield the
operator's own values, which is what a plan of a rotated secret compares.

Attribution is by the path a value was written at: under `services/<name>` that service's,
anywhere else (stack-level values, the `.env`, a stack patched by overlays, whose ops may move
values between services) every service's. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from syncd.core.options.files import Revision
from syncd.manifests.options.files import FileSource
from syncd.manifests.yamlsafe import Path

PATCHED = "<patched>"  # the stack's templates after overlays: every service's


def patched(
    templates: Mapping[Path, str], overlays: Iterable[Mapping[Path, str]]
) -> dict[Path, str]:
    """A stack's templates once overlays applied to it: every one of them counts for every
    service (an op may copy or move a value from one service to another)."""
    out: dict[Path, str] = {(PATCHED, 0, *p): t for p, t in templates.items()}
    for i, more in enumerate(overlays, start=1):
        out.update(((PATCHED, i, *p), t) for p, t in more.items())
    return out


def of_service(templates: Mapping[Path, str], name: str, sources: Any = None) -> str:
    """The declaration digest of service `name`: the templates written under it, those of
    the whole stack, and the stack's secret file `sources` (JSON data). Moving a value within
    the service (a list's order, a renamed variable) keeps it; the texts are what count."""
    own = sorted(t for p, t in templates.items() if _owner(p) in (name, None))
    text = json.dumps([own, sources], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _owner(path: Path) -> str | None:
    if len(path) >= 2 and path[0] == "services" and isinstance(path[1], str):
        return path[1]
    return None


def sources(
    secrets: Mapping[str, FileSource],
    tainted: Collection[Path],
    revision: Revision,
) -> dict[str, Any]:
    """The stack's secret file sources as declared: a file's path as written and a digest of
    its bytes in the `revision`, a literal content itself (it is in the repository); a
    content from the environment is in the templates already, never its value here."""
    out: dict[str, Any] = {}
    for name, source in sorted(secrets.items()):
        if source.file is not None:
            path = revision.path(source.file)
            data = revision.files.get(path) if path is not None else None
            digest = hashlib.sha256(data).hexdigest() if data is not None else None
            out[name] = {"file": source.file, "sha256": digest}
        elif ("secrets", name, "content") in tainted:
            out[name] = {"content": None}
        else:
            out[name] = {"content": source.content}
    return out
