"""Registry credentials, read at the moment of a pull and never kept, logged or printed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from syncd.desired import DesiredRegistry
from syncd.errors import SyncdError
from syncd.ids import RegistryKey
from syncd.manifests.fields import image_registry_host
from syncd.operatorenv import SecretFileError, read_secret_file
from syncd.secretpolicy import is_own


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


def read_password(registry: DesiredRegistry, env: Mapping[str, str], secrets_dir: Path) -> str:
    """The password, from the operator's variables `env` or a file inside `secrets_dir`."""
    ref = registry.password_ref or ""
    kind, _, where = ref.partition(":")
    if kind == "env":
        value = None if is_own(where) else env.get(where)
        if not value:
            raise CredentialsError(
                f"registry {registry.key} ({registry.uri}): "
                f"the password variable {where} is not set"
            )
        return value
    if kind == "file":
        try:
            return read_secret_file(where, secrets_dir)
        except SecretFileError as err:
            raise CredentialsError(f"registry {registry.key} ({registry.uri}): {err}") from None
    raise CredentialsError(f"registry {registry.key}: no password reference")


def auth_for(
    registry: DesiredRegistry | None, env: Mapping[str, str], secrets_dir: Path
) -> dict[str, str] | None:
    """docker-py's `auth_config` for a pull, or None for anonymous pulls."""
    if registry is None or registry.username is None:
        return None
    return {
        "username": registry.username,
        "password": read_password(registry, env, secrets_dir),
        "serveraddress": registry.uri,
    }
