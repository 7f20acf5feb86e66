"""One Compose file -> the data of a native syncd `Stack` document, the problems found (each at
file:line:col with its JSON pointer), and the keys syncd's model cannot carry yet.

The steps, in Compose's order: the `.env` beside the file (committed; it may read the operator's
variables) feeds interpolation, with the operator's variables winning; every string value is
interpolated (Compose's rules; keys never); then the top level and each service are read.
Identity is never taken from the operator's environment: `x-syncd` takes no variables, and `name:`
only those of the committed `.env`. Project: `x-syncd.project`, else `COMPOSE_PROJECT_NAME` from
the `.env` (mapping D24), else `name:`, else the folder holding the file; stack: `x-syncd.stack`,
else `default`; strategy `declare`. Services outside the active `profiles` are read and checked
but not part of the stack. Pure: no I/O (the revision's files come as a mapping).
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from syncd.graph import find_cycle
from syncd.manifests.compose import configs, keys
from syncd.manifests.compose.context import (
    Context,
    NotCarried,
    Revision,
    is_extension,
    kind_of,
)
from syncd.manifests.compose.extends import resolve_extends
from syncd.manifests.compose.guard import check_policy
from syncd.manifests.compose.include import resolve_include
from syncd.manifests.compose.names import case_collisions, member_problem
from syncd.manifests.compose.networking import read_stack_networks
from syncd.manifests.compose.project import read_dotenv, read_identity, x_syncd
from syncd.manifests.compose.provenance import (
    IN_DOTENV,
    names_from_env,
    operator_taint,
    references_from_env,
)
from syncd.manifests.compose.services import Scope, convert_service
from syncd.manifests.compose.volumes import read_declared
from syncd.manifests.interpolate import Flavour, interpolate
from syncd.manifests.model import Stack
from syncd.manifests.parse import NAMESPACE_REFUSED, Located, namespaces_from_env, suggest
from syncd.manifests.sopsfiles import SopsFiles
from syncd.manifests.yamlsafe import Document, Path, PathPart, Positions, pointer
from syncd.policy import BUILTIN, Policy
from syncd.problems import Position, Problem, Severity
from syncd.secretpolicy import is_own
from syncd.settings import DEFAULT_LIMITS, Limits

IDENTITY = frozenset({"x-syncd", "name"})


@dataclass(frozen=True)
class Conversion:
    """`data` is a native `Stack` document (None when the file has errors); `secrets` are the
    paths inside it that took values from the environment, `secret_values` those values."""

    path: str
    data: dict[str, Any] | None
    problems: tuple[Problem, ...]
    not_carried: tuple[NotCarried, ...]
    secrets: frozenset[Path] = frozenset()
    secret_values: frozenset[str] = frozenset()
    positions: Positions = field(default_factory=Positions)  # of `data`'s paths, in the file
    referenced: frozenset[str] = frozenset()  # other files read (`extends`): data, not manifests
    validated: Stack | None = field(default=None, compare=False)  # `data` as a `Stack`, once
    templates: Mapping[Path, str] = field(default_factory=dict)  # `Located.templates`

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    def stack(self) -> Stack | None:
        if self.validated is not None:
            return self.validated
        return Stack.model_validate(self.data) if self.data is not None else None

    def located(self) -> Located[Stack] | None:
        """The stack as `read_manifests` holds a native one: its cross-document checks
        (`checks.check`) then place their problems at the Compose file's lines, and every
        output redacts its tainted paths."""
        stack = self.stack()
        if stack is None:
            return None
        document = Document(self.path, 0, self.data, self.positions)
        return Located(stack, document, self.secrets, self.secret_values, self.templates)


def _top_level(
    data: dict[str, Any], ctx: Context
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The declared volumes (by key) and configs and secrets (by section, then key), after
    checking every top-level key but `networks`."""
    for key in data:
        if key in IDENTITY or is_extension(key):
            continue
        if key not in keys.TOP_LEVEL:
            ctx.error((key,), f"unknown key {key!r}{suggest(key, keys.TOP_LEVEL)}", key=True)
        elif key == "version":
            ctx.warn((key,), "version is obsolete in the Compose Specification: ignored")
        elif key == "models":
            ctx.error((key,), f"models: {keys.NEVER['models']}", key=True)
    sources = {section: _members(data, section, ctx) for section in configs.SECTIONS}
    volumes = _members(data, "volumes", ctx)
    volumes = {name: read_declared(name, spec, ctx) for name, spec in volumes.items()}
    return volumes, sources


def _members(data: dict[str, Any], section: str, ctx: Context) -> dict[str, Any]:
    value = data.get(section)
    if value is None:
        return {}
    if not isinstance(value, dict):
        ctx.error((section,), f"{section} is a mapping, got {kind_of(value)}")
        return {}
    out: dict[str, Any] = {}
    for name, spec in value.items():
        at = (section, name)
        problem = member_problem(section.rstrip("s"), name)
        if problem is not None:
            ctx.error(at, problem, key=True)
            continue
        if spec is not None and not isinstance(spec, dict):
            ctx.error(at, f"expected a mapping, got {kind_of(spec)}")
            continue
        out[name] = spec or {}
        allowed = keys.MEMBER_KEYS[section]
        for key in out[name]:
            if key not in allowed and not is_extension(key):
                hint = suggest(key, allowed)
                ctx.error((*at, key), f"unknown key {key!r}{hint}", key=True)
    return out


