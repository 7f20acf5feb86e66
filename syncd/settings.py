"""Settings every command shares: flags first, then `SYNCD_*` environment variables, then defaults.

- data dir: `--data-dir` / `SYNCD_DATA_DIR`; default `$XDG_STATE_HOME/syncd`, else
  `/var/lib/syncd` as root, else `~/.local/state/syncd`.
- instance: `--instance` / `SYNCD_INSTANCE`; default `default`.
- publish address: `--publish-address` / `SYNCD_PUBLISH_ADDRESS`; default `127.0.0.1`.
- engine: `--engine` / `SYNCD_ENGINE`; default `docker` (`swarm`: a Swarm manager's services).
- docker host: `--docker-host` / `SYNCD_DOCKER_HOST`, else `DOCKER_HOST`; default: docker-py's.
- deploy timeout: `--deploy-timeout` / `SYNCD_DEPLOY_TIMEOUT`; default 300 (seconds a Swarm
  rolling update may take to converge before the service's apply fails).
- stop timeout: `--stop-timeout` / `SYNCD_STOP_TIMEOUT`; default 10 (seconds before a kill).
- health timeout: `--health-timeout` / `SYNCD_HEALTH_TIMEOUT`; default 120 (seconds a
  `service_healthy` dependent waits).
- rollback grace: `--rollback-grace` / `SYNCD_ROLLBACK_GRACE`; default 3 (seconds a replacing
  container must keep running before the old one is removed; else the old one is restored).
- rollback backoff: `--rollback-backoff` / `SYNCD_ROLLBACK_BACKOFF`; default 300 (seconds before
  a spec that rolled back is tried again; doubled per further rollback of it, at most 32x).
- rollback scope: `--rollback` / `SYNCD_ROLLBACK`; default `service` (a failed replace restores
  that service's old container); `revision`: every service the sync changed returns to the last
  good revision, and the revision is held until its backoff ends.
- parallelism: `--parallelism` / `SYNCD_PARALLELISM`; default 8 (containers changed at once).
- secrets dir: `--secrets-dir` / `SYNCD_SECRETS_DIR`; default `<data dir>/secrets` (the only
  place a manifest's `{file: …}` secret may be read from).
- age key file: `--age-key-file` / `SYNCD_AGE_KEY_FILE`, else `SOPS_AGE_KEY_FILE`; default none
  (SOPS-encrypted files cannot be decrypted; a plan between revisions still compares them).
- policy file: `--policy` / `SYNCD_POLICY_FILE`; default none (the built-in policy: nothing
  allowed). Read by the caller (`syncd.daemon.policyload`), never from the manifest repo.
- profiles: `--profile` (repeatable) / `SYNCD_PROFILES` (comma-separated); default none: only
  Compose services without `profiles:` are deployed.
- signed commits: `--verify-commits`, `--allowed-signers`, `--gpg-keyring`, `--verify-range`
  (`syncd.signers`); default off.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from syncd import signers
from syncd.errors import SyncdError
from syncd.layers import Layers
from syncd.policy import BUILTIN, Policy

INSTANCE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")
DEFAULT_INSTANCE = "default"


@dataclass(frozen=True)
class Limits:
    """Bounds on what one revision may make syncd read: files, YAML depth, values, documents."""

    max_file_bytes: int = 1024 * 1024
    max_depth: int = 64
    max_nodes: int = 100_000  # values of one file, aliases expanded
    max_documents: int = 1000  # documents of one file
    max_dir_depth: int = 64  # directories, on disk and in a commit (source/reader.py)
    # Files of Compose folders that are not YAML (`.env`, bind sources, configs): all of them
    # together, and how many (each one is bounded by `max_file_bytes` too).
    max_data_bytes: int = 64 * 1024 * 1024
    max_data_files: int = 10_000


DEFAULT_LIMITS = Limits()


class EngineKind(StrEnum):
    DOCKER = "docker"
    SWARM = "swarm"


class RollbackScope(StrEnum):
    """What a failed replace rolls back: the service alone, or every service its sync changed
    (back to the last good revision)."""

    SERVICE = "service"
    REVISION = "revision"


def default_data_dir(env: Mapping[str, str]) -> Path:
    if "XDG_STATE_HOME" in env:
        return Path(env["XDG_STATE_HOME"]) / "syncd"
    if os.geteuid() == 0:
        return Path("/var/lib/syncd")
    return Path.home() / ".local" / "state" / "syncd"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    instance: str = DEFAULT_INSTANCE
    publish_address: str = "127.0.0.1"
    engine: EngineKind = EngineKind.DOCKER
    docker_host: str | None = None  # the engine's address (`unix://…`, `tcp://…`); None: default
    deploy_timeout: float = 300.0  # seconds a Swarm service update may take to converge
    parallelism: int = 8  # containers created or started at once
    health_timeout: float = 120.0  # seconds a `service_healthy` dependent waits at most
    stop_timeout: int = 10  # seconds a container gets to stop before it is killed
    rollback_grace: float = 3.0  # seconds a replacing container must keep running (rollback)
    rollback_backoff: float = 300.0  # seconds before a spec that rolled back is tried again
    rollback: RollbackScope = RollbackScope.SERVICE  # what a failed replace rolls back
    secrets_dir: Path | None = None  # where `{file: …}` secrets are read; None: <data dir>/secrets
    age_key_file: Path | None = None  # the operator's age identities (SOPS files); None: none
    policy_file: Path | None = None  # the operator's policy file; None: the built-in policy
    profiles: tuple[str, ...] = ()  # active Compose profiles
    verify: signers.CommitVerification = signers.OFF  # `--verify-commits` and its keys
    policy: Policy = field(default=BUILTIN, repr=False)  # read from `policy_file` by the caller

    def __post_init__(self) -> None:
        if not INSTANCE.match(self.instance):
            raise SyncdError(
                f"instance name {self.instance!r} must be 1-32 lowercase letters, digits or '-'"
            )
        try:
            ipaddress.ip_address(self.publish_address)
        except ValueError as err:
            raise SyncdError(
                f"publish address {self.publish_address!r} is not an IP address"
            ) from err
        if self.parallelism < 1:
            raise SyncdError("parallelism must be at least 1")
        if not 0 < self.deploy_timeout <= 86400:
            raise SyncdError("the deploy timeout must be 0-86400 s (more than 0)")
        if self.stop_timeout < 0 or self.health_timeout <= 0:
            raise SyncdError("the stop timeout must be >= 0 and the health timeout > 0")
        if not (0 <= self.rollback_grace <= 600 and 0 <= self.rollback_backoff <= 86400):
            raise SyncdError(
                "the rollback grace must be 0-600 s and the rollback backoff 0-86400 s"
            )

    @property
    def secrets(self) -> Path:
        """The secrets directory: the only place a manifest's `{file: …}` is read from."""
        return self.secrets_dir or self.data_dir / "secrets"

    @property
    def state_file(self) -> Path:
        return self.data_dir / f"state-{self.instance}.sqlite"

    def project_files(self, project: str) -> Path:
        return self.data_dir / "projects" / project / "files"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings (flags win over SYNCD_* variables)")
    group.add_argument("--data-dir", help="state and project files (env: SYNCD_DATA_DIR)")
    group.add_argument(
        "--instance", help="name of the syncd instance that owns objects (env: SYNCD_INSTANCE)"
    )
    group.add_argument(
        "--publish-address",
        help="host address published ports bind to (env: SYNCD_PUBLISH_ADDRESS; 127.0.0.1)",
    )
    group.add_argument(
        "--stop-timeout",
        type=int,
        help="seconds a container gets to stop (env: SYNCD_STOP_TIMEOUT; 10)",
    )
    group.add_argument(
        "--health-timeout",
        type=float,
        help="seconds to wait for a service_healthy dependency (env: SYNCD_HEALTH_TIMEOUT; 120)",
    )
    group.add_argument(
        "--rollback-grace",
        type=float,
        help="seconds a replacing container must keep running before the old one is removed "
        "(env: SYNCD_ROLLBACK_GRACE; 3)",
    )
    group.add_argument(
        "--rollback-backoff",
        type=float,
        help="seconds before a spec that rolled back is tried again, doubled per further "
        "rollback (env: SYNCD_ROLLBACK_BACKOFF; 300)",
    )
    group.add_argument(
        "--rollback",
        choices=[s.value for s in RollbackScope],
        help="what a failed replace rolls back: the service, or the whole sync's changes back "
        "to the last good revision (env: SYNCD_ROLLBACK; service)",
    )
    group.add_argument(
        "--parallelism",
        type=int,
        help="containers created or started at once (env: SYNCD_PARALLELISM; 8)",
    )
    group.add_argument(
        "--engine",
        choices=[e.value for e in EngineKind],
        help="container engine (env: SYNCD_ENGINE; docker)",
    )
    group.add_argument(
        "--docker-host",
        help="the Docker (or Swarm manager) Engine API address, e.g. unix:///run/docker.sock "
        "(env: SYNCD_DOCKER_HOST, else DOCKER_HOST)",
    )
    group.add_argument(
        "--deploy-timeout",
        type=float,
        help="seconds a Swarm rolling update may take to converge (env: SYNCD_DEPLOY_TIMEOUT; 300)",
    )
    signers.add_arguments(group)


