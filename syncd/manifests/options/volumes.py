"""A stack's top-level volume (Compose's `volumes.<key>`), in Compose's meaning.

- `external: true`: an existing Docker volume, named `name` (default: the key as written, as
  in Compose). syncd never creates, deletes or reports it orphaned; policy `externalVolumes`.
- otherwise syncd creates the volume (its own, instance-scoped name: D30; `name` is recorded
  as metadata only) with `driver` (default `local`), `driverOpts` and `labels`. A driver other
  than `local` needs policy `volumeDrivers`; `driverOpts` of the local driver mount something
  with the host's kernel: `o: bind` a host path (`device`, policy `hostPaths`), another `type`
  (nfs, cifs, ...) policy `volumeTypes`. Docker cannot change any of these on an existing
  volume without deleting it (and its data): syncd never does; the plan warns instead.
Pure: no I/O.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from syncd.manifests.fields import VOLUME_NAME, check_no_nul
from syncd.manifests.options.process import LabelKey
from syncd.manifests.strict import StrictModel

MAX_OPTIONS = 100
MAX_TEXT = 4096
DOCKER_VOLUME_NAME_MAX = 255


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("volume", message)


def _text(value: Any) -> Any:
    """Compose turns numbers and booleans in these maps into strings; so does syncd."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _option_value(value: str) -> str:
    check_no_nul(value)
    if len(value) > MAX_TEXT:
        raise _fail(f"a value of at most {MAX_TEXT} characters is expected")
    return value


def _driver(value: str) -> str:
    if not VOLUME_NAME.fullmatch(value.replace("/", "-").replace(":", "-")) or len(value) > 255:
        raise _fail(f"{value[:40]!r} is not a volume driver name (e.g. local)")
    return value


def _docker_name(value: str) -> str:
    if len(value) > DOCKER_VOLUME_NAME_MAX or not VOLUME_NAME.fullmatch(value):
        raise _fail(
            f"{value[:40]!r} is not a Docker volume name (letters, digits, '_', '.', '-', "
            "starting with a letter or digit)"
        )
    return value


OptionValue = Annotated[str, BeforeValidator(_text), AfterValidator(_option_value)]
OptionKey = Annotated[str, AfterValidator(_option_value)]
VolumeDriver = Annotated[str, AfterValidator(_driver)]


def _legacy_external(data: Any) -> Any:
    """Compose's legacy `external: {name: x}` is `external: true, name: x`."""
    if isinstance(data, dict) and isinstance(data.get("external"), dict):
        legacy = data["external"]
        out = {k: v for k, v in data.items() if k != "external"}
        out["external"] = True
        if "name" in legacy:
            out.setdefault("name", legacy["name"])
        return out
    return data


class Volume(StrictModel):
    """A stack's volume; mittwald's `VolumeDeclareRequest` (`name`) plus Compose's keys."""

    name: str | None = Field(
        None,
        description="external: the Docker volume's name (default: the key); otherwise recorded "
        "only (syncd names the volumes it creates per instance)",
    )
    external: bool = Field(
        False, description="an existing volume, used as-is (policy externalVolumes)"
    )
    driver: VolumeDriver | None = Field(None, description="default local; others: volumeDrivers")
    driver_opts: Annotated[dict[OptionKey, OptionValue], Field(max_length=MAX_OPTIONS)] | None = (
        Field(None, description="the driver's options (local: type, o, device; see the policy)")
    )
    labels: Annotated[dict[LabelKey, OptionValue], Field(max_length=MAX_OPTIONS)] | None = Field(
        None, description="labels of the volume syncd creates; 'syncd.' names are refused"
    )

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        return _legacy_external(data)

    @model_validator(mode="after")
    def _consistent(self) -> Volume:
        if self.external:
            extra = [k for k in ("driver", "driver_opts", "labels") if getattr(self, k)]
            if extra:
                names = ", ".join(extra).replace("driver_opts", "driverOpts")
                raise _fail(f"an external volume is used as it is: {names} cannot be set")
            if self.name is not None:
                _docker_name(self.name)
        return self

    def engine_name(self, key: str) -> str:
        """An external volume's Docker name."""
        return self.name if self.name is not None else key
