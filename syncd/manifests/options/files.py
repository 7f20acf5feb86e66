"""Service fields: what a service mounts: the long form of `volumes` (named volumes, binds of
files and folders from git, data folders, host paths, tmpfs), and the files of `configs` and
`secrets`; the stack's config and secret sources.

Named as the Compose Specification names them, in camelCase, with Compose's meaning:

- `volumes` entries are either the short strings (`name:/path[:ro]`, `/<project path>:/path`)
  or a `Mount` (`{type: volume|bind|tmpfs, source, target, readOnly, ...}`). A `bind` source is
  relative (`./conf/nginx.conf`, to the manifest's folder: a file or folder of the revision,
  mounted read-only; one the revision lacks is a data folder in the project's file area) or
  absolute (a host path: policy `hostPaths`).
- `configs` / `secrets` (service): `[name]` or `[{source, target, uid, gid, mode}]`, mounted at
  `/<source>` (mode 0444) and `/run/secrets/<source>` (mode 0400) by default.
- `configs` / `secrets` (stack): `{name: {file: ./path} | {content: text}}` (Compose's
  `environment:` is read into `content` by the Compose reader, tainted).
Pure: no I/O.
"""

from __future__ import annotations

import posixpath
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from syncd.manifests.fields import VOLUME_NAME, MountKind, MountSpec, check_no_nul, parse_mount
from syncd.manifests.strict import StrictModel

MAX_MODE = 0o7777
MAX_VOLUME_NAME = 63
SECRETS_DIR = "/run/secrets"


class MountType(StrEnum):
    VOLUME = "volume"
    BIND = "bind"
    TMPFS = "tmpfs"


class Propagation(StrEnum):
    PRIVATE = "private"
    RPRIVATE = "rprivate"
    SHARED = "shared"
    RSHARED = "rshared"
    SLAVE = "slave"
    RSLAVE = "rslave"


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("mount", message)


def check_volume_name(name: str) -> str:
    """Compose's alphabet for volume names (D21): letters of either case, digits, `_`, `.`, `-`."""
    if len(name) > MAX_VOLUME_NAME or not VOLUME_NAME.fullmatch(name):
        raise PydanticCustomError(
            "name",
            f"{name[:40]!r} is not a volume name: at most {MAX_VOLUME_NAME} letters, digits, "
            "'_', '.' and '-', starting with a letter or digit",
        )
    return name


VolumeName = Annotated[str, AfterValidator(check_volume_name)]


def check_target(target: str) -> str:
    check_no_nul(target)
    if not target.startswith("/"):
        raise _fail(f"the mountpoint {target[:40]!r} must be an absolute path")
    if any(part == ".." for part in target.split("/")):
        raise _fail("'..' is not allowed in the mountpoint")
    if posixpath.normpath(target) == "/":
        raise _fail("the mountpoint cannot be '/' (Docker refuses it)")
    return target


def _octal(value: Any) -> Any:
    """A mode: a YAML number is its value (`0440` and `0o440` are octal in both of syncd's YAML
    readers); a string holds octal digits (`"0440"`, `"440"`, `"0o440"`)."""
    if isinstance(value, str):
        text = value.removeprefix("0o")
        if not text or any(c not in "01234567" for c in text) or len(text) > 5:
            raise _fail(f"mode {value!r} is not an octal mode like 0440")
        return int(text, 8)
    return value


Mode = Annotated[int, BeforeValidator(_octal), Field(ge=0, le=MAX_MODE)]


class BindOptions(StrictModel):
    propagation: Propagation | None = None


class VolumeOptions(StrictModel):
    nocopy: bool = False
    labels: dict[str, Annotated[str, AfterValidator(check_no_nul)]] | None = Field(
        None, description="an anonymous volume's labels ('syncd.' names are refused)"
    )

    @model_validator(mode="after")
    def _own_labels(self) -> VolumeOptions:
        for key in self.labels or {}:
            check_no_nul(key)
            if not key or key.lower().startswith("syncd."):
                raise _fail(f"label {key[:40]!r}: names starting with 'syncd.' are syncd's own")
        return self


class TmpfsOptions(StrictModel):
    size: Annotated[int, Field(ge=0)] | None = Field(None, description="bytes")
    mode: Mode | None = None