def add_manifest_arguments(parser: argparse.ArgumentParser) -> None:
    """The settings that decide what a revision may ask for: the policy file and the profiles
    (`validate`, which takes no other setting, has these too)."""
    parser.add_argument(
        "--policy",
        dest="policy_file",
        metavar="FILE",
        help="the operator's policy: what manifests may ask of the host (env: "
        "SYNCD_POLICY_FILE; default: none, nothing allowed); never a file in the repo",
    )
    parser.add_argument(
        "--profile",
        dest="profiles",
        action="append",
        metavar="NAME",
        help="deploy the Compose services of this profile too; repeatable "
        "(env: SYNCD_PROFILES, comma-separated; default: none)",
    )


SETTING_NAMES = {
    "data_dir",
    "instance",
    "publish_address",
    "engine",
    "docker_host",
    "deploy_timeout",
    "stop_timeout",
    "health_timeout",
    "rollback_grace",
    "rollback_backoff",
    "rollback",
    "parallelism",
    "secrets_dir",
    "age_key_file",
    "policy_file",
    "profiles",
    *signers.NAMES,
}
_PROFILE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")  # Compose's profile names


def profiles(layers: Layers) -> tuple[str, ...]:
    """`--profile` / `SYNCD_PROFILES`: the active Compose profiles, each a Compose profile name."""
    names = tuple(dict.fromkeys(p.strip() for p in layers.get("profiles", "").split(",")))
    names = tuple(n for n in names if n)
    for name in names:
        if not _PROFILE.match(name) or len(name) > 128:
            raise SyncdError(
                f"profile {name[:80]!r} is not a Compose profile name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)"
            )
    return names


