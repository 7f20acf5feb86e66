"""An image inspect answer -> mittwald's `ContainerImageConfig`. Pure: no I/O.

Docker's image config names the user as written in the Dockerfile (`USER mysql`, `1000:1000`
or nothing = root). A numeric user gives its id; `root` and no user give 0; any other name
gives -1, since its id is only known inside the image's /etc/passwd.
"""

from __future__ import annotations

from typing import Any

from syncd.api.models import ContainerImageConfig, ImageEnv, ImagePort, ImageVolume


def _user(raw: str) -> tuple[str, int]:
    name = raw.split(":", 1)[0].strip()
    if name in ("", "root", "0"):
        return name or "root", 0
    if name.isascii() and name.isdigit() and len(name) <= 10:  # str.isdigit alone takes '²'
        return name, int(name)
    return name, -1


def image_config(inspect: dict[str, Any]) -> ContainerImageConfig:
    config = inspect.get("Config") or {}
    user, user_id = _user(str(config.get("User") or ""))
    digests = inspect.get("RepoDigests") or []
    digest = digests[0].split("@", 1)[1] if digests else str(inspect.get("Id", ""))
    env = []
    for item in config.get("Env") or []:
        key, _, value = str(item).partition("=")
        env.append(ImageEnv(key=key, value=value))
    return ContainerImageConfig(
        user=user,
        userId=user_id,
        isUserRoot=user_id == 0,
        digest=digest,
        command=list(config["Cmd"]) if config.get("Cmd") else None,
        entrypoint=list(config["Entrypoint"]) if config.get("Entrypoint") else None,
        env=env,
        exposedPorts=[ImagePort(port=p) for p in sorted(config.get("ExposedPorts") or {})],
        volumes=[ImageVolume(volume=v) for v in sorted(config.get("Volumes") or {})],
    )
