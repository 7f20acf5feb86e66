"""Issue 10, findings 5 and 10: input that used to end in a traceback, or that `validate` accepted
and Docker then refused. Each case runs the real `syncd validate` and must give exit code 1 and
one located error (`file:line:col: ...`), never an exception."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from syncd.api.imageconfig import image_config
from syncd.cli.main import main
from syncd.daemon import config as runconfig
from syncd.errors import SyncdError
from syncd.manifests import read_manifests
from syncd.source.reader import SourceFile
from tests.gitrepo import GitRepo

HEAD = "kind: Stack\nproject: shop\nservices:\n  web:\n"


def _service(body: str) -> str:
    return HEAD + "".join(f"    {line}\n" for line in body.splitlines())


# (case id, file text, expected "line:col: " prefix, expected message fragment)
DOCUMENTS = [
    ("bool-maybe", "kind: Stack\nproject: !!bool maybe\n", "2:10", "'maybe' is not a valid !!bool"),
    ("int-abc", "kind: Stack\nproject: !!int abc\n", "2:10", "'abc' is not a valid !!int"),
    ("int-empty", "kind: Stack\nproject: !!int ''\n", "2:10", "'' is not a valid !!int"),
    ("float-zero", "kind: Stack\nproject: !!float zero\n", "2:10", "not a valid !!float"),
    ("float-empty", "kind: Stack\nproject: !!float ''\n", "2:10", "not a valid !!float"),
    ("int-hex-empty", "kind: Stack\nproject: !!int 0x\n", "2:10", "not a valid !!int"),
    ("int-5000-digits", f"kind: Stack\nproject: {'9' * 5000}\n", "2:10", "too large"),
    ("int-65-bit", f"kind: Stack\nproject: {2**64}\n", "2:10", "64-bit integer range"),
    (
        "sexagesimal-int",
        "kind: Stack\nproject: " + ":".join(["59"] * 20000) + "\n",
        "2:10",
        "too large",
    ),
    ("seq-tag-on-scalar", "kind: Stack\nproject: !!seq a\n", "2:10", "!!seq cannot be given"),
    ("str-tag-on-list", "kind: Stack\nproject: !!str [a]\n", "2:10", "!!str cannot be given"),
    ("set-tag", "kind: Stack\nproject: !!set {a: null}\n", "2:10", "!!set cannot be given"),
    ("binary-tag", "kind: Stack\nproject: !!binary aGk=\n", "2:10", "unsupported YAML tag"),
    ("int-key", "kind: Stack\n!!int abc: 1\n", "2:1", "'abc' is not a valid !!int"),
    (
        "interval-400-nines",
        _service(
            "image: busybox:1.36\nhealthcheck: {test: [CMD, 'true'], interval: " + "9" * 400 + "s}"
        ),
        "6:50",
        "/services/web/healthcheck/interval: '99999",
    ),
    (
        "interval-too-long",
        _service("image: busybox:1.36\nhealthcheck: {test: [CMD, 'true'], timeout: 9000h}"),
        "6:49",
        "too large: at most 8760h",
    ),
    (
        "interval-below-1ms",
        _service("image: busybox:1.36\nhealthcheck: {test: [CMD, 'true'], interval: 0.5ms}"),
        "6:50",
        "below 1ms",
    ),
    (
        "memory-400-nines",
        _service(
            "image: busybox:1.36\ndeploy: {resources: {limits: {memory: " + "9" * 400 + "gb}}}"
        ),
        "6:43",
        "/services/web/deploy/resources/limits/memory: '9999",
    ),
    (
        "cpus-exponent",
        _service("image: busybox:1.36\ndeploy: {resources: {limits: {cpus: '1e999999999'}}}"),
        "6:41",
        "is not a number of CPU cores",
    ),
    (
        "cpus-below-docker-minimum",
        _service("image: busybox:1.36\ndeploy: {resources: {limits: {cpus: '0.001'}}}"),
        "6:41",
        "at least 0.01",
    ),
    (
        "port-5000-digits",
        _service("image: busybox:1.36\nports: ['" + "8" * 5000 + ":80/tcp']"),
        "6:13",
        "public port 88888",
    ),
    # Values Docker refuses.
    (
        "mountpoint-root",
        "kind: Stack\nproject: shop\nvolumes: {data: {}}\nservices:\n  web:\n"
        "    image: busybox:1.36\n    volumes: ['data:/']\n",
        "7:15",
        "the mountpoint cannot be '/'",
    ),
    (
        "mountpoint-root-spelled-oddly",
        _service("image: busybox:1.36\nvolumes: ['/files://./']"),
        "6:15",
        "the mountpoint cannot be '/'",
    ),
    (
        "mountpoint-twice",
        _service("image: busybox:1.36\nvolumes: ['/a:/data', '/b:/data/']"),
        "6:27",
        "mountpoint '/data' is already used by volumes[0]",
    ),
    (
        "nul-in-env-value",
        _service('image: busybox:1.36\nenvironment: {A: "x\\0y"}'),
        "6:22",
        "a NUL character",
    ),
    (
        "nul-in-command",
        _service('image: busybox:1.36\ncommand: ["sh", "-c\\0"]'),
        "6:21",
        "a NUL character",
    ),
    (
        "nul-in-key",
        _service('image: busybox:1.36\nenvironment: {"A\\0": x}'),
        "6:19",
        "a NUL character",
    ),
    (
        "arabic-indic-digits-in-tag",
        _service("image: 'busybox:\u0661.\u0663\u0666'"),
        "5:12",
        "/services/web/image: 'busybox:\u0661.\u0663\u0666' is not an image reference",
    ),
    (
        "fullwidth-digits-in-tag",
        _service("image: 'busybox:\uff11'"),
        "5:12",
        "is not an image reference",
    ),
    (
        "arabic-indic-digits-in-port",
        _service("image: busybox:1.36\nports: ['\u0668\u0660\u0668\u0660:80/tcp']"),
        "6:13",
        "is not <public>:<container>/<proto>",
    ),
    (
        "arabic-indic-digits-in-memory",
        _service(
            "image: busybox:1.36\ndeploy: {resources: {limits: {memory: '\u0662\u0665\u0666mb'}}}"
        ),
        "6:43",
        "is not a byte value",
    ),
    (
        "arabic-indic-digits-in-cpus",
        _service("image: busybox:1.36\ndeploy: {resources: {limits: {cpus: '\u0660.\u0665'}}}"),
        "6:41",
        "is not a number of CPU cores",
    ),
    (
        "arabic-indic-digits-in-duration",
        _service(
            "image: busybox:1.36\nhealthcheck: {test: [CMD, 'true'], interval: '\u0661\u0660s'}"
        ),
        "6:50",
        "is not a duration",
    ),
    (
        "huge-enum-value",
        f"kind: Stack\nproject: shop\nstrategy: {'x' * 100_000}\n",
        "3:11",
        "xxx...",
    ),
    ("huge-kind", f"kind: {'x' * 100_000}\n", "1:7", "unknown kind 'xxx"),
    (
        "newline-after-a-name",
        'kind: Stack\nproject: "shop\\n"\n',
        "2:10",
        "is not a valid name",
    ),
    (
        "newline-after-an-image",
        _service('image: "busybox:1.36\\n"'),
        "5:12",
        "is not an image reference",
    ),
]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [pytest.param(text, where, message, id=name) for name, text, where, message in DOCUMENTS],
)
def test_each_bad_document_is_one_located_error(
    text: str, where: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "stack.yaml").write_text(text, encoding="utf-8")

    code = main(["validate", "--repo", str(tmp_path)])

    out = capsys.readouterr().out.splitlines()
    errors = [line for line in out if line.startswith("stack.yaml:")]
    assert code == 1
    assert len(errors) == 1, "\n".join(out)
    assert errors[0].startswith(f"stack.yaml:{where}: "), errors[0]
    assert message in errors[0]
    assert len(errors[0]) < 300, "a message quotes the input, cut short"


def test_a_nul_from_the_environment_is_refused_without_showing_it() -> None:
    text = _service("image: busybox:1.36\nenvironment: {A: '${SECRET}'}")
    result = read_manifests([SourceFile("stack.yaml", text.encode())], {"SECRET": "hunter2\0"})
    assert [(p.pointer, p.position.line) for p in result.errors] == [
        ("/services/web/environment/A", 6)
    ]
    assert "NUL" in result.errors[0].message
    assert "hunter2" not in result.errors[0].message


@pytest.fixture
def nest() -> Iterator[Callable[[Path, int], Path]]:
    """Makes `depth` nested directories under a root, one by one (os.makedirs recurses), and
    removes them bottom-up afterwards (shutil.rmtree, and so pytest's cleanup, recurses too)."""
    made: list[Path] = []

    def make(root: Path, depth: int) -> Path:
        current = root
        for _ in range(depth):
            current = current / "d"
            current.mkdir()
            made.append(current)
        return current

    yield make
    for directory in reversed(made):
        for child in directory.iterdir():
            if not child.is_dir() or child.is_symlink():
                child.unlink()
        directory.rmdir()


def test_1100_nested_directories_on_disk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], nest: Callable[[Path, int], Path]
) -> None:
    (tmp_path / "ok.yaml").write_text(_service("image: busybox:1.36"))
    deepest = nest(tmp_path, 1100)
    (deepest / "deep.yaml").write_text(_service("image: busybox:1.36"))

    code = main(["validate", "--repo", str(tmp_path)])

    out = capsys.readouterr().out
    too_deep = "/".join(["d"] * 65) + ":1:1: directory nested deeper than 64 levels; not read"
    assert code == 1
    assert too_deep in out.splitlines()


