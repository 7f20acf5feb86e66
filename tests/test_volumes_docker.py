"""Top-level volumes and anonymous volumes on the real engine (issue 13): an external volume is
used as it is and never created, deleted or reported orphaned; a missing one fails its service
with an error naming it; labels and driver options land on the volume syncd creates; a
`driver_opts` bind is a host path under the policy; an anonymous volume outlives a recreate."""

from __future__ import annotations

import secrets
import textwrap
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from syncd.cli.main import main
from syncd.core.plan import Reason, VolumeAction
from syncd.errors import ExitCode
from syncd.ids import StackKey
from syncd.policy import Policy
from tests.daemon_support import RunningDaemon, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker


@pytest.fixture
def outside(docker_client: docker.DockerClient) -> Iterator[str]:
    """A volume made outside syncd (random name), removed after the test."""
    name = "ext-" + secrets.token_hex(5)
    docker_client.volumes.create(name)
    try:
        yield name
    finally:
        docker_client.volumes.get(name).remove(force=True)


def _external(name: str) -> str:
    return textwrap.dedent(f"""\
        services:
          app:
            image: busybox:1.36
            command: sleep 3600
            volumes: ["shared:/shared"]
        volumes:
          shared: {{external: true, name: {name}}}
        """)


def test_an_external_volume_is_used_as_is_and_never_deleted(
    deployment: Deployment, outside: str, docker_client: docker.DockerClient
) -> None:
    deployment.policy = Policy.model_validate({"default": {"externalVolumes": [outside]}})
    (deployment.repo / "shop").mkdir()
    deployment.write("shop/compose.yaml", _external(outside))
    result = deployment.sync()
    assert result.ok, result
    mounts = deployment.container("app").attrs["Mounts"]
    assert [(m["Type"], m["Name"]) for m in mounts] == [("volume", outside)]
    assert deployment.exec("app", "sh", "-c", "echo kept > /shared/file")[0] == 0
    stack = next(s for s in result.plan.stacks if s.key == StackKey("shop", "default"))
    assert stack.volumes == ()  # never created, attached nor detached by syncd
    label = {"label": [f"syncd.instance={deployment.instance}"]}
    assert [v.name for v in docker_client.volumes.list(filters=label)] == []

    deployment.remove("shop/compose.yaml")  # the stack goes away
    assert deployment.sync(allow_empty=True).ok
    assert deployment.containers() == []
    volume = docker_client.volumes.get(outside)  # still there, its data too
    assert "syncd.instance" not in (volume.attrs.get("Labels") or {})
    probe = docker_client.containers.run(
        "busybox:1.36", ["cat", "/v/file"], volumes={outside: {"bind": "/v"}}, remove=True
    )
    assert probe.decode().strip() == "kept"
    assert deployment.store.orphaned_volumes() == frozenset()


def test_a_missing_external_volume_fails_its_service_with_its_name(
    deployment: Deployment, docker_client: docker.DockerClient
) -> None:
    missing = "ext-missing-" + secrets.token_hex(5)
    deployment.policy = Policy.model_validate({"default": {"externalVolumes": ["*"]}})
    (deployment.repo / "shop").mkdir()
    deployment.write("shop/compose.yaml", _external(missing))
    result = deployment.sync()
    assert not result.ok
    [failed] = result.failed
    assert f"external volume {missing!r} does not exist" in failed.detail, failed.detail
    with pytest.raises(docker.errors.NotFound):  # Docker would have made it: syncd did not
        docker_client.volumes.get(missing)