class Mount(StrictModel):
    """The long form of a `volumes` entry."""

    type: MountType
    source: str | None = Field(
        None,
        description="volume: its name; bind: './path' in the revision (or a data folder), or an "
        "absolute host path (policy hostPaths); tmpfs: none",
    )
    target: Annotated[str, BeforeValidator(check_target)]
    read_only: bool = False
    bind: BindOptions | None = None
    volume: VolumeOptions | None = None
    tmpfs: TmpfsOptions | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Mount:
        kind, source = self.type, self.source
        if source is not None:
            check_no_nul(source)
        options = {"bind": self.bind, "volume": self.volume, "tmpfs": self.tmpfs}
        for name, value in options.items():
            if value is not None and name != kind.value:
                raise _fail(f"'{name}' options belong to a mount of type {name}")
        match kind:
            case MountType.TMPFS:
                if source is not None:
                    raise _fail("a tmpfs mount takes no 'source'")
            case MountType.VOLUME:  # no source: an anonymous volume (syncd names it)
                if source is not None and not VOLUME_NAME.fullmatch(source):
                    raise _fail(f"{source[:40]!r} is not a volume of this stack")
                if source is not None and self.volume and self.volume.labels:
                    raise _fail("label a named volume with the stack's volumes.<name>.labels")
            case MountType.BIND:
                if not source:
                    raise _fail("a bind mount needs 'source'")
                if source.startswith("/"):
                    if any(part == ".." for part in source.split("/")):
                        raise _fail("'..' is not allowed in a host path")
                elif not source.startswith("."):
                    raise _fail(
                        f"bind source {source[:40]!r}: a path from the revision starts with './' "
                        "(relative to this file); a host path with '/'"
                    )
        return self


def mount_spec(item: str | Mount) -> MountSpec:
    """Either form as `(kind, source, target, read_only)`; a bind's relative source is kept
    as written (`./conf`), resolved against the revision later (`core.options.files`)."""
    if isinstance(item, str):
        return parse_mount(item)
    match item.type:
        case MountType.VOLUME:
            kind = MountKind.VOLUME
        case MountType.TMPFS:
            kind = MountKind.TMPFS
        case MountType.BIND:
            kind = MountKind.HOST if (item.source or "").startswith("/") else MountKind.REPO
    return MountSpec(kind, item.source or "", item.target, item.read_only)


class FileRef(StrictModel):
    """A service's use of a config or secret (Compose's long form)."""

    source: str = Field(min_length=1, max_length=255)
    target: str | None = None
    uid: str | None = None
    gid: str | None = None
    mode: Mode | None = None

    @model_validator(mode="after")
    def _names(self) -> FileRef:
        if not VOLUME_NAME.fullmatch(self.source):
            raise _fail(f"{self.source[:40]!r} is not a config or secret name")
        if self.target is not None:
            check_no_nul(self.target)
            if any(part == ".." for part in self.target.split("/")) or not self.target:
                raise _fail("'..' is not allowed in a target")
        for owner in (self.uid, self.gid):
            if owner is not None and not owner.isdigit():
                raise _fail(f"uid/gid {owner[:20]!r} is not a number")
        return self


def _ref_short(value: Any) -> Any:
    """`[name]` is short for `[{source: name}]`."""
    if isinstance(value, list):
        return [{"source": v} if isinstance(v, str) else v for v in value]
    return value


FileRefs = Annotated[list[FileRef], BeforeValidator(_ref_short)]


class FilesFields(StrictModel):
    """Mixed into `model.Service`."""

    configs: FileRefs | None = Field(
        None, description="config files: [name] or [{source, target, uid, gid, mode}]"
    )
    secrets: FileRefs | None = Field(
        None, description="secret files: [name] or [{source, target, uid, gid, mode}]"
    )


class FileSource(StrictModel):
    """Where a config's or secret's content comes from: a file of the revision, or text."""

    file: str | None = Field(None, description="'./path' relative to this file, in the revision")
    content: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> FileSource:
        if (self.file is None) == (self.content is None):
            raise _fail("name exactly one of 'file' or 'content'")
        if self.file is not None:
            check_no_nul(self.file)
            if self.file.startswith("/"):
                raise _fail("'file' is a path in the revision, relative to this file")
        return self


def _empty_if_null(value: Any) -> Any:
    return {} if value is None else value


FileSources = Annotated[dict[str, FileSource], BeforeValidator(_empty_if_null)]


class StackFilesFields(StrictModel):
    """The stack's config and secret sources (Compose's top-level `configs` and `secrets`)."""

    configs: FileSources = Field(default_factory=dict)
    secrets: FileSources = Field(default_factory=dict)
