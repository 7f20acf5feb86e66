"""SOPS-encrypted files used by manifests (issue 17): a Compose `env_file`, `secrets:` and
`configs:` files, the `.env` beside a Compose file, a Registry's `{sops: path#key}` password.

Files are encrypted in the test with `syncd.sops.encrypt` for age keys made by pyrage; plans
are computed as the CLI computes them, from manifests or from a real git repository. Every
decrypted value is checked absent from each plan format, problem and error."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path

import pyrage
import pytest

from syncd import operatorenv, settings, taint
from syncd.apply.registries import read_password
from syncd.cli.main import main
from syncd.core.desired import registries_of, resolve
from syncd.core.plan import Action, Plan, as_live, plan
from syncd.errors import CredentialsError, SopsError
from syncd.layers import Layers
from syncd.manifests import ManifestFile, ManifestSet, read_manifests
from syncd.render import PlanFormat, render
from syncd.secretpolicy import unknowns_allowed
from syncd.sops import AgeIdentities, SopsFormat, encrypt, format_for
from tests.gitrepo import GitRepo

KEY = pyrage.x25519.Identity.generate()
OTHER = pyrage.x25519.Identity.generate()
PASSWORD = "hunter2-registry-pw"
DB = "s3cret-db-password"
TOKEN = "api-token-5c1f9e"
CONFIG = "listen: 8080\nadmin_key: conf-secret-77\n"

COMPOSE = """services:
  web:
    image: busybox:1.36
    env_file: secrets.env
    secrets: [db]
    configs: [conf]
  side:
    image: busybox:1.36
    environment: {MODE: plain}
secrets:
  db: {file: db.txt}
configs:
  conf: {file: app.yaml}
