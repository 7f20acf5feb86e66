"""Which interpolated values of a Compose file are secret: those that read an operator's
variable (mapping D25).

Interpolation marks every string that took a value from its mapping. For a Compose file the
mapping also holds the `.env` committed beside it, whose values are in the repository already:
an image tag or a port from it is no secret, and redacting it would hide the very values a
reviewer checks (and garble messages that happen to hold such a word). So a marked string stays
secret only when it read a variable of the operator (or a `.env` key whose value read one);
the values to scrub are those strings and those variables' values.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from syncd.errors import TemplateError
from syncd.manifests.compose.template import substitute
from syncd.manifests.interpolate import MAX_INTERPOLATED
from syncd.manifests.parse import is_reference
from syncd.manifests.yamlsafe import Path


def _at(data: Any, path: Path) -> Any:
    for part in path:
        if isinstance(data, dict) and isinstance(part, str):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def operator_taint(
    raw: Any,
    marked: Iterable[Path],
    lookup: Mapping[str, str],
    secret_names: Collection[str],
) -> tuple[frozenset[Path], frozenset[str]]:
    """The marked paths of `raw` (the file before interpolation) that read a secret name, and
    the values to scrub from every message. When in doubt, a path stays secret."""
    paths: set[Path] = set()
    values: set[str] = set()
    for path in marked:
        text = _at(raw, path)
        try:
            done = substitute(text, lookup, MAX_INTERPOLATED) if isinstance(text, str) else None
        except TemplateError:
            done = None
        if done is None:
            paths.add(path)
            values.update(v for n, v in lookup.items() if n in secret_names)
            continue
        secret = [n for n in done.names if n in secret_names]
        if secret:
            paths.add(path)
            values.add(done.text)
            values.update(lookup[n] for n in secret if n in lookup)
    return frozenset(paths), frozenset(values)


# Lists whose `NAME=value` items become mapping keys (a service's `environment`, `labels`,
# `sysctls`; a volume's or network's `labels`, a network's `driver_opts` and ipam `options`)
KEYED_LISTS = frozenset(
    {"environment", "labels", "sysctls", "driver_opts", "options", "annotations"}
)


# How a refused name or reference can still take a variable: from the committed `.env`
IN_DOTENV = "set the variable in the .env committed beside this file"


def names_from_env(secrets: Iterable[Path], templates: Mapping[Path, str]) -> list[Path]:
    """The tainted `NAME=value` list items whose NAME took a variable (`${TOKEN}=1`, or
    `${PAIR}` whole). A key is no value: every plan shows it in a pointer (`/labels/<key>`),
    unredacted, and two items of one name make one key, so a pull request could read the
    variable, or compare it with a guess of its own. `templates`: the items as written."""
    found = []
    for path in secrets:
        if len(path) < 2 or not isinstance(path[-1], int) or path[-2] not in KEYED_LISTS:
            continue
        written = templates.get(path)
        name, equals, _ = (written or "").partition("=")
        if written is None or not equals or "$" in name.replace("$$", ""):
            found.append(path)
    return sorted(found, key=str)


# A service's fields whose items name another object of the file: a service (`depends_on`,
# `links`), a network, a secret or a config (by name, or by `source:` in the long form)
REFERENCES = frozenset({"depends_on", "links", "networks", "secrets", "configs"})


def references_from_env(secrets: Iterable[Path]) -> list[Path]:
    """The tainted references of a service to another object of the file (`depends_on:
    [${NAME}]`). Whether it names one (or is an error) would tell a pull request, which
    declares the objects, whether a guess equals the variable's value."""
    return sorted((p for p in secrets if is_reference(p, REFERENCES)), key=str)
