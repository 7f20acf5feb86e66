"""Files from git, data folders, configs and secrets from manifest text to the desired state:
located errors for paths that leave the repository, the native long form, content digests in
the spec (a change names the file, a secret's digest is tainted), and the materialiser."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from syncd.apply.materialise import Materialiser, root, sweep
from syncd.core import canonical
from syncd.core.desired import DesiredState, resolve
from syncd.core.options import files as core_files
from syncd.core.options.files import FileTree
from syncd.engine.base import Names
from syncd.errors import ManifestError, ServiceFailed
from syncd.ids import StackKey
from syncd.manifests import ManifestSet, read_manifests
from syncd.policy import Policy
from syncd.problems import Problem
from syncd.settings import Settings
from syncd.source.reader import read_revision
from tests.gitrepo import GitRepo
from tests.planning import File

NATIVE = """\
kind: Stack
project: shop
services:
  web:
    image: busybox:1.36
    volumes:
{volumes}
"""


# The host path the tests bind is allowed, as an operator would (`--policy`).
SRV = Policy.model_validate({"default": {"hostPaths": ["/srv"]}})


def _read(files: dict[str, str | bytes], env: dict[str, str] | None = None) -> ManifestSet:
    return read_manifests(
        [File(p, d.encode() if isinstance(d, str) else d) for p, d in files.items()],
        env or {},
        policy=SRV,
    )


def _desired(files: dict[str, str | bytes]) -> DesiredState:
    manifests = _read(files)
    assert not manifests.errors, [str(p) for p in manifests.errors]
    return resolve(manifests, "r1")


def _errors(files: dict[str, str | bytes]) -> list[str]:
    manifests = _read(files)
    problems: list[Problem] = list(manifests.errors)
    if not problems:
        with pytest.raises(ManifestError) as caught:
            resolve(manifests, "r1")
        problems = list(caught.value.problems)
    return [f"{p.path}:{p.position.line if p.position else 0}:{p.message}" for p in problems]


@pytest.mark.parametrize(
    "compose",
    [
        "services:\n  web:\n    image: busybox:1.36\n    volumes: ['../../etc/passwd:/x']\n",
        "services:\n  web:\n    image: busybox:1.36\n    configs: [c]\n"
        "configs:\n  c: {file: ../../etc/passwd}\n",
        "services:\n  web:\n    image: busybox:1.36\n    secrets: [s]\n"
        "secrets:\n  s: {file: ../../../etc/passwd}\n",
    ],
)
def test_a_path_that_leaves_the_repository_is_a_located_error(compose: str) -> None:
    errors = _errors({"app/compose.yaml": compose})
    assert len(errors) == 1, errors
    path, line, message = errors[0].split(":", 2)
    assert path == "app/compose.yaml" and int(line) > 1
    assert "leaves the repository" in message


def test_a_native_bind_out_of_the_repository_is_a_located_error() -> None:
    volumes = "      - {type: bind, source: ../../../etc/passwd, target: /x}"
    errors = _errors({"stacks/shop.yaml": NATIVE.format(volumes=volumes)})
    assert len(errors) == 1 and errors[0].startswith("stacks/shop.yaml:7:"), errors
    assert "leaves the repository" in errors[0]


def test_a_symlink_out_of_the_repository_is_refused_at_the_file_and_where_it_is_used(
    tmp_path: Path,
) -> None:
    (tmp_path / "passwd").write_text("root:x:0:0\n")
    repo = GitRepo(tmp_path / "repo")
    repo.write(
        "app/compose.yaml",
        "services:\n  web:\n    image: busybox:1.36\n    configs: [c]\n"
        "configs:\n  c: {file: ./passwd.conf}\n",
    )
    os.symlink("../../passwd", repo.path / "app" / "passwd.conf")
    repo.commit()
    snap = read_revision(repo.path, "HEAD")
    assert [(p.path, "outside the repository" in p.message) for p in snap.problems] == [
        ("app/passwd.conf", True)
    ]
    manifests = read_manifests(snap.files, {}, problems=snap.problems)
    where = {(p.path, p.position.line if p.position else 0) for p in manifests.errors}
    assert ("app/passwd.conf", 1) in where and ("app/compose.yaml", 6) in where
    assert all("root:x" not in p.message for p in manifests.problems)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{type: tmpfs, source: x, target: /t}", "takes no 'source'"),
        ("{type: bind, source: conf, target: /t}", "starts with './'"),
        ("{type: bind, source: ./conf, target: t}", "absolute path"),
        ("{type: volume, source: 'a b', target: /t}", "is not a volume of this stack"),
        ("{type: bind, source: ./c, target: /t, tmpfs: {size: 1}}", "belong to a mount"),
    ],
)
def test_the_native_long_form_is_checked(entry: str, message: str) -> None:
    errors = _errors({"s.yaml": NATIVE.format(volumes=f"      - {entry}")})
    assert len(errors) == 1 and message in errors[0], errors


def _web(state: DesiredState) -> dict[str, Any]:
    (stack,) = state.stacks.values()
    return stack.services["web"].spec


def test_native_long_forms_resolve_against_the_revision() -> None:
    volumes = "\n".join(
        f"      - {v}"
        for v in (
            "{type: bind, source: ./conf/app.conf, target: /etc/app.conf}",
            "{type: bind, source: ./data, target: /data}",
            "{type: bind, source: /srv/media, target: /media, readOnly: true}",
            "{type: tmpfs, target: /run, tmpfs: {size: 1024, mode: '1777'}}",
            "data:/var/lib/x",
        )
    )
    state = _desired(
        {
            "stacks/shop.yaml": NATIVE.format(volumes=volumes) + "volumes: {data: {}}\n",
            "stacks/conf/app.conf": "a=1\n",
        }
    )
    mounts = _web(state)["volumes"]
    assert mounts[:2] == ["/data:/data:rw", "data:/var/lib/x:rw"]
    by_type = {m["type"]: m for m in mounts[2:]}
    git, host, tmpfs = by_type["git"], by_type["bind"], by_type["tmpfs"]
    assert git["type"] == "git" and git["source"] == "stacks/conf/app.conf"
    assert state.files[git["digest"]].entries == (("", b"a=1\n"),)
    assert host == {"type": "bind", "source": "/srv/media", "target": "/media", "readOnly": True}
    assert tmpfs == {"type": "tmpfs", "target": "/run", "readOnly": False, "size": 1024,
                     "mode": 0o1777}  # fmt: skip


COMPOSE = """\
services:
  web:
    image: busybox:1.36
    volumes: ['./conf/nginx.conf:/etc/nginx.conf{mode}']
    secrets: [pw]