"""
OTHER_STACK = "services:\n  api:\n    image: busybox:1.36\n    environment: {A: b}\n"
REGISTRY = """kind: Registry
project: shop
name: team
uri: 127.0.0.1:5555
credentials:
  username: syncd
  password: {sops: creds.yaml#registry.password}
"""
SECRETS = (DB, TOKEN, "conf-secret-77", PASSWORD)


def _identities(identity: pyrage.x25519.Identity = KEY) -> AgeIdentities:
    return AgeIdentities.from_text(f"# test key\n{identity}\n", "test key")


def _enc(plain: str, name: str, fmt: SopsFormat | None = None, to: object = KEY) -> str:
    recipient = str(to.to_public())  # type: ignore[attr-defined]
    return encrypt(plain, fmt or format_for(name), [recipient], name)


def _files(token: str = TOKEN) -> dict[str, str]:
    return {
        "shop/compose.yaml": COMPOSE,
        "shop/secrets.env": _enc(f"TOKEN={token}\nLEVEL=3\n", "secrets.env"),
        "shop/db.txt": _enc(DB, "db.txt"),
        "shop/app.yaml": _enc(CONFIG, "app.yaml", SopsFormat.BINARY),
        "other/compose.yaml": OTHER_STACK,
    }


def _read(files: Mapping[str, str | bytes], identities: AgeIdentities | None = None) -> ManifestSet:
    encoded = [ManifestFile(p, t.encode() if isinstance(t, str) else t) for p, t in files.items()]
    return read_manifests(encoded, {}, identities=identities)


def _errors(manifests: ManifestSet) -> list[str]:
    return [str(p) for p in manifests.errors]


def _stack(manifests: ManifestSet, project: str) -> object:
    [found] = [s.manifest for s in manifests.stacks if s.manifest.project == project]
    return found


def _plan(old: ManifestSet, new: ManifestSet) -> Plan:
    before = resolve(old, "old")
    live = as_live(before)
    return plan(resolve(new, "new", live.last_applied()), live, base="old")


def _recreated(result: Plan) -> set[str]:
    changes = [c for stack in result.stacks for c in stack.changes]
    assert all(c.action in (Action.NONE, Action.RECREATE) for c in changes)
    return {c.key.name for c in changes if c.action is Action.RECREATE}


def _outputs(result: Plan) -> list[str]:
    return [render(result, fmt) for fmt in PlanFormat]


def _hidden_everywhere(texts: list[str]) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
        assert "ENC[" not in text


# --- decrypted with the key -------------------------------------------------------------------


def test_an_encrypted_env_file_secret_and_config_decrypt_into_the_stack() -> None:
    manifests = _read(_files(), _identities())
    assert _errors(manifests) == []
    stack = _stack(manifests, "shop")
    web = stack.services["web"]  # type: ignore[attr-defined]
    assert web.env() == {"TOKEN": TOKEN, "LEVEL": "3"}
    assert stack.secrets["db"].content == DB  # type: ignore[attr-defined]
    assert stack.configs["conf"].content == CONFIG  # type: ignore[attr-defined]
    assert {DB, TOKEN, "3", CONFIG.strip()} <= manifests.secret_values()


def test_decrypted_values_are_tainted_in_every_plan_format() -> None:
    old = _read({"other/compose.yaml": OTHER_STACK}, _identities())
    new = _read(_files(), _identities())
    result = _plan(old, new)
    texts = _outputs(result)
    _hidden_everywhere(texts)
    assert "<redacted>" in texts[0]
    changed = _plan(new, _read(_files("a-new-token-42"), _identities()))
    texts = _outputs(changed)
    _hidden_everywhere(texts)
    assert "a-new-token-42" not in "".join(texts)
    assert _recreated(changed) == {"web"}


def test_an_encrypted_dotenv_beside_the_compose_file_feeds_interpolation() -> None:
    compose = "services:\n  web:\n    image: busybox:1.36\n    environment: {PW: '${DB_PW}'}\n"
    files = {
        "app/compose.yaml": compose,
        "app/.env": _enc(f"DB_PW={DB}\n", ".env", SopsFormat.DOTENV),
    }
    manifests = _read(files, _identities())
    assert _errors(manifests) == []
    assert _stack(manifests, "app").services["web"].env() == {"PW": DB}  # type: ignore[attr-defined]
    result = _plan(_read({}, None), manifests)
    _hidden_everywhere(_outputs(result))


def test_an_env_file_made_by_the_real_sops_tool_is_used() -> None:
    """A dotenv file the sops 3.x tool wrote (tests/fixtures/sops: the library's fixtures)."""
    fixtures = Path(__file__).parent / "fixtures" / "sops"
    compose = "services:\n  web:\n    image: busybox:1.36\n    env_file: flux.env\n"
    files = {
        "app/compose.yaml": compose,
        "app/flux.env": (fixtures / "flux-env.enc.env").read_text(),
    }
    identities = AgeIdentities.from_file(fixtures / "flux-age.txt")
    manifests = _read(files, identities)
    assert _errors(manifests) == []
    assert _stack(manifests, "app").services["web"].env() == {"key": "value"}  # type: ignore[attr-defined]
    with unknowns_allowed():
        unknown = _read(files)
    [value] = _stack(unknown, "app").services["web"].env().values()  # type: ignore[attr-defined]
    assert value.startswith("(encrypted value ")


def test_a_registry_password_decrypts_at_the_moment_of_a_pull(tmp_path: Path) -> None:
    creds = _enc(f"registry:\n  password: {PASSWORD}\nother: x\n", "creds.yaml")
    manifests = _read({"registry.yaml": REGISTRY, "creds.yaml": creds}, _identities())
    assert _errors(manifests) == []
    [registry] = registries_of(manifests).values()
    assert registry.password_ref == "sops:creds.yaml#registry.password"
    assert PASSWORD not in repr(registry)
    key_file = tmp_path / "keys.txt"
    key_file.write_text(f"{KEY}\n")
    assert read_password(registry, {}, tmp_path, key_file) == PASSWORD
    assert taint.scrub_known(f"login with {PASSWORD}") == "login with <redacted>"
    with pytest.raises(CredentialsError, match="no age key") as err:
        read_password(registry, {}, tmp_path, None)
    wrong = tmp_path / "wrong.txt"
    wrong.write_text(f"{OTHER}\n")
    with pytest.raises(CredentialsError) as err:
        read_password(registry, {}, tmp_path, wrong)
    assert "creds.yaml" in str(err.value) and "ENC[" not in str(err.value)


def test_a_registry_sops_reference_is_checked_without_the_key() -> None:
    creds = _enc("registry:\n  password: x\n", "creds.yaml")
    base = {"registry.yaml": REGISTRY, "creds.yaml": creds}
    assert _errors(_read(base)) == []  # no key needed to check the reference
    missing = _read({**base, "registry.yaml": REGISTRY.replace("registry.password", "nope")})
    assert any("has no key 'nope'" in e for e in _errors(missing))
    plain = _read({**base, "creds.yaml": "registry:\n  password: x\n"})
    assert any("creds.yaml is not a SOPS-encrypted file" in e for e in _errors(plain))
    outside = _read({**base, "registry.yaml": REGISTRY.replace("creds.yaml", "../creds.yaml")})
    assert any("leaves the repository" in e for e in _errors(outside))


# --- failures: only the stacks that use the file -----------------------------------------------


def test_a_wrong_key_fails_only_the_stack_using_the_file() -> None:
    manifests = _read(_files(), _identities(OTHER))
    errors = _errors(manifests)
    assert errors and all(e.startswith("shop/compose.yaml") for e in errors)
    assert any("secrets.env" in e for e in errors) and any("db.txt" in e for e in errors)
    assert all("ENC[" not in e for e in errors)
    assert [s.manifest.project for s in manifests.stacks] == ["other"]


def test_an_encrypted_env_file_that_is_not_a_flat_map_is_an_error_at_its_entry() -> None:
    compose = "services:\n  web:\n    image: busybox:1.36\n    env_file: vars.yaml\n"
    nested = _enc(f"outer:\n  inner: {DB}\n", "vars.yaml")
    manifests = _read({"app/compose.yaml": compose, "app/vars.yaml": nested}, _identities())
    [error] = _errors(manifests)
    assert error.startswith("app/compose.yaml:4:15: /services/web/env_file: env file 'vars.yaml'")
    assert DB not in error and "ENC[" not in error


def test_no_key_is_an_error_naming_the_file_and_the_setting() -> None:
    errors = _errors(_read(_files()))
    assert any("secrets.env" in e and "--age-key-file" in e for e in errors)


def test_a_tampered_file_is_refused_by_its_mac() -> None:
    files = _files()
    text = files["shop/db.txt"]
    start = text.index("data:") + len("data:")
    flipped = "A" if text[start] != "A" else "B"
    files["shop/db.txt"] = text[:start] + flipped + text[start + 1 :]
    manifests = _read(files, _identities())
    errors = [e for e in _errors(manifests) if "db.txt" in e]
    assert errors and all("ENC[" not in e and DB not in e for e in errors)
    assert "shop" not in [s.manifest.project for s in manifests.stacks]


def test_a_value_changed_in_clear_is_refused_by_the_mac() -> None:
    """`_unencrypted` keys stay in clear but the MAC covers them: editing one without sops (one
    byte) is caught by the MAC, not by a value's own GCM tag."""
    config = _enc("user_unencrypted: bob\nadmin_key: conf-secret-77\n", "app.yaml")
    assert "user_unencrypted: bob" in config
    files = {
        **_files(),
        "shop/app.yaml": config.replace("user_unencrypted: bob", "user_unencrypted: bot"),
    }
    manifests = _read(files, _identities())
    [error] = _errors(manifests)
    assert error.startswith("shop/compose.yaml:13:16: /configs/conf/file:")
    assert "shop/app.yaml: MAC mismatch" in error
    assert [s.manifest.project for s in manifests.stacks] == ["other"]
    assert _errors(_read({**files, "shop/app.yaml": config}, _identities())) == []


# --- plans without the key ---------------------------------------------------------------------


def test_a_plan_without_the_key_compares_encrypted_values_by_fingerprint() -> None:
    files = _files()
    with unknowns_allowed():
        old = _read(files)
        same = _read({**files, "shop/compose.yaml": COMPOSE + "# a comment\n"})
        assert _errors(old) == []
        assert not _plan(old, same).changed
        changed = _read(
            {**files, "shop/secrets.env": _files("rotated-token-9")["shop/secrets.env"]}
        )
        result = _plan(old, changed)
    text = render(result, PlanFormat.TEXT)
    assert "/environment/TOKEN: (encrypted value changed)" in text
    assert "/environment/LEVEL: (encrypted value changed)" in text
    assert _recreated(result) == {"web"}
    _hidden_everywhere(_outputs(result))
    assert "rotated-token-9" not in json.dumps(render(result, PlanFormat.JSON))


def test_an_encrypted_dotenv_is_compared_by_fingerprint_without_the_key() -> None:
    compose = "services:\n  web:\n    image: busybox:1.36\n    environment: {PW: '${DB_PW}'}\n"

    def files(password: str) -> dict[str, str]:
        dotenv = _enc(f"DB_PW={password}\n", ".env", SopsFormat.DOTENV)
        return {"app/compose.yaml": compose, "app/.env": dotenv}

    first = files(DB)
    with unknowns_allowed():
        old = _read(first)
        assert not _plan(old, _read(first)).changed
        result = _plan(old, _read(files("another-db-password")))
    assert "/environment/PW: (encrypted value changed)" in render(result, PlanFormat.TEXT)
    assert _recreated(result) == {"web"}


def test_plan_base_head_through_the_cli_without_a_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOPS_AGE_KEY_FILE", raising=False)
    repo = GitRepo(tmp_path / "repo")
    for path, text in _files().items():
        repo.write(path, text)
    repo.commit()
    repo.write("shop/secrets.env", _files("rotated-token-9")["shop/secrets.env"])
    repo.commit()
    code = main(["plan", "--repo", str(repo.path), "--base", "HEAD~1", "--head", "HEAD"])
    out = capsys.readouterr()
    assert code == 2, out.err
    assert "/environment/TOKEN: (encrypted value changed)" in out.out
    assert "rotated-token-9" not in out.out + out.err and TOKEN not in out.out + out.err
    code = main(["validate", "--repo", str(repo.path), "--unset-ok"])
    assert code == 0, capsys.readouterr().out


# --- the operator's age key file -------------------------------------------------------------


def test_the_age_key_file_setting_and_its_precedence(tmp_path: Path) -> None:
    args = argparse.Namespace(age_key_file=None, config=None)
    assert settings.age_key_file(Layers(args, {}), {}) is None
    env = {"SOPS_AGE_KEY_FILE": "/keys/sops.txt"}
    assert settings.age_key_file(Layers(args, env), env) == Path("/keys/sops.txt")
    env["SYNCD_AGE_KEY_FILE"] = "/keys/syncd.txt"
    assert settings.age_key_file(Layers(args, env), env) == Path("/keys/syncd.txt")
    args.age_key_file = "/keys/flag.txt"
    assert settings.age_key_file(Layers(args, env), env) == Path("/keys/flag.txt")


def test_the_key_file_is_read_again_only_when_it_changes_and_errors_show_no_key(
    tmp_path: Path,
) -> None:
    path = tmp_path / "age.key"
    assert operatorenv.age_identities(None) is None
    with pytest.raises(SopsError, match="cannot read the age key file"):
        operatorenv.age_identities(path)
    path.write_text(f"{KEY}\n")
    first = operatorenv.age_identities(path)
    assert first is operatorenv.age_identities(path)  # cached while unchanged
    assert first is not None and first.recipients() == (str(KEY.to_public()),)
    path.write_text(f"# rotated\n{OTHER}\n")
    second = operatorenv.age_identities(path)
    assert second is not None and second.recipients() == (str(OTHER.to_public()),)
    path.write_text(f"{str(OTHER)[:-3]}\n")
    with pytest.raises(SopsError) as err:
        operatorenv.age_identities(path)
    assert str(path) in str(err.value) and str(OTHER)[20:40] not in str(err.value)
