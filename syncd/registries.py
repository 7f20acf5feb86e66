"""Registry credentials, read at the moment of a pull and never kept, logged or printed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from syncd import taint
from syncd.desired import DesiredRegistry
from syncd.errors import SyncdError
from syncd.ids import RegistryKey
from syncd.manifests.fields import image_registry_host


class CredentialsError(SyncdError):
    """A registry's password cannot be read (variable unset, file missing)."""


def registry_for(
    image: str, project: str, registries: Mapping[RegistryKey, DesiredRegistry]
) -> DesiredRegistry | None:
    """The project's registry whose host the image names, if any."""
    host = image_registry_host(image)
    if host is None:
        return None
    for key, registry in sorted(registries.items()):
        if key.project == project and registry.uri == host:
            return registry
    return None


def read_password(registry: DesiredRegistry, env: Mapping[str, str]) -> str:
    """The password, remembered as secret (no log line shows it, whatever quotes it)."""
    password = _read_password(registry, env)
    taint.remember([password])
    return password


def _read_password(registry: DesiredRegistry, env: Mapping[str, str]) -> str:
    ref = registry.password_ref or ""
    uri = registry.shown("uri")
    kind, _, where = ref.partition(":")
    if kind == "env":
        value = env.get(where)
        if not value:
            raise CredentialsError(
                f"registry {registry.key} ({uri}): the password variable {where} is not set"
            )
        return value
    if kind == "file":
        try:
            return Path(where).read_text().rstrip("\r\n")
        except OSError as err:
            raise CredentialsError(
                f"registry {registry.key} ({uri}): cannot read the password file "
                f"{where}: {err.strerror}"
            ) from None
    raise CredentialsError(f"registry {registry.key}: no password reference")


def auth_for(registry: DesiredRegistry | None, env: Mapping[str, str]) -> dict[str, str] | None:
    """docker-py's `auth_config` for a pull, or None for anonymous pulls."""
    if registry is None or registry.username is None:
        return None
    return {
        "username": registry.username,
        "password": read_password(registry, env),
        "serveraddress": registry.uri,
    }
