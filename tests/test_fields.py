"""Table-driven tests of the small string languages inside manifests."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic_core import PydanticCustomError

from syncd.manifests.fields import (
    MountKind,
    PortSpec,
    Protocol,
    image_registry_host,
    parse_cpus,
    parse_duration,
    parse_memory,
    parse_mount,
    parse_port,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("8080:80/tcp", PortSpec(80, Protocol.TCP, 8080)),
        ("80/tcp", PortSpec(80, Protocol.TCP)),
        ("53/udp", PortSpec(53, Protocol.UDP)),
        ("80", PortSpec(80, Protocol.TCP)),
        ("3306/tcp", PortSpec(3306, Protocol.TCP)),
    ],
)
def test_ports(raw: str, expected: PortSpec) -> None:
    assert parse_port(raw) == expected
    assert str(parse_port(raw)).endswith(str(expected.container) + "/" + expected.protocol)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("80:80:80", "is not <public>:<container>/<proto>"),
        ("127.0.0.1:80:80/tcp", "is not <public>:<container>/<proto>"),
        ("0/tcp", "container port 0 is outside"),
        ("99999:80/tcp", "public port 99999 is outside"),
        ("80/icmp", "protocol 'icmp'"),
        ("", "is not"),
    ],
)
def test_bad_ports(raw: str, message: str) -> None:
    with pytest.raises(PydanticCustomError, match=message):
        parse_port(raw)


@pytest.mark.parametrize(
    ("raw", "kind", "source", "target", "ro"),
    [
        ("data:/var/lib/mysql:ro", MountKind.VOLUME, "data", "/var/lib/mysql", True),
        (
            "/home/p-XXXXX/html:/var/www",
            MountKind.PROJECT_FILES,
            "/home/p-XXXXX/html",
            "/var/www",
            False,
        ),
        ("html:/usr/share/nginx/html:rw", MountKind.VOLUME, "html", "/usr/share/nginx/html", False),
    ],
)
def test_mounts(raw: str, kind: MountKind, source: str, target: str, ro: bool) -> None:
    mount = parse_mount(raw)
    assert (mount.kind, mount.source, mount.target, mount.read_only) == (kind, source, target, ro)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("data", "is not <volume>:<mountpoint>"),
        ("data:/x:rx", "mode 'rx'"),
        ("data:x", "must be an absolute path"),
        ("/a/../../b:/x", "'..' is not allowed in a project-files path"),
        ("data:/a/../b", "'..' is not allowed in the mountpoint"),
        ("my vol:/x", "neither a volume name"),
        ("a:b:c:d", "is not <volume>:<mountpoint>"),
    ],
)
def test_bad_mounts(raw: str, message: str) -> None:
    with pytest.raises(PydanticCustomError, match=message):
        parse_mount(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1gb", 1024**3), ("256mb", 256 * 1024**2), ("512M", 512 * 1024**2), ("7340032", 7340032)],
)
def test_memory(raw: str, expected: int) -> None:
    assert parse_memory(raw) == expected


@pytest.mark.parametrize("raw", ["1kb", "lots", "1tb", "-5mb"])
def test_bad_memory(raw: str) -> None:
    with pytest.raises(PydanticCustomError):
        parse_memory(raw)


def test_cpus() -> None:
    assert parse_cpus("0.5") == Decimal("0.5")
    for bad in ("0", "-1", "x", "NaN", "0.0000000001"):
        with pytest.raises(PydanticCustomError):
            parse_cpus(bad)


@pytest.mark.parametrize(
    ("raw", "seconds"), [("10s", 10.0), ("1m30s", 90.0), ("500ms", 0.5), ("1h", 3600.0)]
)
def test_durations(raw: str, seconds: float) -> None:
    assert parse_duration(raw) == seconds


@pytest.mark.parametrize("raw", ["10", "ten seconds", "", "10x"])
def test_bad_durations(raw: str) -> None:
    with pytest.raises(PydanticCustomError):
        parse_duration(raw)


@pytest.mark.parametrize(
    ("image", "host"),
    [
        ("nginx:1.27", None),
        ("library/nginx", None),
        ("registry.example.com/team/app:1", "registry.example.com"),
        ("127.0.0.1:5555/private/busybox:1.36", "127.0.0.1:5555"),
        ("localhost/app", "localhost"),
    ],
)
def test_image_registry_host(image: str, host: str | None) -> None:
    assert image_registry_host(image) == host
