"""Attacks on the secret oracle from a pull request's files: can a plan of a pull request differ
between a right and a wrong guess of a secret that production runs with?

Production runs `TOKEN: ${TOKEN}` (or a secret from the variable), the operator's TOKEN is
`hunter2-production`. Each test plans a pull request built from a guess, right and wrong,
against the recorded production state, as `POST /v2/syncd/plans` would (pure: manifests,
resolve, the state store, observe, plan, every render format), and asks for the two views to
be alike once the guess itself is replaced by a placeholder; and for no view of the wrong
guess to hold the secret. A strict xfail is a hole known and not fixed yet (its reason says
what it would take)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pyrage
import pytest

from syncd.apply.store import Store
from syncd.core.desired import DesiredState, resolve
from syncd.core.observe import observe
from syncd.core.plan import Action, plan
from syncd.engine.base import ContainerState, Observed, ObservedContainer
from syncd.errors import ManifestError
from syncd.manifests import read_manifests
from syncd.render import PlanFormat, render
from syncd.sops import AgeIdentities, SopsFormat, encrypt
from syncd.source.reader import SourceFile

SECRET = "hunter2-production"
WRONG = "a-wrong-guess-xyzzy"
ENV = {"TOKEN": SECRET, "EMPTY": ""}
KEY = pyrage.x25519.Identity.generate()
IDENTITIES = AgeIdentities.from_text(f"# test key\n{KEY}\n", "test key")
HEAD = "services:\n  web:\n    image: busybox:1.36\n"
WEB = HEAD + "    environment:\n      TOKEN: ${TOKEN}\n"  # what production runs
Files = Mapping[str, str]


def sealed(plain: str, name: str, fmt: SopsFormat = SopsFormat.BINARY) -> str:
    """`plain` encrypted for the operator's age recipient: the public key that every SOPS file
    of the repository names, so anyone who can push can do it."""
    return encrypt(plain, fmt, [str(KEY.to_public())], name)


def state(files: Files) -> DesiredState | str:
    """The desired state of `files`, or the text of its errors."""
    manifests = read_manifests(
        [SourceFile(p, t.encode()) for p, t in files.items()], ENV, identities=IDENTITIES
    )
    try:
        return resolve(manifests, "pr")
    except ManifestError as err:
        return "\n".join(str(p) for p in err.problems)


def view(tmp_path: Path, applied: DesiredState, target: DesiredState | str) -> list[str]:
    """What a plan of `target` against `applied` (recorded, running) shows: its errors, or each
    service's action, fields and patch paths and every render format."""
    if isinstance(target, str):
        return [target]
    store = Store(tmp_path / "state.sqlite")
    try:
        running = []
        for service in (s for st in applied.stacks.values() for s in st.services.values()):
            store.record(
                service.key, revision="main", spec=dict(service.spec), secrets=service.secrets,
                container_hash=service.hash, result="created", declaration=service.declaration,
            )  # fmt: skip
            running.append(ObservedContainer(
                f"c-{service.key.name}", service.key.name, service.key, service.hash, "main",
                "img", ContainerState.RUNNING, None, 1.0,
            ))  # fmt: skip
        seen = observe(
            Observed(tuple(running)), store.services(), desired=target, restore=store.restore
        )
        result = plan(target, seen.live, base="main")
    finally:
        store.close()
    changes = [
        f"{c.key} {c.action.value} {c.fields} {sorted(op['path'] for op in c.patch)}"
        for stack in result.stacks
        for c in stack.services
    ]
    return changes + [render(result, fmt) for fmt in PlanFormat]


def assert_alike(tmp_path: Path, running: Files, pull_request: Callable[[str], Files]) -> None:
    applied = state(running)
    assert not isinstance(applied, str), applied
    unchanged = view(tmp_path / "same", applied, state(running))
    assert all(f" {Action.NONE.value} " in line for line in unchanged if line.startswith("shop/"))
    right = view(tmp_path / "right", applied, state(pull_request(SECRET)))
    wrong = view(tmp_path / "wrong", applied, state(pull_request(WRONG)))
    assert not any(SECRET in text for text in wrong)  # no view shows the secret itself
    shown = [[text.replace(guess, "<guess>") for text in texts]
             for guess, texts in ((SECRET, right), (WRONG, wrong))]  # fmt: skip
    assert shown[0] == shown[1]