secrets:
  pw: {{file: ./pw.txt}}
"""


def _compose(conf: str, password: str = "hunter2", mode: str = "") -> dict[str, str | bytes]:
    return {
        "app/compose.yaml": COMPOSE.format(mode=mode),
        "app/conf/nginx.conf": conf,
        "app/pw.txt": password,
    }


def test_the_content_of_a_file_from_git_is_in_the_config_hash_and_a_change_names_it() -> None:
    first = _web(_desired(_compose("events {}\n")))
    same = _web(_desired(_compose("events {}\n")))
    edited = _web(_desired(_compose("events { worker_connections 1; }\n")))
    assert canonical.config_hash(first) == canonical.config_hash(same)
    assert canonical.recreate_fields(first, same) == []
    assert canonical.config_hash(first) != canonical.config_hash(edited)
    assert canonical.recreate_fields(first, edited) == ["volumes (app/conf/nginx.conf changed)"]
    secret = _web(_desired(_compose("events {}\n", password="other")))
    assert canonical.recreate_fields(first, secret) == ["secrets (pw changed)"]


def test_a_secret_digest_is_tainted_and_its_content_scrubbed() -> None:
    state = _desired(_compose("events {}\n"))
    (stack,) = state.stacks.values()
    assert "/secrets/0/digest" in stack.services["web"].secrets
    manifests = _read(_compose("events {}\n"))
    assert "hunter2" in manifests.secret_values()


def test_rw_on_a_file_from_git_is_a_warning_and_it_stays_read_only() -> None:
    manifests = _read(_compose("events {}\n", mode=":rw"))
    assert [p.message for p in manifests.warnings if "read-only" in p.message]
    (git,) = _web(resolve(manifests, "r1"))["volumes"]
    assert git["readOnly"] is True


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", instance="t1")


def test_the_same_content_is_one_path_and_unused_content_is_swept(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    one, two = FileTree((("", b"one"),)), FileTree((("a/b", b"x"), ("c", b"y")))
    trees = {one.digest: one, two.digest: two}
    first = Materialiser(settings, trees)
    file_path = first.path({"source": "f", "digest": one.digest, "mode": 0o400})
    folder = first.path({"source": "d", "digest": two.digest})
    again = Materialiser(settings, trees).path({"source": "f", "digest": one.digest, "mode": 0o400})
    assert file_path == again and one.digest.removeprefix("sha256:") not in file_path
    assert Path(file_path).read_bytes() == b"one"
    assert Path(file_path).stat().st_mode & 0o777 == 0o400
    assert (Path(folder) / "a" / "b").read_bytes() == b"x"
    assert sweep(settings, {folder}) == 1
    assert sorted(p.name for p in root(settings).iterdir()) == [".key", Path(folder).name]


def test_content_a_revision_lacks_is_a_service_failure(tmp_path: Path) -> None:
    with pytest.raises(ServiceFailed, match="not in this revision"):
        Materialiser(_settings(tmp_path), {}).path({"source": "f", "digest": "sha256:00"})


def test_volume_names_in_composes_alphabet_get_engine_names_that_never_collide() -> None:
    names = Names("default")
    key = StackKey("shop", "default")
    plain = names.volume(key.volume("my-vol-v2"))
    dotted = names.volume(key.volume("my_vol.v2"))
    upper = names.volume(key.volume("My_vol.v2"))
    assert plain == "shop_default_my-vol-v2"
    assert len({plain, dotted, upper}) == 3
    assert dotted.count("_") == upper.count("_") == 2
    stack = _read(
        {"s.yaml": NATIVE.format(volumes="      - my_vol.v2:/v") + "volumes: {my_vol.v2: {}}\n"}
    )
    assert not stack.errors, [str(p) for p in stack.errors]


def test_what_a_revision_mounts_is_bounded_and_each_path_is_read_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(core_files, "MAX_TREE_BYTES", 100)
    compose = "services:\n  web:\n    image: busybox:1.36\n    volumes:\n"
    compose += "".join(f"      - ./big:/m{i}\n" for i in range(50))
    state = _desired({"app/compose.yaml": compose, "app/big": b"x" * 80})
    assert len(state.files) == 1  # one path, one content, however often it is mounted
    compose += "      - ./other:/other\n"
    errors = _errors({"app/compose.yaml": compose, "app/big": b"x" * 80, "app/other": b"y" * 30})
    assert len(errors) == 1 and "exceed 100 bytes" in errors[0], errors
