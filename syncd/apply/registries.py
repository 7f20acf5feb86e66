"""Registry credentials, read at the moment of a pull and never kept, logged or printed.

Every credentialed request (pull, login) gets its `auth_config` here, and only for the registry's
own host and port: `auth_for` refuses any other (`CredentialsHostMismatch`), whoever asks."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from syncd import operatorenv, sops, taint
from syncd.core.desired import DesiredRegistry
from syncd.errors import CredentialsError, CredentialsHostMismatch, SecretFileError, SopsError
from syncd.ids import RegistryKey
from syncd.manifests.images import image_registry_address, registry_address
from syncd.manifests.sopsfiles import KEY_SETTING
from syncd.operatorenv import read_secret_file
from syncd.secretpolicy import is_own


def registry_for(
    image: str, project: str, registries: Mapping[RegistryKey, DesiredRegistry]
) -> DesiredRegistry | None:
    """The project's registry whose host and port the image is pulled from, if any."""
    address = image_registry_address(image)
    for key, registry in sorted(registries.items()):
        if key.project == project and registry_address(registry.uri) == address:
            return registry
    return None


def check_host(registry: DesiredRegistry, image: str) -> None:
    """Refuse unless the image is pulled from the registry's own host and port."""
    target = image_registry_address(image)
    if registry_address(registry.uri) != target:
        raise CredentialsHostMismatch(registry.uri, target, image)


def read_password(
    registry: DesiredRegistry,
    env: Mapping[str, str],
    secrets_dir: Path,
    age_key: Path | None = None,
) -> str:
    """The password, from the operator's variables `env`, a file inside `secrets_dir` or a SOPS
    file of the revision decrypted with the age key file `age_key`; remembered as secret (no log
    line shows it, whatever quotes it)."""
    password = _read_password(registry, env, secrets_dir, age_key)
    taint.remember([password])
    return password


def _read_password(
    registry: DesiredRegistry, env: Mapping[str, str], secrets_dir: Path, age_key: Path | None
) -> str:
    ref = registry.password_ref or ""
    uri = registry.shown("uri")
    kind, _, where = ref.partition(":")
    if kind == "sops":
        try:
            return _sops_password(registry, where, age_key)
        except SopsError as err:
            raise CredentialsError(f"registry {registry.key} ({uri}): {err}") from None
    if kind == "env":
        value = None if is_own(where) else env.get(where)
        if not value:
            raise CredentialsError(
                f"registry {registry.key} ({uri}): the password variable {where} is not set"
            )
        return value
    if kind == "file":
        try:
            return read_secret_file(where, secrets_dir)
        except SecretFileError as err:
            raise CredentialsError(f"registry {registry.key} ({uri}): {err}") from err
    raise CredentialsError(f"registry {registry.key}: no password reference")


def _sops_password(registry: DesiredRegistry, ref: str, age_key: Path | None) -> str:
    """`{sops: path#key}`: the key's value in the encrypted file the revision holds (kept in the
    desired registry), decrypted now; `SopsError` names the file and why, never a value."""
    path, _, key = ref.partition("#")
    identities = operatorenv.age_identities(age_key)
    if identities is None:
        raise SopsError(f"{path} is SOPS-encrypted and syncd has no age key ({KEY_SETTING})")
    document = sops.parse(registry.sops_file or "", sops.format_for(path), path)
    plain = document.decrypt(identities)
    taint.remember(taint.leaves(plain.tree))  # every value of the file: no log line shows one
    return plain.lookup(key)


def auth_for(
    registry: DesiredRegistry | None,
    image: str,
    env: Mapping[str, str],
    secrets_dir: Path,
    age_key: Path | None = None,
) -> dict[str, str] | None:
    """docker-py's `auth_config` for pulling `image`, or None for anonymous pulls; refused
    (before the password is read) when the image is not on the registry's own host."""
    if registry is None or registry.username is None:
        return None
    check_host(registry, image)
    return login_auth(registry, env, secrets_dir, age_key)


def login_auth(
    registry: DesiredRegistry,
    env: Mapping[str, str],
    secrets_dir: Path,
    age_key: Path | None = None,
) -> dict[str, str]:
    """The `auth_config` for a login at the registry's own host (`serveraddress`)."""
    if registry.username is None:
        raise CredentialsError(f"registry {registry.key}: no credentials")
    return {
        "username": registry.username,
        "password": read_password(registry, env, secrets_dir, age_key),
        "serveraddress": registry.uri,
    }
