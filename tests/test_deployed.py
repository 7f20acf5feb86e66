"""Docker's inspect answer -> the deployed spec in syncd's canonical forms (pure)."""

from __future__ import annotations

from syncd.daemon.deployed import deployed_spec

INSPECT = {
    "Config": {
        "Image": "busybox:1.36",
        "Cmd": ["httpd", "-f"],
        "Entrypoint": None,
        "Env": ["GREETING=hi", "PATH=/usr/bin:/bin", "HOME=/custom"],
        "ExposedPorts": {"8080/tcp": {}, "9000/tcp": {}, "53/udp": {}},
    },
    "HostConfig": {"PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}]}},
    "Mounts": [
        {
            "Type": "bind",
            "Source": "/data/projects/shop/files/html",
            "Destination": "/www",
            "RW": False,
        },
        {"Type": "volume", "Name": "blue_shop_default_data", "Destination": "/data", "RW": True},
    ],
}
IMAGE = {"Config": {"Env": ["PATH=/usr/bin:/bin", "HOME=/root"], "ExposedPorts": {"53/udp": {}}}}


def test_an_inspect_answer_reads_as_the_declared_forms() -> None:
    spec = deployed_spec(
        INSPECT, IMAGE, volume_prefix="blue_shop_default_", files_root="/data/projects/shop/files"
    )
    assert spec == {
        "image": "busybox:1.36",
        "command": ["httpd", "-f"],
        "entrypoint": None,
        "environment": {"GREETING": "hi", "HOME": "/custom"},  # PATH is the image's own
        "ports": ["18080:8080/tcp", "9000/tcp"],  # 53/udp only comes from the image
        "volumes": ["/html:/www:ro", "data:/data:rw"],
    }


def test_without_the_image_config_everything_the_container_has_is_shown() -> None:
    spec = deployed_spec(INSPECT, None, volume_prefix="", files_root="/elsewhere")
    assert "PATH" in spec["environment"]
    assert "/data/projects/shop/files/html:/www:ro" in spec["volumes"]