def policy_file(layers: Layers) -> Path | None:
    """`--policy` / `SYNCD_POLICY_FILE`, absolute; None: the built-in policy."""
    given = layers.get("policy_file", "")
    return Path(given).absolute() if given else None


def engine(layers: Layers) -> EngineKind:
    """`--engine` / `SYNCD_ENGINE`: the engine manifests are checked for (`validate` too)."""
    value = layers.get("engine", EngineKind.DOCKER.value)
    if value not in {e.value for e in EngineKind}:
        known = ", ".join(e.value for e in EngineKind)
        raise SyncdError(f"engine {value!r} is not one of: {known}")
    return EngineKind(value)


def secrets_dir(layers: Layers, env: Mapping[str, str]) -> Path:
    """`--secrets-dir` / `SYNCD_SECRETS_DIR`, else `<data dir>/secrets`; always absolute."""
    given = layers.get("secrets_dir", "")
    if given:
        return Path(given).absolute()
    data_dir = layers.get("data_dir", "")
    return (Path(data_dir).absolute() if data_dir else default_data_dir(env)) / "secrets"


def age_key_file(layers: Layers, env: Mapping[str, str]) -> Path | None:
    """`--age-key-file` / `SYNCD_AGE_KEY_FILE` / the config file, else `SOPS_AGE_KEY_FILE` (as
    the sops tool reads it); absolute. None: no age key (SOPS files cannot be decrypted)."""
    given = layers.get("age_key_file", "") or env.get("SOPS_AGE_KEY_FILE", "")
    return Path(given).absolute() if given else None


def from_args(
    args: argparse.Namespace, env: Mapping[str, str] | None = None, layers: Layers | None = None
) -> Settings:
    env = os.environ if env is None else env
    layers = layers or Layers(args, env)
    data_dir = layers.get("data_dir", "")
    engine = layers.get("engine", EngineKind.DOCKER.value)
    if engine not in {e.value for e in EngineKind}:
        raise SyncdError(f"engine {engine!r} is not one of: docker, swarm")
    rollback = layers.get("rollback", RollbackScope.SERVICE.value)
    if rollback not in {s.value for s in RollbackScope}:
        raise SyncdError(f"rollback {rollback!r} is not one of: service, revision")
    try:
        stop_timeout = int(layers.get("stop_timeout", "10"))
        health_timeout = float(layers.get("health_timeout", "120"))
        parallelism = int(layers.get("parallelism", "8"))
        rollback_grace = float(layers.get("rollback_grace", "3"))
        rollback_backoff = float(layers.get("rollback_backoff", "300"))
        deploy_timeout = float(layers.get("deploy_timeout", "300"))
    except ValueError as err:
        raise SyncdError(f"a numeric setting is not a number: {err}") from err
    return Settings(
        stop_timeout=stop_timeout,
        health_timeout=health_timeout,
        parallelism=parallelism,
        rollback_grace=rollback_grace,
        rollback_backoff=rollback_backoff,
        rollback=RollbackScope(rollback),
        data_dir=Path(data_dir).absolute() if data_dir else default_data_dir(env),
        instance=layers.get("instance", DEFAULT_INSTANCE),
        publish_address=layers.get("publish_address", "127.0.0.1"),
        engine=EngineKind(engine),
        docker_host=layers.get("docker_host", "") or env.get("DOCKER_HOST") or None,
        deploy_timeout=deploy_timeout,
        secrets_dir=secrets_dir(layers, env),
        age_key_file=age_key_file(layers, env),
        policy_file=policy_file(layers),
        profiles=profiles(layers),
        verify=signers.from_layers(layers.get),
    )