# --- fixed: how a secret or config source was declared --------------------------------------


def source(section: str) -> str:
    return WEB + f"    {section}: [tok]\n{section}:\n  tok: {{environment: TOKEN}}\n"


@pytest.mark.parametrize("section", ["secrets", "configs"])
def test_a_source_from_a_variable_of_the_committed_env_plans_alike(
    tmp_path: Path, section: str
) -> None:
    """`environment: GUESS` reads the committed `.env` (`GUESS=<guess>`): its value is the
    pull request's, so it is part of the declaration (the `.env` holds no secret, so the file
    itself is not)."""
    running = {"shop/compose.yaml": source(section)}
    from_dotenv = source(section).replace("{environment: TOKEN}", "{environment: GUESS}")
    assert_alike(tmp_path, running, lambda guess: {
        "shop/compose.yaml": from_dotenv,
        "shop/.env": f"GUESS={guess}\n",
    })  # fmt: skip


@pytest.mark.parametrize("section", ["secrets", "configs"])
@pytest.mark.parametrize("production", ["variable", "sops-file"])
def test_a_source_file_encrypted_for_the_operator_plans_alike(
    tmp_path: Path, section: str, production: str
) -> None:
    """A SOPS file decrypts with the operator's key whoever encrypted it: its bytes are part of
    the declaration, as an encrypted env file's are. The same file plans as unchanged."""
    from_file = source(section).replace("{environment: TOKEN}", "{file: tok.txt}")
    running = {"shop/compose.yaml": source(section)}
    if production == "sops-file":
        running = {"shop/compose.yaml": from_file, "shop/tok.txt": sealed(SECRET, "tok.txt")}
    assert_alike(tmp_path, running, lambda guess: {
        "shop/compose.yaml": from_file, "shop/tok.txt": sealed(guess, "tok.txt"),
    })  # fmt: skip


# --- fixed: a mapping key from a variable -----------------------------------------------------


@pytest.mark.parametrize(
    "field",
    [
        "environment: ['TOKEN=${TOKEN}', '${TOKEN}=1', '<guess>=1']",
        "labels: ['${TOKEN}=1', '<guess>=1']",
        "sysctls: ['net.core.${TOKEN}=1', 'net.core.<guess>=1']",
        "labels: ['${TOKEN}', '<guess>=1']",
        "networks: [n]\nnetworks:\n  n: {driver_opts: ['${TOKEN}=1', '<guess>=1']}",
    ],
    ids=["environment", "labels", "sysctls", "whole-item", "network-driver-opts"],
)
def test_a_name_from_a_variable_is_refused(tmp_path: Path, field: str) -> None:
    """A `NAME=value` item's name becomes a key, and keys are in every plan's pointers
    (`/environment/hunter2-production`), and two items of one name make one key: the plan
    showed the secret outright, and said whether a guess equals it."""
    running = {"shop/compose.yaml": WEB}
    assert_alike(tmp_path, running, lambda guess: {
        "shop/compose.yaml": HEAD + "    " + field.replace("<guess>", guess) + "\n",
    })  # fmt: skip
    refused = state({"shop/compose.yaml": HEAD + "    " + field.replace("<guess>", WRONG) + "\n"})
    assert isinstance(refused, str) and "cannot come from the operator's variables" in refused


