"""Registry hosts and image references: which registry an image is pulled from (Docker's own
rule), one canonical address to compare two hosts by, and the grammar of a reference. Each
check raises `PydanticCustomError` with a message that says what is expected. Pure: no I/O.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from syncd.manifests.yamlscalars import clip
from syncd.secretpolicy import holds_unknown

# Every pattern is used with `fullmatch`.
HOST = re.compile(
    r"(?=.{1,253}(:|$))(localhost|[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?"
    r"(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(:[0-9]{1,5})?",
    re.ASCII,
)


def _check_host(value: str) -> str:
    if not HOST.fullmatch(value):
        raise PydanticCustomError(
            "uri",
            f"{clip(value)!r} is not a registry host (e.g. 'registry.example.com' or "
            "'registry.example.com:5000', without a scheme or path)",
        )
    return value


RegistryHost = Annotated[str, AfterValidator(_check_host)]


DOCKER_HUB = "docker.io"
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
HTTPS_PORT = ":443"


def image_registry_host(image: str) -> str | None:
    """The registry host an image reference names, or None for Docker Hub's short form.

    Docker's own rule (`splitDockerDomain`): the first path component is a host when it has a
    `.` or `:`, is `localhost`, or has an upper-case letter (`Evil/app` is pulled from `Evil`)."""
    first, sep, _rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        return first.lower()
    return None


def registry_address(host: str) -> str:
    """Where requests for a registry host go, in one canonical form to compare two hosts by:
    lower case, HTTPS's `:443` dropped (Docker's port for a host without one), and Docker Hub's
    aliases folded into `docker.io`. Any other port is part of the address."""
    address = host.lower()
    address = address.removesuffix(HTTPS_PORT)
    return DOCKER_HUB if address in DOCKER_HUB_ALIASES else address


def image_registry_address(image: str) -> str:
    """`registry_address` of the registry an image is pulled from (Docker Hub when it names
    none)."""
    host = image_registry_host(image)
    return registry_address(host) if host is not None else DOCKER_HUB


_IMAGE = re.compile(
    r"(?:(?P<host>[a-zA-Z0-9.-]+(?::[0-9]+)?)/)?"
    r"(?P<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>[a-z0-9]+:[a-fA-F0-9]{32,128}))?",
    re.ASCII,  # a tag's `\w` is [A-Za-z0-9_], as in Docker's grammar
)
MAX_IMAGE = 512  # Docker: a name of at most 255 characters, a tag of 128, a sha512 digest


MAX_IMAGE_NAME = 255  # Docker: "repository name must not be more than 255 characters"


@functools.lru_cache(maxsize=1024)
def _name_end(value: str) -> int | None:
    """Where the name of a valid reference ends (None: not one); remembered, as a revision's
    services repeat their images and the pattern backtracks over the optional host."""
    match = _IMAGE.fullmatch(value)
    return None if match is None else match.end("path")


def _check_image(value: str) -> str:
    if len(value) > MAX_IMAGE:
        end = None
    elif holds_unknown(value):  # a plan between revisions
        return value
    else:
        end = _name_end(value)
    if end is None:
        raise PydanticCustomError(
            "image",
            f"{clip(value)!r} is not an image reference like 'nginx:1.27' or "
            "'registry.example.com/team/app:1.0'",
        )
    if end > MAX_IMAGE_NAME:
        raise PydanticCustomError(
            "image", f"{clip(value)!r}: the name has more than {MAX_IMAGE_NAME} characters"
        )
    return value


ImageRef = Annotated[str, AfterValidator(_check_image)]
