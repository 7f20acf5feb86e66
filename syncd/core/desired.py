"""Desired state: every stack of a revision, resolved and canonical.

Applies StackPatch overlays (RFC 6902, see `stackpatch`, in file-path order), the stack's strategy
(`declare` = PUT, `update` = PATCH on top of the last applied specs), defaults and normalization,
and keeps track of which values came from the environment so renderers can redact them.
Pure: no I/O.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from syncd.core import canonical, declarations, secretpointers, stackpatch
from syncd.core.canonical import Spec, escape
from syncd.core.nesting import nested_files
from syncd.core.options import files, seccomp
from syncd.core.options import network as network_options
from syncd.core.options import volumes as volume_options
from syncd.errors import ManifestError, PatchRefused, UnresolvedFile
from syncd.gcpause import gc_paused
from syncd.ids import RegistryKey, ServiceKey, StackKey, VolumeKey
from syncd.manifests import ManifestSet
from syncd.manifests.checks import check_post_patch
from syncd.manifests.model import Registry, Stack, StackPatch, Strategy
from syncd.manifests.parse import Located
from syncd.manifests.policycheck import patched_problems
from syncd.manifests.sopsfiles import sops_ref
from syncd.manifests.yamlsafe import Path, pointer
from syncd.policy import Policy
from syncd.problems import Problem, Severity, scrub_problem
from syncd.taint import REDACTED


@dataclass(frozen=True)
class DesiredService:
    key: ServiceKey
    spec: Spec = field(repr=False)  # real values, secrets included: never print it
    secrets: frozenset[str] = frozenset()  # JSON pointers into `spec` to redact
    declaration: str = ""  # how its secrets were declared (`core.declarations`)

    @property
    def hash(self) -> str:
        return canonical.config_hash(self.spec)


@dataclass(frozen=True)
class DesiredVolume:
    key: VolumeKey
    # what syncd creates it with (`core.options.volumes.declaration`): driver, driverOpts, labels
    declared: Mapping[str, Any] = field(default_factory=lambda: dict(volume_options.PLAIN))
    # the operator's values its declaration holds (hidden in errors about it)
    secret_values: frozenset[str] = field(default=frozenset(), repr=False)


@dataclass(frozen=True)
class DesiredStack:
    key: StackKey
    strategy: Strategy
    description: str
    services: Mapping[str, DesiredService]
    volumes: Mapping[str, DesiredVolume]
    removed: frozenset[str] = frozenset()  # update strategy: services declared as `{}`
    source: str = ""  # file:line of the Stack document
    own_secrets: frozenset[str] = frozenset()  # tainted pointers of the stack's own fields

    def spec(self) -> Spec:
        """The stack as one JSON value (what `json-patch` output applies to)."""
        return {
            "description": self.description,
            "services": {name: s.spec for name, s in sorted(self.services.items())},
            "volumes": {name: {"name": name} for name in sorted(self.volumes)},
        }

    def secrets(self) -> frozenset[str]:
        return self.own_secrets | frozenset(
            f"/services/{escape(name)}{p}" for name, s in self.services.items() for p in s.secrets
        )

    @property
    def shown_description(self) -> str:
        return REDACTED if "/description" in self.own_secrets else self.description


@dataclass(frozen=True)
class DesiredRegistry:
    key: RegistryKey
    uri: str
    description: str
    username: str | None
    # "env:NAME", "file:/path" or "sops:<repository path>#key": where the secret is, never it
    password_ref: str | None
    source: str = ""
    secrets: frozenset[str] = frozenset()  # tainted fields: description, username, uri
    sops_file: str | None = field(default=None, repr=False)  # `sops:`: the encrypted file's text

    def shown(self, name: str) -> str | None:
        """A field as outputs show it: `<redacted>` when it came from the environment."""
        value: str | None = getattr(self, name)
        return REDACTED if name in self.secrets and value is not None else value


@dataclass(frozen=True)
class DesiredState:
    revision: str | None
    stacks: Mapping[StackKey, DesiredStack] = field(default_factory=dict)
    registries: Mapping[RegistryKey, DesiredRegistry] = field(default_factory=dict)
    warnings: tuple[Problem, ...] = ()
    # the content of the files from git, configs and secrets, by digest (`apply` writes them)
    files: Mapping[str, files.FileTree] = field(default_factory=dict, repr=False, compare=False)


def _where(located: Located[Any]) -> str:
    position = located.document.positions.locate(())
    return f"{located.path}:{position.line}"


def _patched(
    located: Located[Stack],
    patches: Sequence[Located[StackPatch]],
    problems: list[Problem],
    policy: Policy,
) -> tuple[Located[Stack], set[Path]]:
    """The stack with its overlays applied, and the paths that hold values from the env.
    What the overlays ask of the host is checked against the operator's `policy` again, at
    the op that asks for it."""
    secrets: set[Path] = set(located.secrets)
    if not patches:
        return located, secrets
    body = located.manifest.model_dump(by_alias=True, exclude_unset=True, mode="json")
    body["kind"] = "Stack"
    try:
        patched_body, secrets = stackpatch.apply(body, located.secrets, patches)
    except PatchRefused as err:
        problems.append(err.problem)
        return located, set(located.secrets)
    try:
        patched = Stack.model_validate(patched_body)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        loc = tuple(p for p in first["loc"] if isinstance(p, str | int))
        detail = first["msg"]
        if any(s[:3] == tuple(str(p) for p in loc[:3]) for s in secrets):
            detail = f"invalid value {stackpatch.REDACTED}"  # messages may quote the value
        problems.append(
            patches[-1].problem(
                ("patch",), f"the patched stack is invalid: {pointer(loc)}: {detail}"
            )
        )
        return located, set(located.secrets)
    moved = patched.key != located.manifest.key or patched.kind != located.manifest.kind
    if moved or any(path[:1] in (("project",), ("name",)) for path in secrets):
        # Identity becomes ids, container names and labels: never from the environment (an op
        # may write or copy a value there), and the patches' own target stays the stack's.
        last = patches[-1]
        message = "a StackPatch cannot change the stack's kind, project or name"
        where = last.document.positions.locate(("patch",))
        problems.append(Problem(last.path, message, pointer(("patch",)), where))
        return located, set(located.secrets)
    problems += patched_problems(policy, located.manifest, patched, patches)
    values = located.secret_values.union(*(p.secret_values for p in patches))
    templates = declarations.patched(located.templates, (p.templates for p in patches))
    return Located(patched, located.document, frozenset(secrets), values, templates), secrets


def _files(
    located: Located[Stack],
    name: str,
    spec: Spec,
    revision: files.Revision,
    problems: list[Problem],
) -> tuple[Spec, set[str]]:
    """`spec` with its files from git, configs and secrets resolved (`core.options.files`),
    and the pointers it taints: every secret's digest, a config's when its content came from
    the environment."""
    stack = located.manifest
    try:
        spec = files.resolve(spec, revision, stack.configs, stack.secrets)
        spec = seccomp.resolve(spec, revision)  # a seccomp profile from the revision
        spec = volume_options.resolve(spec, stack.volumes)
    except UnresolvedFile as err:
        problems.append(located.problem(("services", name, *err.where), str(err)))
        return spec, set()
    tainted = {f"/secrets/{i}/digest" for i in range(len(spec.get("secrets") or []))}
    for index, ref in enumerate(spec.get("configs") or []):
        if ("configs", ref["source"], "content") in located.secrets:
            tainted.add(f"/configs/{index}/digest")
    return spec, tainted


def _stack(
    located: Located[Stack],
    secrets: set[Path],
    last: _Last,
    problems: list[Problem],
    warnings: list[Problem],
    *,
    revision: files.Revision,
) -> DesiredStack:
    stack = located.manifest
    services: dict[str, DesiredService] = {}
    removed: set[str] = set()
    last_applied = last.specs
    sources = declarations.sources(stack.secrets, secrets, revision)
    for name, service in stack.services.items():
        key = stack.key.service(name)
        given = canonical.fields(service)
        kept: set[str] = set()
        if stack.strategy is Strategy.DECLARE:
            spec = canonical.full(service, given)
        elif not given:
            removed.add(name)
            continue
        elif last_applied is not None and key in last_applied:
            spec = canonical.merge(last_applied[key], given)
            kept = secretpointers.kept(last.secrets.get(key, frozenset()), given)
        elif "image" in given:
            spec = canonical.merge({}, given)
        else:
            problem = located.problem(
                ("services", name),
                f"service {key} is new (never applied), so it must name its 'image'",
            )
            if last_applied is None:
                warnings.append(_as_warning(problem))
            else:
                problems.append(problem)
            continue
        spec = network_options.attach(spec, stack.networks)
        spec, file_secrets = _files(located, name, spec, revision, problems)
        tainted = secretpointers.of_service(secrets, name, service, spec) | kept | file_secrets
        if any(path[:1] == ("networks",) for path in secrets):  # the definitions it holds
            tainted.add("/networks")
        if any(path[:1] == ("updateSchedule",) for path in secrets):  # the stack's, inherited
            tainted.add("/updateSchedule")
        from_env = {p[1] for p in secrets if len(p) > 1 and p[0] == "volumes"}
        tainted |= volume_options.tainted_mounts(spec, from_env)
        tainted |= seccomp.tainted(spec, tainted)
        how = declarations.of_service(located.templates, name, sources)
        services[name] = DesiredService(key, spec, frozenset(tainted), how)
    specs = network_options.peers({name: s.spec for name, s in services.items()})
    services = {
        n: DesiredService(s.key, specs[n], s.secrets, s.declaration) for n, s in services.items()
    }
    tainted_volumes = {p[1] for p in secrets if len(p) > 1 and p[0] == "volumes"}
    volumes = {
        name: DesiredVolume(
            stack.key.volume(name),
            volume_options.declaration(volume),
            located.secret_values if name in tainted_volumes else frozenset(),
        )
        for name, volume in stack.volumes.items()
        if not volume.external
    }
    for name, made in services.items():  # each anonymous volume: a volume of the stack
        for anonymous, declared in volume_options.anonymous_declarations(name, made.spec).items():
            volumes[anonymous] = DesiredVolume(stack.key.volume(anonymous), declared)
    return DesiredStack(
        key=stack.key,
        strategy=stack.strategy,
        description=stack.description or "",
        services=services,
        volumes=volumes,
        removed=frozenset(removed),
        source=_where(located),
        own_secrets=frozenset("/description" for p in secrets if p == ("description",)),
    )


def _as_warning(problem: Problem) -> Problem:
    message = f"{problem.message}; skipped, since no live state is known"
    return Problem(problem.path, message, problem.pointer, problem.position, Severity.WARNING)


def registries_of(manifests: ManifestSet) -> dict[RegistryKey, DesiredRegistry]:
    """The `Registry` documents of a revision, as its desired state holds them."""
    return {r.manifest.key: _registry(r, manifests.revision) for r in manifests.registries}


def _registry(located: Located[Registry], revision: Mapping[str, bytes]) -> DesiredRegistry:
    """A `{sops: path#key}` password keeps the encrypted file (no secret: decrypted at a pull)."""
    registry = located.manifest
    credentials = registry.credentials
    fields = {"description": "description", "credentials": "username", "uri": "uri"}
    tainted = {fields[str(p[0])] for p in located.secrets if str(p[0]) in fields}
    ref = credentials.password.describe() if credentials else None
    sops_file = None
    if credentials and credentials.password.sops and (found := sops_ref(
        credentials.password.sops, located.path
    )):  # fmt: skip
        ref = f"sops:{found[0]}#{found[1]}"
        sops_file = revision.get(found[0], b"").decode("utf-8", "replace")
    return DesiredRegistry(
        key=registry.key,
        uri=registry.uri.lower(),
        description=registry.description or "",
        username=credentials.username if credentials else None,
        password_ref=ref,
        source=_where(located),
        secrets=frozenset(tainted),
        sops_file=sops_file,
    )


@dataclass(frozen=True)
class _Last:
    """What PATCH-strategy services build on: last applied specs and their tainted pointers."""

    specs: Mapping[ServiceKey, Spec] | None
    secrets: Mapping[ServiceKey, frozenset[str]]


@gc_paused
def resolve(
    manifests: ManifestSet,
    revision: str | None,
    last_applied: Mapping[ServiceKey, Spec] | None = None,
    last_secrets: Mapping[ServiceKey, frozenset[str]] | None = None,
) -> DesiredState:
    """The desired state of one revision, or `ManifestError` with every problem found.

    `last_applied` holds the canonical specs applied before (the base of PATCH semantics);
    `None` means none is known (a revision-to-revision plan), and then a new `update`-strategy
    service without an image is skipped with a warning instead of failing. `last_secrets` are
    the tainted pointers of those specs (a kept value stays tainted).
    """
    if manifests.errors:
        raise ManifestError(manifests.errors)
    problems: list[Problem] = []
    warnings: list[Problem] = list(manifests.warnings)
    by_stack: dict[StackKey, list[Located[StackPatch]]] = {}
    for patch in sorted(manifests.patches, key=lambda p: (p.path, p.document.index)):
        by_stack.setdefault(patch.manifest.key, []).append(patch)
    patched = [
        _patched(s, by_stack.get(s.manifest.key, []), problems, manifests.policy)
        for s in manifests.stacks
    ]
    if by_stack and not problems:  # the reader checked each file; these are new values
        problems += check_post_patch([s for s, _ in patched], by_stack.keys())
    last = _Last(last_applied, last_secrets or {})
    contents = files.Contents()
    stacks = {
        located.manifest.key: _stack(
            located,
            secrets,
            last,
            problems,
            warnings,
            revision=files.Revision(posixpath.dirname(located.path), manifests.revision, contents),
        )
        for located, secrets in patched
    }
    specs = ((s.key, s.spec) for stack in stacks.values() for s in stack.services.values())
    problems += nested_files(specs, {located.manifest.key: located for located, _ in patched})
    if problems:
        values = manifests.secret_values()
        raise ManifestError([scrub_problem(p, values) for p in problems])
    return DesiredState(revision, stacks, registries_of(manifests), tuple(warnings), contents.trees)
