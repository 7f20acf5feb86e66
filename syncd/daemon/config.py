"""`syncd run`'s own settings, resolved with the shared ones in one precedence order
(flag > `SYNCD_*` > config file > default), and printed by `--print-config`."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from syncd import operatorenv
from syncd.apply.ownership import Guard, parse_share
from syncd.daemon import notifyconfig
from syncd.daemon.pausing import Mode
from syncd.daemon.policyload import with_policy
from syncd.errors import SyncdError
from syncd.layers import Layers
from syncd.manifests.interpolate import REDACTED
from syncd.settings import SETTING_NAMES, Settings, from_args
from syncd.source.identity import identify
from syncd.taint import redact_url

RUN_NAMES = {
    "repo",
    "branch",
    "path",
    "listen",
    "poll_interval",
    "drift_interval",
    "webhook_secret_file",
    "webhook_secret",
    "admin_token_file",
    "admin_token",
    "read_token_file",
    "read_token",
    "ssh_key_file",
    "token_file",
    "env_file",
    "allow_env",
    "allow_empty",
    "allow_mass_removal",
    "max_removal_share",
    "adopt",
    "mode",
    *notifyconfig.NAMES,
}
SECRET_NAMES = {"webhook_secret", "admin_token", "read_token"}


@dataclass(frozen=True)
class RunConfig:
    repo: str
    branch: str | None = None
    paths: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 8080
    poll_interval: float = 30.0
    drift_interval: float = 60.0
    webhook_secret: str | None = None  # the value (from a file or SYNCD_WEBHOOK_SECRET)
    admin_token: str | None = None  # enables operational tasks; needed for them
    read_token: str | None = None  # when set, needed for everything but /healthz and webhooks
    ssh_key_file: Path | None = None
    token_file: Path | None = None
    env_files: tuple[str, ...] = ()  # the operator's variables: see syncd.operatorenv
    allow_env: tuple[str, ...] = ()
    allow_empty: bool = False  # = allow_mass_removal: one setting, two names
    adopt: bool = False  # take the instance over from the source it belongs to
    max_removal_share: float = 0.5  # of the services, one sync may remove (`apply.ownership`)
    mode: Mode = Mode.APPLY  # detect: read only, never act (`pausing`)
    notify: notifyconfig.NotifySettings = field(default_factory=notifyconfig.NotifySettings)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", help="bare repo, work tree or remote URL (env: SYNCD_REPO)")
    parser.add_argument("--branch", help="branch to follow (default: the repo's default branch)")
    parser.add_argument(
        "--path", action="append", help="manifest root inside the repo; repeatable (SYNCD_PATH)"
    )
    parser.add_argument("--listen", help="API address HOST:PORT (default 127.0.0.1:8080)")
    parser.add_argument("--poll-interval", help="seconds between remote checks (default 30)")
    parser.add_argument("--drift-interval", help="seconds between drift passes (default 60)")
    parser.add_argument(
        "--webhook-secret-file",
        help="file holding the webhook secret (or SYNCD_WEBHOOK_SECRET holds it)",
    )
    parser.add_argument(
        "--admin-token-file",
        help="file holding the token that enables operational tasks (or SYNCD_ADMIN_TOKEN)",
    )
    parser.add_argument(
        "--read-token-file",
        help="file holding a token every API read needs (or SYNCD_READ_TOKEN); default: none",
    )
    parser.add_argument("--ssh-key-file", help="SSH private key for a remote git URL")
    parser.add_argument("--token-file", help="HTTPS token for a remote git URL, in a file")
    operatorenv.add_arguments(parser)
    notifyconfig.add_arguments(parser)
    parser.add_argument(
        "--allow-mass-removal",
        "--allow-empty",
        dest="allow_empty",
        action="store_const",
        const="true",
        help="allow removing more than --max-removal-share of the services, or every stack "
        "(env: SYNCD_ALLOW_MASS_REMOVAL or SYNCD_ALLOW_EMPTY)",
    )
    parser.add_argument(
        "--adopt",
        action="store_const",
        const="true",
        help="take the instance over from the source it belongs to (env: SYNCD_ADOPT)",
    )
    parser.add_argument(
        "--max-removal-share",
        metavar="PERCENT",
        help="share of the services one sync may remove (env: SYNCD_MAX_REMOVAL_SHARE; 50)",
    )
    parser.add_argument(
        "--mode",
        choices=[m.value for m in Mode],
        help="apply (default) or detect: report drift and the pending plan, never act (SYNCD_MODE)",
    )
    parser.add_argument("--config", help="YAML config file (env: SYNCD_CONFIG)")
    parser.add_argument(
        "--print-config", action="store_true", help="print the resolved settings and exit"
    )


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not re.fullmatch("[0-9]{1,5}", port) or not 0 < int(port) < 65536:
        if not sep:  # `localhost`: a host alone
            example = f"{text}:8080" if re.fullmatch(r"[\w.-]+", text) else "127.0.0.1:8080"
            raise SyncdError(f"--listen {text!r} has no port: give HOST:PORT (e.g. {example})")
        raise SyncdError(
            f"--listen {text!r} is not HOST:PORT with a port 1-65535 (e.g. 127.0.0.1:8080)"
        )
    return host.strip("[]") or "127.0.0.1", int(port)


def _number(layers: Layers, name: str, default: str) -> float:
    raw = layers.get(name, default)
    try:
        value = float(raw)
    except ValueError as err:
        raise SyncdError(f"{name.replace('_', '-')} {raw!r} is not a number of seconds") from err
    if value <= 0:
        raise SyncdError(f"{name.replace('_', '-')} must be above 0")
    return value


def _true(layers: Layers, name: str) -> bool:
    return layers.get(name, "false").lower() in ("1", "true", "yes")


def _mode(text: str) -> Mode:
    try:
        return Mode(text.strip().lower())
    except ValueError:
        choices = ", ".join(m.value for m in Mode)
        raise SyncdError(f"mode {text[:40]!r} is not one of {choices}") from None


def _secret(layers: Layers, name: str) -> str | None:
    """A secret's value: given directly (SYNCD_<NAME>) or read from `<name>_file`."""
    value = layers.get(name, "") or None
    path = layers.get(f"{name}_file", "")
    if value is None and path:
        try:
            value = Path(path).read_text().strip() or None
        except OSError as err:
            label = name.replace("_", " ")
            raise SyncdError(f"cannot read the {label} file {path}: {err.strerror}") from err
    return value