def test_names_written_in_the_file_still_read_values_from_variables() -> None:
    items = "    environment: ['TOKEN=${TOKEN}', 'A=$${X}']\n    labels: ['a=${TOKEN}']\n"
    found = state({"shop/compose.yaml": HEAD + items})
    assert not isinstance(found, str), found
    [web] = [s for st in found.stacks.values() for s in st.services.values()]
    assert web.spec["environment"] == {"TOKEN": SECRET, "A": "${X}"}
    assert web.spec["labels"] == {"a": SECRET}
    assert {"/environment/TOKEN", "/labels"} <= web.secrets
    # a name from the committed .env (the repository holds it: no secret) is read as usual
    routed = "    labels: ['traefik.http.routers.${R}.rule=Host(`x`)']\n"
    found = state({"shop/compose.yaml": HEAD + routed, "shop/.env": "R=web\n"})
    assert not isinstance(found, str), found
    [web] = [s for st in found.stacks.values() for s in st.services.values()]
    assert web.spec["labels"] == {"traefik.http.routers.web.rule": "Host(`x`)"}


# --- fixed: outputs redacted by value -----------------------------------------------------------


PLAIN = WEB + "      X: plain\n    labels: {a: b}\n"
NATIVE = (
    "kind: Stack\nproject: shop\nservices:\n  web:\n    image: busybox:1.36\n"
    "    command: [run, '${TOKEN}', plain]\n"
)


@pytest.mark.parametrize(
    ("path", "written", "guessed"),
    [
        ("shop/compose.yaml", "X: plain", "X: '<guess>'"),
        ("shop/compose.yaml", "{a: b}", "{a: '<guess>'}"),
        ("shop/stack.yaml", "plain]", "'<guess>']"),
        ("shop/stack.yaml", "plain]", "plain, '<guess>']"),
    ],
    ids=["environment", "labels", "native-list-item", "native-list-append"],
)
def test_a_plain_value_equal_to_a_secret_shows_alike(
    tmp_path: Path, path: str, written: str, guessed: str
) -> None:
    """Plans hide secrets by place: an op into a list that holds one is hidden whole (items
    move), never a plain value for being equal to a secret (it was, in the patch, the value
    diffs and the impact lines: `<redacted>` only when the guess was right). The secret's
    own declaration is unchanged, so the running spec holds it, restored."""
    text = PLAIN if path.endswith("compose.yaml") else NATIVE
    assert_alike(tmp_path, {path: text}, lambda guess: {
        path: text.replace(written, guessed.replace("<guess>", guess)),
    })  # fmt: skip


# --- holes: messages scrubbed by value, names resolved against the pull request's ------------


@pytest.mark.xfail(
    strict=True,
    reason="problems are scrubbed of the operator's values wherever they appear (Context.add, "
    "_scrub, scrub_problem): an error quoting a plain guess shows <redacted> only when right",
)
def test_an_error_quoting_a_plain_value_shows_alike(tmp_path: Path) -> None:
    running = {"shop/compose.yaml": WEB}
    assert_alike(tmp_path, running, lambda guess: {
        "shop/compose.yaml": WEB + f"    restart: '{guess}'\n",
    })  # fmt: skip


@pytest.mark.parametrize(
    ("field", "declared"),
    [
        ("networks: ['${TOKEN}']", "networks:\n  <guess>: {}\n"),
        ("secrets: ['${TOKEN}']", "secrets:\n  <guess>: {environment: TOKEN}\n"),
        ("secrets: [{source: '${TOKEN}'}]", "secrets:\n  <guess>: {environment: TOKEN}\n"),
        ("configs: ['${TOKEN}']", "configs:\n  <guess>: {content: x}\n"),
        ("depends_on: ['${TOKEN}']", "  <guess>: {image: busybox:1.36}\n"),
        ("links: ['${TOKEN}']", "  <guess>: {image: busybox:1.36}\n"),
    ],
    ids=["networks", "secrets", "secrets-long", "configs", "depends_on", "links"],
)
def test_a_reference_from_a_variable_is_refused_alike(
    tmp_path: Path, field: str, declared: str
) -> None:
    """Whether a reference names an object of the file would say whether a guess is right: a
    reference that takes the operator's variable is refused, right guess or wrong."""
    running = {"shop/compose.yaml": WEB}
    assert_alike(tmp_path, running, lambda guess: {
        "shop/compose.yaml": WEB + f"    {field}\n" + declared.replace("<guess>", guess),
    })  # fmt: skip
    refused = state(
        {"shop/compose.yaml": WEB + f"    {field}\n" + declared.replace("<guess>", "x")}
    )
    assert isinstance(refused, str) and "cannot come from the operator's variables" in refused


