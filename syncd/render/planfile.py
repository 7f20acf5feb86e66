"""Saved plans (`syncd plan --out`, `syncd apply --plan`): the file, and what moved since.

The file holds the JSON plan (redacted: no secret, as every rendering), the revision and ref it
was made for, the settings that shape it (instance, manifest paths, profiles, a digest of the
policy), the live state's fingerprint (`core.fingerprint`) when it was planned against Docker,
and a digest of the plan itself. A plan file is untrusted input: bounded in size, parsed into a
strict model, and checked against its own digests; nothing from it is executed, an apply only
compares it with the plan computed again. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from syncd import __version__
from syncd.core.fingerprint import live_parts
from syncd.core.observe import Observation
from syncd.core.plan import Action, Plan
from syncd.engine.base import Observed
from syncd.errors import PlanFileError
from syncd.ids import ServiceKey
from syncd.render.json_format import plan_json
from syncd.settings import Settings

MAX_PLAN_FILE = 32 * 1024 * 1024  # bytes
MAX_SHOWN = 20  # things named in one "stale plan" message
KIND: Literal["SyncdPlan"] = "SyncdPlan"
ACTIONS = frozenset(a.value for a in Action)

Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Digest = Annotated[str, Field(pattern=r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")]
Sha = Annotated[str, Field(pattern=r"^([0-9a-f]{40}|[0-9a-f]{64})$")]
Text = Annotated[str, Field(max_length=4096, pattern=r"^[^\x00-\x1f\x7f]*$")]  # printable
PartKey = Annotated[str, Field(max_length=1024, pattern=r"^[^\x00-\x1f\x7f]+$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class PlanSettings(_Model):
    """The settings that shape a plan; an apply must run with the same."""

    instance: Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")]
    paths: list[Text] = Field(max_length=256)
    profiles: list[Text] = Field(max_length=256)
    policy: Hex  # digest of the operator's policy
    allowEmpty: bool  # informative: an apply needs its own --allow-empty


class LiveRecord(_Model):
    fingerprint: Hex
    parts: dict[PartKey, Hex] = Field(max_length=200_000)


class SavedPlan(_Model):
    kind: Literal["SyncdPlan"]
    format: Literal[1]
    syncd: Text
    ref: Text | None  # what was asked for (`HEAD`, `main`, a sha): it must still name `revision`
    revision: Sha
    base: Sha | None  # a revision-to-revision plan's base; None: planned against Docker
    settings: PlanSettings
    live: LiveRecord | None  # None: not planned against Docker
    # `--check-images`: service -> the digest its image resolved to at its registry
    images: dict[Text, Digest] = Field(max_length=100_000)
    planDigest: Hex
    plan: dict[str, Any]


def digest(value: Any) -> str:
    """sha256 hex of `value`'s canonical JSON (sorted keys, no spaces), as `core.fingerprint`."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def plan_settings(settings: Settings, paths: list[str], *, allow_empty: bool) -> PlanSettings:
    return PlanSettings(
        instance=settings.instance,
        paths=list(paths),
        profiles=list(settings.profiles),
        policy=digest(settings.policy.model_dump(mode="json")),
        allowEmpty=allow_empty,
    )


def live_record(
    observation: Observation, images: Mapping[ServiceKey, str | None] | None = None
) -> LiveRecord:
    """The live state's parts, the extra containers an apply would remove (`stray:`), and the
    local image id each new container would be made from (`image:`; None: to be pulled)."""
    parts = live_parts(observation.live)
    for stray in observation.strays:
        parts[f"stray:{stray.name}"] = digest({"id": stray.id})
    for key, image_id in (images or {}).items():
        parts[f"image:{key}"] = digest({"id": image_id})
    parts = dict(sorted(parts.items()))
    return LiveRecord(fingerprint=digest(parts), parts=parts)


def new_images(plan: Plan, observed: Observed) -> dict[ServiceKey, str | None]:
    """The local image id of each service the plan creates or recreates."""
    return {
        change.key: observed.image_id(str(change.desired.spec.get("image")))
        for stack in plan.stacks
        for change in stack.services
        if change.desired is not None and change.action in (Action.CREATE, Action.RECREATE)
    }


def plan_digest(plan: Plan) -> str:
    return digest(plan_json(plan))


def build(
    plan: Plan,
    *,
    ref: str | None,
    revision: str,
    base: str | None,
    settings: PlanSettings,
    live: LiveRecord | None,
    images: Mapping[str, str],
) -> SavedPlan:
    body = plan_json(plan)
    return SavedPlan(
        kind=KIND,
        format=1,
        syncd=__version__,
        ref=ref,
        revision=revision,
        base=base,
        settings=settings,
        live=live,
        images=dict(sorted(images.items())),
        planDigest=digest(body),
        plan=body,
    )


