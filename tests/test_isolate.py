"""Per-stack isolation (`manifests.isolate`): which stack each error belongs to, what the
partial revision keeps from the last good one, and what holds everything. Pure: real files
read by the real reader, no Docker."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from syncd.errors import ManifestError
from syncd.ids import StackKey
from syncd.manifests import ManifestFile, ManifestSet, read_manifests
from syncd.manifests.isolate import PartialSet, isolate


def stack(name: str, service: str, extra: str = "", project: str = "iso") -> str:
    return (
        f"kind: Stack\nproject: {project}\nname: {name}\nservices:\n"
        f"  {service}:\n    image: busybox:1.36\n{extra}"
    )


PORT = "    ports: ['8080:80/tcp']\n"
COMPOSE = "services:\n  web:\n    image: busybox:1.36\n"
PATCH = (
    "kind: StackPatch\nproject: iso\nstack: two\n"
    "patch:\n  - {op: add, path: /services/b/environment, value: {X: '1'}}\n"
)
REGISTRY = "kind: Registry\nproject: iso\nname: r\nuri: registry.example.com\n"
GOOD = {"one.yaml": stack("one", "a"), "two.yaml": stack("two", "b"), "web/compose.yaml": COMPOSE}


def read(files: dict[str, str]) -> ManifestSet:
    return read_manifests([ManifestFile(p, t.encode()) for p, t in files.items()], {})


def keys(manifests: ManifestSet) -> set[str]:
    return {str(s.manifest.key) for s in manifests.stacks}


def partial(changes: Mapping[str, str | None], good: dict[str, str] = GOOD) -> PartialSet:
    merged = {**good, **changes}
    manifests = read({p: t for p, t in merged.items() if t is not None})
    assert manifests.errors
    return isolate(manifests, read(good), "g00d")


def held(changes: Mapping[str, str | None], good: dict[str, str] | None = GOOD) -> str:
    head = {p: t for p, t in {**(good or GOOD), **changes}.items() if t is not None}
    manifests = read(head)
    with pytest.raises(ManifestError) as caught:
        isolate(manifests, read(good) if good else None, "g00d" if good else None)
    assert caught.value.held is not None
    assert caught.value.problems == manifests.errors  # every problem still reported
    return caught.value.held


@pytest.mark.parametrize(
    ("changes", "broken"),
    [
        ({"one.yaml": stack("one", "a", "    imagee: x\n")}, "iso/one"),
        ({"web/compose.yaml": COMPOSE + "    ports: ['80:80:80']\n"}, "web/default"),
        ({"p.yaml": PATCH.replace("op: add", "op: bogus")}, "iso/two"),
        ({"one.yaml": stack("one", "a") + "---\n" + stack("three", "c", "    bad: 1\n")}, "*"),
    ],
    ids=["stack-document", "compose-file", "stack-patch", "file-of-two-stacks"],
)
def test_an_error_belongs_to_the_stacks_of_its_file(
    changes: dict[str, str | None], broken: str
) -> None:
    result = partial(changes)
    found = {str(k) for k in result.broken}
    expected = {"iso/one", "iso/three"} if broken == "*" else {broken}
    assert found == expected
    valid = keys(result.valid)
    assert not valid & found and valid | found >= {"iso/one", "iso/two", "web/default"} - found
    # every broken stack the last good revision had runs at its last good spec
    assert keys(result.kept) == found & keys(read(GOOD))
    assert keys(result) == keys(read(GOOD)) | valid
    assert not result.errors and result.kept_revision == "g00d"


def test_the_valid_stacks_carry_the_new_spec_and_the_broken_the_old() -> None:
    result = partial(
        {"one.yaml": stack("one", "a", "    imagee: x\n"), "two.yaml": stack("two", "b", PORT)}
    )
    [two] = [s for s in result.stacks if s.manifest.key == StackKey("iso", "two")]
    assert two.manifest.services["b"].ports  # the head's
    [one] = result.kept.stacks
    assert one.manifest.key == StackKey("iso", "one") and one.path == "one.yaml"


def test_a_stack_that_vanished_in_a_partial_revision_is_kept_not_removed() -> None:
    result = partial({"one.yaml": stack("one", "a", "    imagee: x\n"), "two.yaml": None})
    assert keys(result.kept) == {"iso/one", "iso/two"}
    assert keys(result) == {"iso/one", "iso/two", "web/default"}


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"one.yaml": "kind: Stack\nproject: iso\nname: one\nservices: [\n"}, "does not load"),
        ({"reg.yaml": REGISTRY + "bogus: 1\n"}, "a Registry may serve many stacks"),
        ({"new/compose.yaml": COMPOSE + "    ports: ['80:80:80']\n"}, "new Compose file"),
        ({"dup.yaml": stack("one", "z")}, "declared in more than one file"),
        ({"x.yaml": "kind: Stack\nproject: ${P}\nname: one\nservices: {}\n"}, "not known"),
    ],
    ids=["yaml-syntax", "registry", "new-compose", "duplicate-stack", "unknown-identity"],
)
def test_an_error_no_stack_owns_holds_everything(changes: dict[str, str | None], why: str) -> None:
    reason = held(changes)
    assert why in reason and "cannot be attributed to one stack" in reason
    assert reason.split(":")[0] in changes  # the file it is in, located


def test_without_a_last_good_revision_everything_is_held() -> None:
    assert "no last good revision" in held({"one.yaml": stack("one", "a", "  bad: 1\n")}, None)


def test_valid_stacks_that_clash_with_a_kept_one_hold_everything() -> None:
    good = {**GOOD, "one.yaml": stack("one", "a", PORT)}
    # one's new version gives the port up but is broken: two's taking it would clash
    changes = {
        "one.yaml": stack("one", "a", "    imagee: x\n"),
        "two.yaml": stack("two", "b", PORT),
    }
    reason = held(changes, good)
    assert "8080" in reason and "clash" in reason
