"""Manifests: read every document of a revision into typed, located values, or say what is wrong.

Owns safe YAML loading, interpolation, the manifest models and field syntaxes, the checks and the
JSON Schemas. Pure: no I/O beyond the bytes it is handed.

Stage 2. May import: the root leaves only.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from syncd.composepaths import compose_folders, in_compose_folder, is_compose
from syncd.gcpause import gc_paused
from syncd.manifests.checks import check, secret_sources
from syncd.manifests.compose.files import has_kind, read_compose
from syncd.manifests.enginecheck import engine_problems
from syncd.manifests.model import Registry, Stack, StackPatch
from syncd.manifests.parse import Located, parse_document
from syncd.manifests.policycheck import converted_problems, stack_problems
from syncd.manifests.sopsfiles import SopsFiles, is_sops_yaml
from syncd.manifests.unread import Unread
from syncd.manifests.yamlsafe import Document, load
from syncd.policy import BUILTIN, Policy
from syncd.problems import Problem, Severity, scrub_problem
from syncd.settings import DEFAULT_LIMITS, EngineKind, Limits
from syncd.sops import AgeIdentities


@dataclass(frozen=True)
class ManifestFile:
    path: str
    data: bytes


@dataclass
class ManifestSet:
    stacks: list[Located[Stack]] = field(default_factory=list)
    patches: list[Located[StackPatch]] = field(default_factory=list)
    registries: list[Located[Registry]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # values Compose files took from the environment, also of those that did not convert
    tainted: set[str] = field(default_factory=set)
    # the operator's policy the documents were checked against (again after StackPatches)
    policy: Policy = BUILTIN
    # every file of the revision (path -> content): files from git, configs, secrets
    revision: Mapping[str, bytes] = field(default_factory=dict, repr=False)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    def secret_values(self) -> frozenset[str]:
        """Every value the revision took from the environment (to scrub from any message)."""
        located: list[Located[Any]] = [*self.stacks, *self.patches, *self.registries]
        return frozenset(self.tainted).union(*(d.secret_values for d in located))


MANIFEST_SUFFIXES = (".yaml", ".yml")
INTERNAL_ERROR = "syncd could not check this document (an internal error); please report it"


def _parse(document: Document, env: Mapping[str, str]) -> tuple[Located[Any] | None, list[Problem]]:
    """`parse_document`, with a last-resort guard: a bug in a converter must not stop the daemon.
    Every converter is meant to be total (a fuzz test holds them to it); this only names the
    document if one is not. The exception's text is not shown: it may hold a secret value."""
    try:
        return parse_document(document, env)
    except Exception as err:
        message = f"{INTERNAL_ERROR} ({type(err).__name__})"
        return None, [Problem(document.path, message, "", document.positions.locate(()))]


@gc_paused
def read_manifests(
    files: Sequence[Any],
    env: Mapping[str, str],
    limits: Limits = DEFAULT_LIMITS,
    problems: Sequence[Problem] = (),
    secrets_dir: PurePath | None = None,
    *,
    policy: Policy = BUILTIN,
    profiles: Collection[str] = (),
    engine: EngineKind = EngineKind.DOCKER,
    identities: AgeIdentities | None = None,
) -> ManifestSet:
    """Parse and check every document of `files` (anything with `.path` and `.data` bytes).

    `env` is the operator's variables (`syncd.operatorenv`): all that `${VAR}` and a registry's
    `{env: NAME}` may name. `{file: …}` must lie in `secrets_dir` (None: relative paths only).
    A Compose file (`compose.yaml`, `docker-compose.yml`, ...) is a stack; the other YAML files
    in and below its folder are data unless they carry a syncd `kind`
    (`syncd.manifests.compose.files`); only its services of the active `profiles` (and those
    without any) are deployed. Whatever a document asks of the host is checked against the
    operator's `policy` (`syncd.policy`; the built-in one allows none of it). What a stack
    writes that the `engine` cannot honour is a warning or an error at its line
    (`manifests.enginecheck`). SOPS-encrypted files the manifests use are decrypted with the
    operator's age `identities` (`manifests.sopsfiles`); their values are tainted.
    """
    revision = {f.path: f.data for f in files}
    result = ManifestSet(problems=list(problems), policy=policy, revision=revision)
    folders = compose_folders(f.path for f in files)
    sops = SopsFiles(identities)
    composes = {
        f.path: read_compose(
            f.path,
            f.data,
            env,
            revision,
            limits=limits,
            policy=policy,
            profiles=profiles,
            sops=sops,
        )
        for f in files
        if is_compose(f.path)
    }
    result.tainted |= sops.values()
    referenced = frozenset().union(*(c.referenced for c in composes.values()))
    unread = Unread()  # what documents that failed to read would have declared
    for file in files:
        if not file.path.endswith(MANIFEST_SUFFIXES):
            continue  # data of a Compose folder (the source reader reads no other files)
        if file.path in composes:
            compose = composes[file.path]
            result.problems += compose.problems
            result.tainted |= compose.secret_values
            if compose.stack is not None:
                result.stacks.append(compose.stack)
                result.problems += converted_problems(policy, compose.stack, compose.problems)
            elif any(p.severity is Severity.ERROR for p in compose.problems):
                unread.unknown()
            continue
        documents, load_problems = load(file.path, file.data, limits)
        data = in_compose_folder(file.path, folders) or file.path in referenced
        if not has_kind(documents) and (data or is_sops_yaml(file.data)):
            continue  # data beside a Compose file (D19), read by its `extends` (D19b), or SOPS
        result.problems += load_problems
        if any(p.severity is Severity.ERROR for p in load_problems):
            unread.unknown()
        for document in documents:
            located, doc_problems = _parse(document, env)
            result.problems += doc_problems
            if located is None:
                if doc_problems:  # not an empty document: one that failed
                    unread.add(document.data)
                continue
            manifest = located.manifest
            if isinstance(manifest, Stack):
                result.stacks.append(located)
                result.problems += stack_problems(policy, located)
            elif isinstance(manifest, StackPatch):
                result.patches.append(located)
            else:
                result.registries.append(located)
    result.problems += check(result.stacks, result.patches, result.registries, unread)
    for stack in result.stacks:
        result.problems += engine_problems(engine, stack)
    result.problems += secret_sources(result.registries, env, secrets_dir, revision)
    values = result.secret_values()
    result.problems = sorted(
        (scrub_problem(p, values) for p in result.problems), key=Problem.sort_key
    )
    return result