def _active(name: str, service: object, profiles: Collection[str], ctx: Context) -> bool:
    wanted = service.get("profiles") if isinstance(service, dict) else None
    if wanted is None:
        return True
    if not isinstance(wanted, list) or not all(isinstance(p, str) for p in wanted):
        ctx.error(("services", name, "profiles"), "profiles is a list of names")
        return False
    return not wanted or any(p in profiles for p in wanted)


def _cycles(native: Mapping[str, Any], ctx: Context) -> None:
    graph = {name: list(service.get("dependsOn", {})) for name, service in native.items()}
    cycle = find_cycle(graph)
    if cycle:
        for name in dict.fromkeys(cycle):
            ctx.error(("services", name, "depends_on"), f"dependency cycle: {' -> '.join(cycle)}")


def _services(
    services: Mapping[str, Any], ctx: Context, scope: Scope
) -> tuple[dict[str, Any], set[Path], dict[Path, Path]]:
    """The model's services (those deployed and carried) and their tainted paths."""
    native: dict[str, Any] = {}
    secrets: set[Path] = set()
    origins: dict[Path, Path] = {}
    published: dict[tuple[str | None, str, str], str] = {}
    for name, service in services.items():
        at = ("services", name)
        problem = member_problem("service", name)
        if problem is not None:
            ctx.error(at, problem, key=True)
            continue
        converted = convert_service(name, service, at, ctx, scope)
        if converted is None or name not in scope.deployed:
            continue
        for where, port in converted.published:
            if port in published:
                ip, host, proto = port
                ctx.error(
                    where,
                    f"host port {host}/{proto}{' on ' + ip if ip else ''} is already "
                    f"published by service {published[port]!r}",
                )
            published.setdefault(port, name)
        native[name] = converted.data
        secrets.update(("services", name, *p) for p in converted.secrets)
        origins[("services", name)] = at
        origins.update({("services", name, *p): c for p, c in converted.origins.items()})
    return native, secrets, origins


def _source_origins(data: Mapping[str, Mapping[str, Any]]) -> dict[Path, Path]:
    """Configs and secrets stand where the Compose file wrote them."""
    origins: dict[Path, Path] = {}
    for section, members in data.items():
        origins[(section,)] = (section,)
        origins.update({(section, n): (section, n) for n in members})
        origins.update({(section, n, k): (section, n, k) for n in members for k in members[n]})
    return origins


class _Mapped(Positions):
    """Where each path of the native data was written in the Compose file: problems found
    later in the native stack (cross-document checks) point at the Compose lines. Looked up
    when a problem asks (a stack has tens of thousands of paths, and most are never asked)."""

    def __init__(self, origins: Mapping[Path, Path], compose: Positions) -> None:
        super().__init__()
        self.origins = origins
        self.compose = compose

    def locate(self, path: Sequence[PathPart], *, key: bool = False) -> Position:
        parts = tuple(path)
        if key and parts in self.origins:
            return self.compose.locate(self.origins[parts], key=True)
        while parts and parts not in self.origins:
            parts = parts[:-1]
        return self.compose.locate(self.origins.get(parts, ()))


def _expand(
    raw: dict[str, Any], ctx: Context, revision: Revision, limits: Limits
) -> frozenset[str]:
    """`include` and `extends` resolved in `raw`; the files they read (data, not manifests)."""
    referenced = resolve_include(raw, ctx, revision, limits)
    if isinstance(raw.get("services"), dict):
        raw["services"], extended = resolve_extends(raw["services"], ctx, revision, limits)
        referenced |= extended
    return referenced


def _validate(result: dict[str, Any], ctx: Context) -> Stack | None:
    """The converted stack as the model reads it, unless the file has errors already."""
    if ctx.has_errors():
        return None
    try:
        return Stack.model_validate(result)
    except ValidationError as err:
        detail = err.errors(include_url=False)[0]
        where = "/".join(str(p) for p in detail["loc"])
        ctx.error((), f"the converted stack is not valid at {where}: {detail['msg']}")
        return None


def _stack_origins(
    data: Mapping[str, Any], volumes: Collection[str], networks: Collection[str]
) -> dict[Path, Path]:
    """Where the stack's own fields come from in the Compose file."""
    return {
        (): (),
        ("project",): ("x-syncd", "project") if "project" in x_syncd(data) else ("name",),
        ("name",): ("x-syncd", "stack"),
        ("services",): ("services",),
        ("volumes",): ("volumes",),
        **{("volumes", v): ("volumes", v) for v in volumes},
        **{("networks", n): ("networks", n) for n in networks},
    }


