"""`syncd convert FILE`: one Compose file as the equivalent native `Stack` document (stdout), and
on stderr what could not be carried over (exit 1 when anything was not, else 0).

The file is read as `validate` reads it, with the Compose file's folder as the repository (its
`.env`, `env_file`s and files from git) and the operator's variables (`--env-file`,
`--allow-env`). A value taken from those variables is never printed: it is `<redacted>` (write
it as `${VAR}` in the Stack, which interpolates it at deploy time). A `$` the Compose file meant
literally is written `$$`, so the Stack does not read it as a variable. The operator's policy is
not consulted: nothing is deployed (`validate --policy` checks the result).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from syncd import operatorenv, settings
from syncd.errors import ExitCode, SyncdError
from syncd.layers import Layers
from syncd.manifests.compose.files import not_carried_problem
from syncd.manifests.compose.reader import Conversion, compose_to_stack
from syncd.manifests.yamlsafe import Document, Schema, load, pointer
from syncd.manifests.yamlsafe import Path as DataPath
from syncd.problems import Problem, errors_only
from syncd.settings import DEFAULT_LIMITS
from syncd.source.reader import read_directory
from syncd.taint import REDACTED, redact_values

DOTENV = ".env"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="the Compose file (compose.yaml, docker-compose.yml, ...)")
    operatorenv.add_arguments(parser)
    parser.add_argument(
        "--profile",
        dest="profiles",
        action="append",
        metavar="NAME",
        help="carry the services of this profile over too; repeatable (env: SYNCD_PROFILES)",
    )


def _read(path: Path, limit: int) -> bytes:
    if path.exists() and not path.is_file():  # a FIFO or device would block or never end
        raise SyncdError(f"{path} is not a regular file")
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as err:
        raise SyncdError(f"cannot read {path}: {err.strerror}") from err
    if len(data) > limit:
        raise SyncdError(f"{path} is larger than {limit} bytes")
    return data


def _revision(compose: Path) -> dict[str, bytes]:
    """The Compose file's folder as a revision, keyed `<folder>/<path>` (the folder's name is
    the project's when the file names none)."""
    folder = compose.parent
    prefix = folder.name
    snap = read_directory(folder)
    files = {f"{prefix}/{f.path}": f.data for f in snap.files}
    dotenv = folder / DOTENV
    if dotenv.is_file() and not dotenv.is_symlink():
        files[f"{prefix}/{DOTENV}"] = _read(dotenv, DEFAULT_LIMITS.max_file_bytes)
    return files


def _set(data: Any, path: DataPath, value: str) -> None:
    """`value` in place of what `data` holds at `path` (or at the deepest part of it there)."""
    node = data
    for index, part in enumerate(path):
        if isinstance(node, dict) and part in node:
            key: Any = part
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            key = part
        else:
            return
        if index == len(path) - 1 or not isinstance(node[key], dict | list):
            node[key] = value
            return
        node = node[key]


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    return value


def native_yaml(conversion: Conversion) -> str:
    """The converted stack as YAML, values from the environment redacted."""
    assert conversion.data is not None
    data = _escaped(conversion.data)
    for path in sorted(conversion.secrets, key=str):
        _set(data, path, REDACTED)
    # and any value equal to one taken from the environment, wherever a converter put it
    data = redact_values(data, {_escaped(v) for v in conversion.secret_values if v})
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def convert(
    path: Path, env: dict[str, str], profiles: tuple[str, ...]
) -> tuple[str, list[Problem]]:
    """The native Stack's YAML ("" when the file has errors), and the problems: errors (what
    was not carried over) and warnings."""
    compose = path.absolute()
    data = _read(compose, DEFAULT_LIMITS.max_file_bytes)
    files = _revision(compose)
    name = f"{compose.parent.name}/{compose.name}"
    documents, problems = load(name, data, DEFAULT_LIMITS, schema=Schema.COMPOSE)
    if problems or len(documents) != 1:
        return "", problems or [Problem(name, "a Compose file holds exactly one document")]
    document = documents[0]
    conversion = compose_to_stack(document, env, files, profiles=profiles, policy=None)
    notes = list(conversion.problems)
    notes += [not_carried_problem(n) for n in conversion.not_carried]
    notes += _left_out(document, conversion, profiles)
    if conversion.data is None:
        return "", notes
    return native_yaml(conversion), notes


def _left_out(
    document: Document, conversion: Conversion, profiles: tuple[str, ...]
) -> list[Problem]:
    """Services of profiles that are not active: read, but not in the converted stack."""
    data = document.data
    if conversion.data is None or not isinstance(data, dict):
        return []
    services = data.get("services")
    carried = conversion.data.get("services", {})
    notes = []
    for service, body in (services if isinstance(services, dict) else {}).items():
        wanted = body.get("profiles") if isinstance(body, dict) else None
        if wanted and service not in carried and not set(wanted) & set(profiles):
            at = ("services", service)
            message = (
                f"service {service!r} is left out: its profiles {list(wanted)} are not active "
                "(give --profile to carry it over)"
            )
            notes.append(
                Problem(
                    document.path, message, pointer(at), document.positions.locate(at, key=True)
                )
            )
    return notes


def cmd_convert(args: argparse.Namespace) -> ExitCode:
    layers = Layers(args, os.environ)
    env = operatorenv.from_layers(layers, os.environ)
    text, notes = convert(Path(args.file), env, settings.profiles(layers))
    if text:
        sys.stdout.write(text)
    for note in sorted(notes, key=Problem.sort_key):
        print(note, file=sys.stderr)
    errors = errors_only(notes)
    if errors:
        print(f"syncd: {len(errors)} thing(s) not carried over (above)", file=sys.stderr)
    return ExitCode.ERROR if errors or not text else ExitCode.OK
