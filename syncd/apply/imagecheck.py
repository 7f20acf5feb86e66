"""`--check-images`: every new or changed image of a plan resolved to a digest at its registry,
through the engine's distribution API, before anything is applied; a missing image or tag is an
error at the manifest line that names it.

Each reference is asked once per registry credential (two projects may reach one image with
different credentials), at most `settings.parallelism` at once, each within `timeout` seconds.
Credentials are read at that moment and go only to the registry's own host (`auth_for`, and the
engine's `check_pull_auth`); an image on another host is asked for without any.

A plan checks a revision nobody has reviewed yet (a pull request): its `Registry` documents
could name a host of the author's own with the operator's password (`{env: NAME}`). So a plan
passes `trusted`, the registries of the revision it starts from, and a registry that is new or
declared otherwise there (host, username or password source) is asked for without credentials.
An apply (the operator's own act) passes none: every registry of the revision is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from syncd import logs, taint
from syncd.apply.redact import hide
from syncd.apply.registries import auth_for, registry_for
from syncd.core.canonical import escape
from syncd.core.desired import DesiredRegistry
from syncd.core.plan import Plan, ServiceChange
from syncd.engine.base import Engine
from syncd.errors import CredentialsError, CredentialsHostMismatch, EngineError, EngineUnavailable
from syncd.ids import RegistryKey, ServiceKey
from syncd.manifests import ManifestSet
from syncd.manifests.options.process import PullPolicy
from syncd.problems import Problem
from syncd.settings import Settings

CHECK_TIMEOUT = 30.0  # seconds the engine gets to answer for one image

WITHHELD = (
    "asked without the credentials of registry {key}: it is new or declared otherwise than in "
    "the revision the plan starts from, and a plan sends credentials only to a registry as that "
    "revision declares it (an apply sends them)"
)

Use = tuple[str, RegistryKey | None]  # an image reference, and the registry whose credentials


def changed_images(plan: Plan) -> list[ServiceChange]:
    """The services whose image is new (a new service) or differs from the one that runs,
    but for those never pulled (`pull_policy: never`: the engine's own image, maybe built
    there, which no registry holds)."""
    return [
        change
        for stack in plan.stacks
        for change in stack.services
        if change.desired is not None
        and change.desired.spec.get("pullPolicy") != PullPolicy.NEVER
        and (change.live is None or change.live.spec.get("image") != change.desired.spec["image"])
    ]


def locate(manifests: ManifestSet, key: ServiceKey, message: str) -> Problem:
    """`message` at the place that sets the service's image: the last StackPatch op that does,
    else its stack's document (a Compose file's `services.<name>.image` alike)."""
    name = escape(key.name)
    for located in reversed(manifests.patches):
        patch = located.manifest
        if (patch.project, patch.stack) != (key.project, key.stack):
            continue
        for index in reversed(range(len(patch.patch))):
            op = patch.patch[index]
            if op.op not in ("add", "replace"):
                continue
            if op.path == f"/services/{name}/image":
                return located.problem(("patch", index, "value"), message)
            if (
                op.path == f"/services/{name}"
                and isinstance(op.value, dict)
                and "image" in op.value
            ):
                return located.problem(("patch", index, "value", "image"), message)
    for stack in manifests.stacks:
        if (stack.manifest.project, stack.manifest.name) == (key.project, key.stack):
            return stack.problem(("services", key.name, "image"), message)
    return Problem(str(key), message, "/image")


def withheld(registry: DesiredRegistry, trusted: Mapping[RegistryKey, DesiredRegistry]) -> bool:
    """Whether `registry`'s credentials stay unsent: it is not declared as in `trusted`."""
    if registry.username is None:
        return False
    known = trusted.get(registry.key)
    return known is None or (known.uri, known.username, known.password_ref) != (
        registry.uri,
        registry.username,
        registry.password_ref,
    )


def explain(error: str) -> str:
    """The engine's answer, with what it means for the usual ones."""
    lowered = error.lower()
    if any(words in lowered for words in ("manifest unknown", "not found", "name unknown")):
        return f"no such image or tag ({error})"
    if any(words in lowered for words in ("unauthorized", "denied", "authentication required")):
        return f"the registry refused access; check the registry's credentials ({error})"
    return error


@dataclass(frozen=True)
class ImageCheck:
    problems: tuple[Problem, ...] = ()  # one per service whose image cannot be resolved
    # the digest of each service's image, unless its reference came from the environment (a
    # digest of an image named by a secret would tell which one)
    digests: Mapping[ServiceKey, str] = field(default_factory=dict)


def check_images(
    engine: Engine,
    plan: Plan,
    *,
    registries: Mapping[RegistryKey, DesiredRegistry],
    manifests: ManifestSet,
    env: Mapping[str, str],
    settings: Settings,
    timeout: float = CHECK_TIMEOUT,
    trusted: Mapping[RegistryKey, DesiredRegistry] | None = None,
) -> ImageCheck:
    """The plan's new or changed images resolved; `EngineUnavailable` when the engine does not
    answer at all. With `trusted` (a plan): only the credentials of a registry declared there
    as in `registries` are sent."""
    uses: dict[Use, list[ServiceChange]] = {}
    for change in changed_images(plan):
        ref = str(change.desired.spec["image"]) if change.desired else ""
        registry = registry_for(ref, change.key.project, registries)
        uses.setdefault((ref, registry.key if registry else None), []).append(change)

    def resolve(use: Use) -> tuple[Use, str, bool]:
        ref, key = use
        registry = registries.get(key) if key is not None else None
        unsent = registry is not None and trusted is not None and withheld(registry, trusted)
        try:
            auth = (
                None
                if unsent
                else auth_for(registry, ref, env, settings.secrets, settings.age_key_file)
            )
            return use, engine.distribution(ref, auth, timeout), True
        except EngineUnavailable:
            raise
        except (EngineError, CredentialsError, CredentialsHostMismatch) as err:
            note = f"; {WITHHELD.format(key=key)}" if unsent else ""
            return use, explain(str(err)) + note, False

    log = logs.get()
    problems: list[Problem] = []
    digests: dict[ServiceKey, str] = {}
    ordered = sorted(uses, key=lambda use: (use[0], str(use[1] or "")))
    with ThreadPoolExecutor(settings.parallelism) as pool:
        for use, answer, ok in pool.map(resolve, ordered):
            first = uses[use][0]
            image = hide(first, use[0], registries)
            if ok:
                log.info("image_resolved", image=image)
                digests.update(
                    (c.key, answer)
                    for c in uses[use]
                    if c.desired and not taint.covered("/image", c.desired.secrets)
                )
                continue
            log.info("image_unresolved", image=image, error=hide(first, answer, registries))
            registry = registries.get(use[1]) if use[1] is not None else None
            where = f" from registry {registry.key}" if registry else ""
            for change in uses[use]:
                text = f"image {use[0]}{where} cannot be resolved at its registry: {answer}"
                problems.append(locate(manifests, change.key, hide(change, text, registries)))
    return ImageCheck(tuple(sorted(problems, key=Problem.sort_key)), digests)