def _refused_from_env(ctx: Context, body: Any) -> bool:
    """Names and references that took the operator's variables: refused (each an error)."""
    names, references = names_from_env(ctx.secrets, ctx.templates), references_from_env(ctx.secrets)
    namespaces = namespaces_from_env(ctx.secrets, body)
    for at in namespaces:  # a fixed text: scrubbed of whole values only (`service` is a word)
        message = f"{NAMESPACE_REFUSED}: write it, or {IN_DOTENV}"
        ctx.add(Problem(ctx.path, message, pointer(at), ctx.position(at)))
    for at in names:
        ctx.error(
            at,
            "the name of a NAME=value item cannot come from the operator's variables (a plan "
            f"shows names as they are): write it, or {IN_DOTENV}",
        )
    for at in references:
        ctx.error(
            at,
            f"a reference ({at[2]}) cannot come from the operator's variables (whether it names "
            f"one would tell the value): write it, or {IN_DOTENV}",
        )
    return bool(names or references or namespaces)


def compose_to_stack(
    document: Document,
    env: Mapping[str, str],
    files: Mapping[str, bytes],
    *,
    profiles: Collection[str] = (),
    policy: Policy | None = BUILTIN,
    limits: Limits = DEFAULT_LIMITS,
    sops: SopsFiles | None = None,
) -> Conversion:
    """Read one Compose file (`document`, at its repository path) against the operator's
    variables `env`, the revision's `files` (repository path -> content; `sops`: its SOPS
    files, decrypted with the operator's age key) and the operator's `policy` (what its
    deployed services may ask of the host; None: not checked, for `syncd convert`, which
    deploys nothing)."""
    path = document.path
    folder = posixpath.dirname(path)
    ctx = Context(path, Positions(dict(document.positions.values), dict(document.positions.keys)))
    data = document.data
    if not isinstance(data, dict):
        ctx.error((), f"a Compose file is a mapping with 'services', got {kind_of(data)}")
        return Conversion(path, None, tuple(ctx.problems), ())
    operator = {k: v for k, v in env.items() if not is_own(k)}
    revision = Revision(folder, files, sops)
    dotenv, dotenv_tainted = read_dotenv(revision, operator, ctx)
    committed = {k: v for k, v in dotenv.items() if k not in dotenv_tainted}
    project, stack = read_identity(data, committed, posixpath.basename(folder), ctx)
    lookup = {**dotenv, **operator}
    raw = {k: v for k, v in data.items() if k not in IDENTITY}
    referenced = _expand(raw, ctx, revision, limits)
    filled = interpolate(raw, lookup, flavour=Flavour.COMPOSE)
    secret_names = frozenset(operator) | frozenset(dotenv_tainted)
    ctx.secrets, ctx.secret_values = operator_taint(raw, filled.secrets, lookup, secret_names)
    ctx.templates.update((p, filled.templates[p]) for p in ctx.secrets if p in filled.templates)
    for at, message in filled.problems:
        ctx.error(at, message)
    named = _refused_from_env(ctx, filled.value)
    for at, message in filled.warnings:
        ctx.warn(at, message)
    if filled.problems or named:
        return Conversion(
            path, None, tuple(ctx.problems), tuple(ctx.not_carried), referenced=referenced
        )
    body: dict[str, Any] = filled.value
    volumes, declared = _top_level(body, ctx)
    sources = configs.read_sources(declared, ctx, lookup, revision, secret_names)
    services = body.get("services") or {}
    if not isinstance(services, dict):
        ctx.error(("services",), f"services is a mapping, got {kind_of(services)}")
        services = {}
    for first, second in case_collisions(services):
        ctx.error(
            ("services", second), f"services {first!r} and {second!r} differ only in case", key=True
        )
    deployed = [n for n, s in services.items() if _active(n, s, profiles, ctx)]
    networks = _members(body, "networks", ctx)
    if policy is not None:
        check_policy(body, project or "", deployed, policy, ctx)
    scope = Scope(
        lookup,
        secret_names,
        revision,
        volumes,
        networks,
        list(services),
        deployed,
        {section: list(members) for section, members in declared.items()},
    )
    native, secrets, origins = _services(services, ctx, scope)
    secrets |= sources.secrets
    origins |= _source_origins(sources.data)
    stack_networks = read_stack_networks(networks, ctx)
    secrets.update(("networks", n) for n in stack_networks if ctx.tainted(("networks", n)))
    secrets.update(("volumes", v) for v in volumes if ctx.tainted(("volumes", v)))
    origins |= _stack_origins(data, volumes, stack_networks)
    _cycles(native, ctx)
    result: dict[str, Any] = {
        "kind": "Stack",
        "project": project,
        "name": stack,
        "strategy": "declare",
        "services": native,
        "volumes": volumes,
        **sources.data,
    }
    if stack_networks:
        result["networks"] = stack_networks
    validated = _validate(result, ctx)
    ok = not ctx.has_errors()
    return Conversion(
        path,
        result if ok else None,
        tuple(ctx.problems),
        tuple(ctx.not_carried),
        frozenset(secrets),
        ctx.secret_values,
        _Mapped(origins, ctx.positions),
        referenced,
        validated if ok else None,
        ctx.templates,
    )