def test_a_reference_from_the_committed_env_is_read_as_usual() -> None:
    found = state({
        "shop/compose.yaml": WEB + "    depends_on: ['${DB}']\n  db: {image: busybox:1.36}\n",
        "shop/.env": "DB=db\n",
    })  # fmt: skip
    assert not isinstance(found, str), found
    web = found.stacks[next(iter(found.stacks))].services["web"]
    assert "db" in web.spec["dependsOn"]


NATIVE_WEB = "kind: Stack\nproject: shop\nservices:\n  web:\n    image: busybox:1.36\n"


@pytest.mark.parametrize(
    ("path", "running", "mounted", "declared"),
    [
        (
            "shop/compose.yaml",
            WEB,
            "    volumes: ['${TOKEN}:/data']\n",
            "volumes:\n  <guess>: {}\n",
        ),
        (
            "shop/compose.yaml",
            WEB,
            "    volumes: ['${TOKEN:-x}:/data:ro']\n",
            "volumes:\n  <guess>: {}\n",
        ),
        (
            "shop/compose.yaml",
            WEB,
            "    volumes: [{type: volume, source: '${TOKEN}', target: /data}]\n",
            "volumes:\n  <guess>: {}\n",
        ),
        (
            "shop/web.yaml",
            NATIVE_WEB,
            "    volumes: ['${TOKEN}:/data']\n",
            "volumes:\n  <guess>: {}\n",
        ),
    ],
    ids=["compose-short", "compose-default", "compose-long", "native"],
)
def test_a_volume_source_from_a_variable_is_refused_alike(
    tmp_path: Path, path: str, running: str, mounted: str, declared: str
) -> None:
    """Whether a named volume's source names a volume the pull request declares would tell
    whether a guess equals the variable: such a source is refused, right guess or wrong."""
    assert_alike(tmp_path, {path: running}, lambda guess: {
        path: running + mounted + declared.replace("<guess>", guess),
    })  # fmt: skip
    refused = state({path: running + mounted + declared.replace("<guess>", "x")})
    assert isinstance(refused, str) and "named volume's source cannot come" in refused, refused


@pytest.mark.parametrize(
    ("path", "running", "field", "other"),
    [
        ("shop/compose.yaml", WEB, "network_mode: 'service:${TOKEN}'", "  <guess>: {image: x}\n"),
        ("shop/compose.yaml", WEB, "pid: 'service:${TOKEN}'", "  <guess>: {image: x}\n"),
        ("shop/compose.yaml", WEB, "ipc: 'service:${TOKEN}'", "  <guess>: {image: x}\n"),
        ("shop/web.yaml", NATIVE_WEB, "networkMode: 'service:${TOKEN}'", "  <guess>: {image: x}\n"),
    ],
    ids=["network_mode", "pid", "ipc", "native-networkMode"],
)
def test_a_namespace_from_a_variable_is_refused_alike(
    tmp_path: Path, path: str, running: str, field: str, other: str
) -> None:
    """`service:<name>` joins another service's namespace: whether the name resolves would
    tell whether a guess equals the variable, so such a value is refused, right guess or wrong."""
    assert_alike(tmp_path, {path: running}, lambda guess: {
        path: running + f"    {field}\n" + other.replace("<guess>", guess),
    })  # fmt: skip
    refused = state({path: running + f"    {field}\n" + other.replace("<guess>", "x")})
    assert isinstance(refused, str) and "a service's namespace (service:<name>)" in refused