def test_64_nested_directories_are_read(tmp_path: Path, nest: Callable[[Path, int], Path]) -> None:
    deepest = nest(tmp_path, 64)
    (deepest / "deep.yaml").write_text(_service("image: busybox:1.36"))

    assert main(["validate", "--repo", str(tmp_path)]) == 0


def test_symlink_loops_on_disk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.symlink("b.yaml", tmp_path / "a.yaml")
    os.symlink("a.yaml", tmp_path / "b.yaml")
    os.symlink("self.yaml", tmp_path / "self.yaml")
    os.symlink(".", tmp_path / "dir-loop")  # a directory link is never entered
    os.symlink("missing.yaml", tmp_path / "dangling.yaml")
    (tmp_path / "ok.yaml").write_text(_service("image: busybox:1.36"))

    code = main(["validate", "--repo", str(tmp_path)])

    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert sorted(o for o in out if "symlink" in o) == [
        "a.yaml:1:1: symlink loop; not read",
        "b.yaml:1:1: symlink loop; not read",
        "dangling.yaml:1:1: symlink to 'missing.yaml' names nothing; not read",
        "self.yaml:1:1: symlink loop; not read",
    ]


def test_a_file_name_that_is_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (Path(os.fsdecode(bytes(tmp_path) + b"/bad\xff.yaml"))).write_text("kind: Nope\n")
    Path(os.fsdecode(bytes(tmp_path) + b"/bad\xfe")).mkdir()
    (Path(os.fsdecode(bytes(tmp_path) + b"/bad\xfe/x.yaml"))).write_text("kind: Nope\n")

    code = main(["validate", "--repo", str(tmp_path)])

    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert "bad\\xff.yaml:1:1: the file's name is not valid UTF-8; rename it" in out
    assert "bad\\xfe:1:1: the directory's name is not valid UTF-8; rename it" in out


