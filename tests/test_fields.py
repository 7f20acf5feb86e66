"""Table-driven tests of the small string languages inside manifests."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from pydantic_core import PydanticCustomError

from syncd.manifests.fields import (
    MountKind,
    PortSpec,
    Protocol,
    _check_env_name,
    check_dns_label,
    check_no_nul,
    parse_mount,
    parse_port,
)
from syncd.manifests.images import _check_host, _check_image, image_registry_host
from syncd.manifests.quantities import parse_cpus, parse_duration, parse_memory


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
        ("1.2.3.999:80:80/tcp", "is not an IP address"),
        ("127.0.0.1:80/tcp", "is not <public>:<container>/<proto>"),
        ("[::1]80:80/tcp", "is not <public>:<container>/<proto>"),
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


# Issue 10: every converter is total and bounded, digits are ASCII, the whole text must match,
# and values Docker refuses are refused here, with a message instead of an exception.
@pytest.mark.parametrize(
    ("parser", "raw", "message"),
    [
        (parse_duration, "9" * 400 + "s", "too large"),
        (parse_duration, "8761h", "too large: at most 8760h"),
        (parse_duration, "1s" * 5, "has more than 4 parts"),
        (parse_duration, "0.5ms", "below 1ms"),
        (parse_duration, "\u0661\u0660s", "is not a duration"),
        (parse_duration, "10s\n", "is not a duration"),
        (parse_memory, "9" * 400 + "gb", "too large"),
        (parse_memory, "8589934592gb", "too large: Docker takes at most"),
        (parse_memory, "\u0662\u0665\u0666mb", "is not a byte value"),
        (parse_memory, "\uff12\uff15\uff16mb", "is not a byte value"),
        (parse_cpus, "1e999999999", "is not a number of CPU cores"),
        (parse_cpus, "Infinity", "is not a number of CPU cores"),
        (parse_cpus, "1_0", "is not a number of CPU cores"),
        (parse_cpus, "\u0660.\u0665", "is not a number of CPU cores"),
        (parse_cpus, "0.001", "at least 0.01"),
        (parse_cpus, "8193", "at most 8192"),
        (parse_cpus, "0.0100000000000000000000000001", "at most 9 decimal places"),
        (parse_cpus, "9" * 40, "at most 32 characters"),
        (parse_port, "8" * 5000 + "/tcp", "container port 88888"),
        (parse_port, "\u0668\u0660/tcp", "is not <public>:<container>/<proto>"),
        (parse_port, "80/tcp\n", "is not <public>:<container>/<proto>"),
        (parse_mount, "data:/", "the mountpoint cannot be '/'"),
        (parse_mount, "/files://", "the mountpoint cannot be '/'"),
        (parse_mount, "data:/./", "the mountpoint cannot be '/'"),
        (parse_mount, "data:/x\x00", "a NUL character"),
        (parse_mount, "data\n:/x", "neither a volume name"),
    ],
)
def test_converters_refuse_with_a_message(
    parser: Callable[[str], object], raw: str, message: str
) -> None:
    with pytest.raises(PydanticCustomError, match=re.escape(message)):
        parser(raw)


@pytest.mark.parametrize(
    ("check", "raw"),
    [
        (check_dns_label, "web\n"),
        (check_dns_label, "w\u0661b"),
        (_check_image, "busybox:\u0661.\u0663\u0666"),
        (_check_image, "busybox:\uff11"),
        (_check_image, "busybox:1.36\n"),
        (_check_image, "busybox:" + "1" * 129),
        (_check_image, "a" * 600),
        (_check_image, "a" * 256 + ":1"),
        (_check_host, "registry.example.com\n"),
        (_check_env_name, "A\n\x00"),
        (check_no_nul, "x\x00"),
    ],
)
def test_checks_refuse_other_scripts_trailing_newlines_and_nul(
    check: Callable[[str], str], raw: str
) -> None:
    with pytest.raises(PydanticCustomError):
        check(raw)


def test_bounds_still_accept_what_docker_accepts() -> None:
    assert parse_duration("8760h") == 365 * 24 * 3600
    assert parse_duration("1ms") == 0.001
    assert parse_duration("0s") == 0
    assert parse_memory("8589934591gb") == 8589934591 * 1024**3
    assert parse_cpus("0.01") == Decimal("0.01")
    assert parse_cpus("8192") == 8192
    assert parse_cpus("0.500000000") == Decimal("0.5")
    assert parse_mount("data:/data/").target == "/data/"
    assert _check_image("busybox:" + "1" * 128)
    assert _check_image("a" * 255 + ":" + "1" * 128 + "@sha256:" + "a" * 64)