@pytest.mark.parametrize(
    ("mount", "outcome"),
    [
        ("'${DATA_DIR}:/data'", "is not allowed by the operator's policy"),  # read as a bind
        ("'./${SUB}:/data'", None),
        ("'data:/${SUB}'", None),
        ("'data:/mnt:${MODE}'", None),
    ],
    ids=["bind-from-variable", "bind-below-a-variable", "target", "options"],
)
def test_a_bind_path_or_a_target_from_a_variable_is_read_as_usual(
    mount: str, outcome: str | None
) -> None:
    text = HEAD + f"    volumes: [{mount}]\nvolumes:\n  data: {{}}\n"
    operator = {"DATA_DIR": "/srv/data", "SUB": "cache", "MODE": "ro"}
    manifests = read_manifests([SourceFile("shop/compose.yaml", text.encode())], operator)
    if outcome is None:
        resolve(manifests, "pr")
        return
    with pytest.raises(ManifestError) as raised:
        resolve(manifests, "pr")
    assert outcome in str(raised.value) and "named volume" not in str(raised.value)


@pytest.mark.parametrize(
    "field",
    ["tmpfs: ['/${TOKEN}', '/<guess>']", "networks: {default: {aliases: ['${TOKEN}', '<guess>']}}"],
    ids=["tmpfs", "aliases"],
)
def test_a_value_from_a_variable_beside_a_guess_plans_alike(tmp_path: Path, field: str) -> None:
    """A value from a variable is never compared with the pull request's own items: not for a
    clash (two tmpfs of one path), not to fold duplicates (network aliases)."""
    running = {"shop/compose.yaml": WEB}
    assert_alike(tmp_path, running, lambda guess: {
        "shop/compose.yaml": WEB + "    " + field.replace("<guess>", guess) + "\n",
    })  # fmt: skip


@pytest.mark.xfail(
    strict=True,
    reason="a record written before the binding (an unbound `<digest:...>`) matches on the value "
    "alone (Store.restore) until the first sync that finds its service unchanged binds it "
    "(apply.rebind, tests/test_secret_rebind.py): in that window a template guess reads as "
    "unchanged when right",
)
def test_a_record_from_before_the_binding_plans_alike(tmp_path: Path) -> None:
    applied = state({"shop/compose.yaml": WEB})
    assert not isinstance(applied, str), applied
    [web] = [s for st in applied.stacks.values() for s in st.services.values()]
    store = Store(tmp_path / "state.sqlite")
    try:  # as the version before the binding recorded it
        hidden = dict(web.spec, environment={"TOKEN": store._digest(SECRET)})
        store.record(
            web.key, revision="main", spec=hidden, secrets=frozenset(), container_hash=web.hash,
            result="created",
        )  # fmt: skip
        store._db.execute(
            "UPDATE services SET secrets = ? WHERE key = ?",
            ('["/environment/TOKEN"]', str(web.key)),
        )
        container = ObservedContainer(
            "c1", "web", web.key, web.hash, "main", "img", ContainerState.RUNNING, None, 1.0
        )
        found = []
        for guess in (SECRET, WRONG):
            target = state({"shop/compose.yaml": WEB.replace("${TOKEN}", f"${{TOKEN:+{guess}}}")})
            assert not isinstance(target, str), target
            seen = observe(Observed((container,)), store.services(), desired=target,
                           restore=store.restore)  # fmt: skip
            [change] = plan(target, seen.live, base="main").stacks[0].services
            found.append(change.action)
        assert store.restore(store.services()[str(web.key)], web.spec, web.declaration) == web.spec
    finally:
        store.close()
    assert found[0] is found[1]


@pytest.mark.parametrize(
    "field",
    ["dependsOn: ['${TOKEN}']", "networks: ['${TOKEN}']", "secrets: [{source: '${TOKEN}'}]"],
    ids=["dependsOn", "networks", "secrets-source"],
)
def test_a_native_reference_from_a_variable_is_refused(field: str) -> None:
    native = (
        f"kind: Stack\nproject: shop\nservices:\n  web:\n    image: busybox:1.36\n    {field}\n"
    )
    refused = state({"shop/stack.yaml": native})
    assert isinstance(refused, str), refused
    assert "cannot take a value from the environment (whether it names one" in refused
    assert SECRET not in refused