def _fast_import(repo: GitRepo, entries: list[tuple[str, bytes, bytes]]) -> None:
    """One commit holding `entries` (mode, path, data), written without a work tree."""
    stream = b"commit refs/heads/main\ncommitter t <t@example.com> 0 +0000\ndata 1\nx\n"
    for mode, path, data in entries:
        stream += b"M %s inline %s\ndata %d\n%s\n" % (mode.encode(), path, len(data), data)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo.path, input=stream, check=True)


def test_1100_nested_trees_and_a_symlink_loop_in_a_commit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(tmp_path / "repo")
    stack = _service("image: busybox:1.36").encode()
    _fast_import(
        repo,
        [
            ("100644", b"/".join([b"d"] * 1100) + b"/deep.yaml", stack),
            ("100644", b"ok.yaml", stack),
            ("120000", b"loop.yaml", b"loop.yaml"),
            ("100644", b"bad\xff.yaml", b"kind: Nope\n"),
            ("100644", b"bad\xfe/x.yaml", b"kind: Nope\n"),
        ],
    )

    code = main(["validate", "--repo", str(repo.path), "--rev", "HEAD"])

    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert sorted(
        o for o in out if o.endswith(("not read", "levels of symlinks", "rename it"))
    ) == [
        "bad\\xfe:1:1: the directory's name is not valid UTF-8; rename it",
        "bad\\xff.yaml:1:1: the file's name is not valid UTF-8; rename it",
        "/".join(["d"] * 65) + ":1:1: directory nested deeper than 64 levels; not read",
        "loop.yaml:1:1: too many levels of symlinks",
    ]


