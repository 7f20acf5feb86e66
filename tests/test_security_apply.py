"""The security option group on the real engine: one `syncd apply` of a Compose stack and a
native `Stack` using (nearly) every key that needs no operator policy, then `docker inspect`
and the running containers say what was asked for, and a second plan has nothing to do."""

from __future__ import annotations

import pytest

from syncd.cli.main import main
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker

COMPOSE = """\
name: sec
services:
  app:
    image: busybox:1.36
    command: [sleep, "3600"]
    cap_drop: [ALL]
    cap_add: [cap_chown, KILL]          # Docker's default set: no policy needed
    security_opt: ["no-new-privileges:true"]
    read_only: true
    tmpfs: [/tmp, "/run:size=16m,mode=1777"]
    shm_size: 128m
    ulimits:
      nproc: 512
      nofile: {soft: 1024, hard: 2048}
    sysctls: [net.core.somaxconn=1024]
    logging: {driver: json-file, options: {max-size: 10m, max-file: 3}}
    mem_limit: 256m
    mem_reservation: 64m
    memswap_limit: 512m
    mem_swappiness: 10
    cpu_shares: 512
    cpuset: "0"
    cpu_period: 100000
    cpu_quota: 50000
    oom_score_adj: 100
    oom_kill_disable: true
    ipc: shareable
    deploy:
      resources:
        limits: {pids: 64}
  quiet:
    image: busybox:1.36
    command: [sleep, "3600"]
    logging: {options: {max-size: 1m}}   # the daemon's default driver, with this option
"""

NATIVE = """\
kind: Stack
project: sec
name: native
services:
  plain:
    image: busybox:1.36
    command: [sleep, "3600"]
    capDrop: [NET_RAW]
    readOnly: true
    tmpfs: /scratch
    pidsLimit: 32
    ulimits: {core: 0}
"""


def test_security_options_reach_the_engine(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(deployment.repo)
    repo.write("sec/compose.yaml", COMPOSE)
    repo.write("native.yaml", NATIVE)
    revision = repo.commit("security options")
    args = [
        "--repo", str(repo.path), "--data-dir", str(deployment.settings.data_dir),
        "--instance", deployment.instance,
    ]  # fmt: skip
    assert main(["apply", *args, "--rev", revision]) == 0, capsys.readouterr()
    capsys.readouterr()

    host = deployment.container("app").attrs["HostConfig"]
    assert sorted(c.removeprefix("CAP_") for c in host["CapAdd"]) == ["CHOWN", "KILL"]
    assert [c.removeprefix("CAP_") for c in host["CapDrop"]] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges=true"]
    assert host["ReadonlyRootfs"] is True
    assert host["Tmpfs"] == {"/run": "size=16m,mode=1777", "/tmp": ""}
    assert host["ShmSize"] == 128 * 1024**2
    assert sorted(host["Ulimits"], key=lambda u: u["Name"]) == [
        {"Name": "nofile", "Soft": 1024, "Hard": 2048},
        {"Name": "nproc", "Soft": 512, "Hard": 512},
    ]
    assert host["PidsLimit"] == 64
    assert host["Sysctls"] == {"net.core.somaxconn": "1024"}
    assert host["LogConfig"] == {
        "Type": "json-file",
        "Config": {"max-file": "3", "max-size": "10m"},
    }
    assert host["Memory"] == 256 * 1024**2
    assert host["MemoryReservation"] == 64 * 1024**2
    assert host["MemorySwap"] == 512 * 1024**2
    assert host["MemorySwappiness"] == 10
    assert host["CpuShares"] == 512
    assert host["CpusetCpus"] == "0"
    assert (host["CpuPeriod"], host["CpuQuota"]) == (100000, 50000)
    assert host["OomScoreAdj"] == 100
    assert host["OomKillDisable"] is True
    assert host["IpcMode"] == "shareable"
    # The container runs with them: a namespaced sysctl, a read-only root, a tmpfs, the limit.
    assert deployment.exec("app", "cat", "/proc/sys/net/core/somaxconn") == (0, "1024\n")
    assert deployment.exec("app", "touch", "/x")[0] != 0
    assert deployment.exec("app", "touch", "/run/x")[0] == 0
    limits = deployment.exec("app", "cat", "/proc/1/limits")[1]
    assert "Max open files            1024                 2048" in limits, limits

    quiet = deployment.container("quiet").attrs["HostConfig"]["LogConfig"]
    assert quiet == {"Type": "json-file", "Config": {"max-size": "1m"}}  # this daemon's default

    native = deployment.container("plain").attrs["HostConfig"]
    assert [c.removeprefix("CAP_") for c in native["CapDrop"]] == ["NET_RAW"]
    assert native["ReadonlyRootfs"] is True
    assert native["Tmpfs"] == {"/scratch": ""}
    assert native["PidsLimit"] == 32
    assert native["Ulimits"] == [{"Name": "core", "Soft": 0, "Hard": 0}]
    assert native["CapAdd"] is None and native["SecurityOpt"] is None  # defaults: not sent
    assert native["OomScoreAdj"] == 0 and native["MemoryReservation"] == 0

    # What runs is what the revision declares: no recreate loop on the next plan.
    assert main(["plan", *args, "--head", revision]) == 0
    assert "No changes" in capsys.readouterr().out