def resolve(
    args: argparse.Namespace, env: Mapping[str, str] | None = None
) -> tuple[RunConfig, Settings, Layers]:
    env = os.environ if env is None else env
    layers = Layers(args, env)
    layers.check_file(RUN_NAMES | SETTING_NAMES)
    repo = layers.get("repo", "")
    if not repo:
        raise SyncdError("no repository: give --repo (or SYNCD_REPO, or repo: in the config file)")
    settings = with_policy(from_args(args, env, layers), repo)
    secret = _secret(layers, "webhook_secret")
    host, port = _listen(layers.get("listen", "127.0.0.1:8080"))
    paths = tuple(p for p in layers.get("path", "").split(",") if p)
    env_files, allow_env = operatorenv.settings(layers)
    config = RunConfig(
        repo=repo,
        branch=layers.get("branch", "") or None,
        paths=paths,
        host=host,
        port=port,
        poll_interval=_number(layers, "poll_interval", "30"),
        drift_interval=_number(layers, "drift_interval", "60"),
        webhook_secret=secret,
        admin_token=_secret(layers, "admin_token"),
        read_token=_secret(layers, "read_token"),
        ssh_key_file=Path(f) if (f := layers.get("ssh_key_file", "")) else None,
        token_file=Path(f) if (f := layers.get("token_file", "")) else None,
        env_files=env_files,
        allow_env=allow_env,
        allow_empty=_true(layers, "allow_empty") or _true(layers, "allow_mass_removal"),
        adopt=_true(layers, "adopt"),
        max_removal_share=parse_share(layers.get("max_removal_share", "50")),
        notify=notifyconfig.settings(layers, args, host, port, _secret),
        mode=_mode(layers.get("mode", "apply")),
    )
    return config, settings, layers


def describe(config: RunConfig, settings: Settings, layers: Layers) -> str:
    """Every resolved setting with where it came from; secret values redacted."""
    rows: list[tuple[str, str, str]] = []
    values = {f.name: getattr(settings, f.name) for f in fields(settings) if f.name != "policy"}
    values |= {f.name: getattr(config, f.name) for f in fields(config)}
    values["listen"] = f"{config.host}:{config.port}"
    origin_of = {
        "paths": "path",
        "host": "listen",
        "port": "listen",
        "env_files": "env_file",
        "verify": "verify_commits",
    }
    for name in sorted(set(values) - {"host", "port"}):
        value = values[name]
        if name in SECRET_NAMES and value:
            value = REDACTED
        elif name in ("repo", "docker_host") and value:
            value = redact_url(value)  # a token in the URL's userinfo
        elif isinstance(value, tuple):
            value = ", ".join(map(str, value))
        origin = layers.origins.get(origin_of.get(name, name))
        rows.append((name.replace("_", "-"), str(value), origin.value if origin else "default"))
    width = max(len(r[0]) for r in rows)
    lines = [f"{name:<{width}}  {value}  ({origin})" for name, value, origin in rows]
    if layers.file_path:
        lines.append(f"# config file: {layers.file_path}")
    return "\n".join(lines)


def guard_of(config: RunConfig, branch: str) -> Guard:
    """The removal guards of the daemon's syncs: its source, `--adopt`, the mass-removal share."""
    return Guard(
        source=identify(config.repo, config.paths, branch=branch),
        adopt=config.adopt,
        allow_mass_removal=config.allow_empty,
        max_share=config.max_removal_share,
    )