@pytest.mark.parametrize("user", ["\u00b2", "\u0661\u0662", "9" * 5000])
def test_an_image_user_in_other_digits_is_a_name_not_a_crash(user: str) -> None:
    config = image_config({"Id": "sha256:" + "a" * 64, "Config": {"User": user}})
    assert (config.user, config.userId) == (user, -1)


@pytest.mark.parametrize("listen", ["127.0.0.1:\u0668\u0660\u0668\u0660", "127.0.0.1:\u00b2"])
def test_listen_takes_ascii_digits_only(listen: str) -> None:
    with pytest.raises(SyncdError, match="is not HOST:PORT"):
        runconfig._listen(listen)


def test_many_documents_share_one_budget() -> None:
    many = read_manifests([SourceFile("many.yaml", b"---\n" * 100_000)], {})
    assert [str(p) for p in many.errors] == [
        "many.yaml:1001:1: more than 1000 documents in one file; split it"
    ]
    # 500 documents of 300 values each: every document is small, the file is not.
    document = b"--- {a: &a [" + b"1," * 299 + b"1], b: *a, c: *a}\n"
    big = read_manifests([SourceFile("big.yaml", document * 500)], {})
    assert "file expands to more than 100000 values" in big.errors[0].message


def test_deep_directories_outside_the_selected_paths_are_not_walked(
    tmp_path: Path, nest: Callable[[Path, int], Path]
) -> None:
    stack = _service("image: busybox:1.36")
    repo = GitRepo(tmp_path / "repo")
    _fast_import(
        repo,
        [
            ("100644", b"prod/ok.yaml", stack.encode()),
            ("100644", b"vendor/" + b"/".join([b"d"] * 100) + b"/x.yaml", b"kind: Nope\n"),
        ],
    )
    assert main(["validate", "--repo", str(repo.path), "--rev", "HEAD", "--path", "prod"]) == 0
    assert main(["validate", "--repo", str(repo.path), "--rev", "HEAD"]) == 1
    disk = tmp_path / "disk"
    (disk / "prod").mkdir(parents=True)
    (disk / "prod" / "ok.yaml").write_text(stack)
    (disk / "vendor").mkdir()
    (nest(disk / "vendor", 100) / "x.yaml").write_text("kind: Nope\n")
    assert main(["validate", "--repo", str(disk), "--path", "prod"]) == 0
    assert main(["validate", "--repo", str(disk)]) == 1