def test_an_external_volume_needs_the_policy(
    deployment: Deployment, outside: str, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(deployment.repo)
    repo.write("shop/compose.yaml", _external(outside))
    repo.commit("an external volume")
    assert main(["validate", "--repo", str(repo.path)]) == ExitCode.ERROR
    captured = capsys.readouterr()
    err = captured.out + captured.err
    assert "shop/compose.yaml:7:22: /volumes/shared/external" in err and "external volume" in err, (
        err
    )
    assert "add '" + outside + "' to externalVolumes" in err, err


LABELLED = """\
services:
  app:
    image: busybox:1.36
    command: sleep 3600
    volumes: ["cache:/cache"]
volumes:
  cache:
    labels: {com.example.team: shop, com.example.tier: "1"}
    driver_opts: {type: tmpfs, device: tmpfs, o: "size=8m"}
"""


def test_labels_and_driver_options_land_on_the_created_volume(
    deployment: Deployment, docker_client: docker.DockerClient
) -> None:
    (deployment.repo / "shop").mkdir()
    deployment.write("shop/compose.yaml", LABELLED)
    assert deployment.sync().ok
    [volume] = docker_client.volumes.list(
        filters={"label": [f"syncd.instance={deployment.instance}"]}
    )
    labels = volume.attrs["Labels"]
    assert labels["com.example.team"] == "shop" and labels["com.example.tier"] == "1"
    assert labels["syncd.volume"] == "cache"
    assert volume.attrs["Driver"] == "local"
    assert volume.attrs["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=8m"}
    assert deployment.exec("app", "sh", "-c", "df /cache | grep -c tmpfs")[1].strip() == "1"

    # a changed declaration: the volume (and its data) is kept as it is, and the plan says so
    deployment.write("shop/compose.yaml", LABELLED.replace("team: shop", "team: web"))
    result = deployment.sync()
    assert result.ok
    [change] = [v for s in result.plan.stacks for v in s.volume_changes]
    assert (change.action, change.reason, change.differs) == (
        VolumeAction.NONE,
        Reason.VOLUME_DIFFERS,
        ("labels",),
    )
    assert not any(s.changed for s in result.plan.stacks)  # nothing to do: no sync loop
    assert docker_client.volumes.get(volume.name).attrs["Labels"]["com.example.team"] == "shop"


def _bind_volume(device: Path) -> str:
    return textwrap.dedent(f"""\
        services:
          app:
            image: busybox:1.36
            command: sleep 3600
            volumes: ["host:/host"]
        volumes:
          host:
            driver_opts: {{type: none, o: bind, device: {device}}}
        """)


def test_a_driver_opts_bind_is_a_host_path_under_the_policy(
    deployment: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    device = tmp_path / "host-data"
    device.mkdir()
    (device / "hello").write_text("from the host\n")
    repo = GitRepo(deployment.repo)
    repo.write("shop/compose.yaml", _bind_volume(device))
    repo.commit("a bind in disguise")
    data = str(deployment.settings.data_dir)
    args = ["--repo", str(repo.path), "--data-dir", data, "--instance", deployment.instance]
    assert main(["apply", *args]) == ExitCode.ERROR
    err = capsys.readouterr().err
    assert "shop/compose.yaml:8:" in err and "/volumes/host/driver_opts/device" in err, err
    assert f"add '{device}' to hostPaths" in err, err
    assert deployment.containers() == []

    policy = tmp_path / "etc" / "policy.yaml"
    policy.parent.mkdir()
    policy.write_text(f'default: {{hostPaths: ["{device}"]}}\n')
    assert main(["apply", *args, "--policy", str(policy)]) == ExitCode.OK, capsys.readouterr()
    assert deployment.exec("app", "cat", "/host/hello")[1] == "from the host\n"


ANONYMOUS = """\
services:
  db:
    image: busybox:1.36
    command: sleep 3600
    environment: {GENERATION: "1"}
    volumes: ["/var/lib/data"]
"""


def test_an_anonymous_volume_survives_a_recreate(
    deployment: Deployment, docker_client: docker.DockerClient
) -> None:
    (deployment.repo / "shop").mkdir()
    deployment.write("shop/compose.yaml", ANONYMOUS)
    assert deployment.sync().ok
    first = deployment.container("db").id
    assert deployment.exec("db", "sh", "-c", "echo precious > /var/lib/data/file")[0] == 0

    deployment.write("shop/compose.yaml", ANONYMOUS.replace('"1"', '"2"'))
    assert deployment.sync().ok
    assert deployment.container("db").id != first  # recreated
    assert deployment.exec("db", "cat", "/var/lib/data/file")[1] == "precious\n"

    # two replicas: one volume each, the first replica keeps its own
    scaled = ANONYMOUS.replace('"1"', '"2"') + "    deploy: {replicas: 2}\n"
    deployment.write("shop/compose.yaml", scaled)
    assert deployment.sync().ok
    sources = sorted(
        m["Name"] for c in deployment.containers(service="db") for m in c.attrs["Mounts"]
    )
    assert len(set(sources)) == 2, sources

    # no longer used: kept, and reported orphaned
    deployment.write("shop/compose.yaml", scaled.replace('    volumes: ["/var/lib/data"]\n', ""))
    assert deployment.sync().ok
    label = {"label": [f"syncd.instance={deployment.instance}"]}
    kept = docker_client.volumes.list(filters=label)
    assert len(kept) == 2
    assert len(deployment.store.orphaned_volumes()) == 2


DATA = """\
services:
  app:
    image: busybox:1.36
    command: sleep 3600
    volumes: ["./data/uploads:/uploads", "./data/cache:/cache", "/var/lib/anon"]
"""


def test_a_data_folder_no_service_mounts_is_kept_and_reported(deployment: Deployment) -> None:
    repo = GitRepo(deployment.repo)
    repo.write("shop/compose.yaml", DATA)
    head = repo.commit("two data folders")
    daemon = RunningDaemon(str(repo.path), deployment.settings.data_dir, deployment.instance)
    try:
        daemon.started()
        wait_for(lambda: daemon.status()["appliedRevision"] == head, 60, "first apply")
        assert daemon.status()["orphanedDataFolders"] == []
        project = StackKey("shop", "default").id
        [anonymous] = daemon.http.get(f"/v2/projects/{project}/volumes").json()
        service = StackKey("shop", "default").service("app").id
        assert anonymous["name"].startswith("_anon.") and not anonymous["orphaned"]
        assert anonymous["linkedServices"] == [service]
        folder = deployment.settings.data_dir / "projects/shop/files/data/uploads"
        assert deployment.exec("app", "sh", "-c", "echo kept > /uploads/file")[0] == 0

        repo.write("shop/compose.yaml", DATA.replace('"./data/uploads:/uploads", ', ""))
        second = repo.commit("the uploads folder is no longer mounted")
        wait_for(lambda: daemon.status()["appliedRevision"] == second, 60, "second apply")
        status = daemon.status()
        assert status["orphanedDataFolders"] == [{"project": "shop", "path": "/data/uploads"}]
        assert (folder / "file").read_text() == "kept\n"  # never deleted
        assert "data_folder_unused" in daemon.log()

        repo.write("shop/compose.yaml", DATA)  # mounted again: no longer reported
        third = repo.commit("uploads back")
        wait_for(lambda: daemon.status()["appliedRevision"] == third, 60, "third apply")
        assert daemon.status()["orphanedDataFolders"] == []
    finally:
        daemon.terminate()
        daemon.close()


def test_a_driver_opts_bind_through_a_symlink_is_refused_at_apply_time(
    deployment: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`/allowed/link -> /secret`: the written path is allowed, the resolved one is not; the
    volume is not made, and its service fails instead of getting a plain empty volume."""
    allowed, secret = tmp_path / "allowed", tmp_path / "secret"
    allowed.mkdir()
    secret.mkdir()
    (secret / "key").write_text("host secret\n")
    (allowed / "link").symlink_to(secret)
    repo = GitRepo(deployment.repo)
    repo.write("shop/compose.yaml", _bind_volume(allowed / "link"))
    repo.commit("a bind through a symlink")
    policy = tmp_path / "etc" / "policy.yaml"
    policy.parent.mkdir()
    policy.write_text(f'default: {{hostPaths: ["{allowed}"]}}\n')
    data = str(deployment.settings.data_dir)
    args = ["--repo", str(repo.path), "--data-dir", data, "--instance", deployment.instance]
    assert main(["apply", *args, "--policy", str(policy)]) != ExitCode.OK
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "at apply time, with its symlinks resolved" in output, output
    assert "its creation failed" in output, output
    assert deployment.containers() == []