def dump(saved: SavedPlan) -> str:
    return json.dumps(saved.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def parse(data: bytes, where: str) -> SavedPlan:
    """The plan file's content, checked (`PlanFileError` saying what is wrong, and where)."""
    if len(data) > MAX_PLAN_FILE:
        raise PlanFileError(f"{where}: larger than {MAX_PLAN_FILE} bytes; not a syncd plan")
    try:
        raw = json.loads(data.decode("utf-8"))
        if not isinstance(raw, dict) or raw.get("kind") != KIND:
            raise PlanFileError(f"{where}: not a syncd plan (written by `syncd plan --out`)")
        if raw.get("syncd") != __version__:
            made = raw.get("syncd")
            shown = made if isinstance(made, str) and len(made) < 40 and made.isprintable() else "?"
            raise PlanFileError(
                f"{where}: made by syncd {shown}, this is syncd {__version__}; plan again"
            )
        _text(raw)  # every string is text: an escaped lone surrogate (`\\ud800`) is none
        saved = SavedPlan.model_validate(raw)
        body_digest = digest(saved.plan)
    except UnicodeDecodeError as err:
        raise PlanFileError(f"{where}: not UTF-8 text (byte {err.start})") from None
    except UnicodeEncodeError:
        raise PlanFileError(
            f"{where}: a string escapes a lone surrogate (\\ud800-\\udfff), which is no "
            "character; not a syncd plan"
        ) from None
    except json.JSONDecodeError as err:
        raise PlanFileError(f"{where}:{err.lineno}:{err.colno}: not JSON: {err.msg}") from None
    except RecursionError:
        raise PlanFileError(f"{where}: nested too deeply; not a syncd plan") from None
    except ValidationError as err:
        problems = [f"/{'/'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()[:5]]
        raise PlanFileError(f"{where}: not a valid syncd plan: {'; '.join(problems)}") from None
    except ValueError:  # json's own bounds: a number of more than 4300 digits
        raise PlanFileError(f"{where}: holds a number too long to read; not a syncd plan") from None
    if body_digest != saved.planDigest:
        raise PlanFileError(f"{where}: the plan does not match its digest (was it edited?)")
    if saved.live is not None and digest(saved.live.parts) != saved.live.fingerprint:
        raise PlanFileError(f"{where}: the live state does not match its fingerprint")
    return saved


def _text(raw: Any) -> None:
    """`UnicodeEncodeError` when a string of `raw` (keys included) is not encodable text."""
    json.dumps(raw, ensure_ascii=False).encode("utf-8")


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_SHOWN])
    return shown + (f" and {len(names) - MAX_SHOWN} more" if len(names) > MAX_SHOWN else "")


def settings_moved(saved: PlanSettings, now: PlanSettings) -> str | None:
    """What differs between the settings a plan was made with and those of the apply."""
    moved = [
        f"{name} {getattr(saved, name)!r} -> {getattr(now, name)!r}"
        for name in ("instance", "paths", "profiles")
        if getattr(saved, name) != getattr(now, name)
    ]
    if saved.policy != now.policy:
        moved.append("the operator's policy")
    return f"the settings changed since the plan: {'; '.join(moved)}" if moved else None


def live_moved(saved: LiveRecord, now: LiveRecord) -> str | None:
    """Each live object that changed, appeared or went since the plan, by name; the local
    images only when nothing else moved (a service planned otherwise has other images)."""
    if saved.fingerprint == now.fingerprint:
        return None
    objects, images = [], []
    for key in sorted(set(saved.parts) | set(now.parts)):
        before, after = saved.parts.get(key), now.parts.get(key)
        if before == after:
            continue
        what = "changed" if before and after else "appeared" if after else "is gone"
        kind, _, name = key.partition(":")
        if kind == "image":
            images.append(f"the local image of service {name} changed")
        else:
            objects.append(f"{kind} {name} {what}" if name else f"{key} {what}")
    return f"the live state moved since the plan: {_listed(objects or images)}"


def images_moved(saved: Mapping[str, str], now: Mapping[str, str]) -> str | None:
    """The services whose image resolves to another digest than when planned (the tag was
    pushed again)."""
    moved = [
        f"service {key}" for key, found in sorted(now.items()) if saved.get(key, found) != found
    ]  # (an image the plan did not check is not compared)
    if gone := len(saved.keys() - now.keys()):  # (the file's names are not echoed)
        moved.append(f"{gone} image(s) no longer resolved")
    if not moved:
        return None
    return f"an image resolves to another digest than when planned: {_listed(moved)}"


def _by(items: Any, name: str) -> dict[str, Any]:
    """A plan's list of stacks or services, by name (ignoring entries of another shape)."""
    if not isinstance(items, list):
        return {}
    return {i[name]: i for i in items if isinstance(i, dict) and isinstance(i.get(name), str)}


def _base(now: Any) -> str:
    if now is None:
        return "what runs is no longer one revision"
    return f"what runs is now revision {str(now)[:12]}"


def _service_moved(name: str, before: Any, after: dict[str, Any]) -> str:
    """`service shop/default/web (recreate -> none)`; the file's action shown only when it is
    one of syncd's."""
    was = before.get("action") if isinstance(before, dict) else None
    now = after.get("action")
    if was in ACTIONS and now in ACTIONS and was != now:
        return f"service {name} ({was} -> {now})"
    return f"service {name}"


def plan_moved(saved: dict[str, Any], now: dict[str, Any]) -> str:
    """The stacks and services whose planned actions differ between two JSON plans; names
    come from the plan computed now (the file's are only compared)."""
    names: list[str] = []
    if saved.get("base") != now.get("base"):
        names.append(_base(now.get("base")))
    if saved.get("head") != now.get("head"):
        names.append(f"the head revision is now {str(now.get('head'))[:12]}")
    old_stacks, new_stacks = _by(saved.get("stacks"), "stack"), _by(now.get("stacks"), "stack")
    for name, stack in sorted(new_stacks.items()):
        before = old_stacks.get(name)
        if before == stack:
            continue
        old_services = _by(before.get("services") if before else None, "service")
        changed = [
            _service_moved(s, old_services.get(s), entry)
            for s, entry in sorted(_by(stack.get("services"), "service").items())
            if old_services.get(s) != entry
        ]
        names += changed or [f"stack {name}"]
    if gone := len(old_stacks.keys() - new_stacks.keys()):
        names.append(f"{gone} stack(s) no longer planned")
    return f"the plan computed now differs from the saved one: {_listed(names or ['its counts'])}"
