"""One errors module, and causes kept: every public error class lives in `syncd.errors`; an
adapter that translates a third-party exception chains it (`from err`), except where the cause
would carry a secret or bytes a user controls (`from None`)."""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import socket
from pathlib import Path

import docker
import pytest
import requests

import syncd
from syncd import errors
from syncd.api.server import bind
from syncd.apply.registries import read_password
from syncd.core.desired import DesiredRegistry
from syncd.engine.docker import API_VERSION, DockerEngine
from syncd.errors import (
    CredentialsError,
    EngineUnavailable,
    PortInUse,
    SecretFileError,
    SourceError,
    SyncdError,
    WebhookMalformed,
)
from syncd.ids import RegistryKey
from syncd.layers import Layers
from syncd.operatorenv import read_secret_file
from syncd.settings import Settings, add_arguments, from_args
from syncd.source.gitargs import check_location
from syncd.source.repository import Credentials
from syncd.source.webhooks import pushed_branch


def _modules() -> list[str]:
    found = pkgutil.walk_packages(syncd.__path__, prefix="syncd.")
    return sorted(m.name for m in found if m.name not in ("syncd.__main__",))


def test_every_public_error_class_is_defined_in_syncd_errors() -> None:
    elsewhere = []
    for name in _modules():
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            defined_here = inspect.isclass(value) and value.__module__ == name
            if defined_here and issubclass(value, BaseException) and not attr.startswith("_"):
                elsewhere.append(f"{name}.{attr}")
    assert sorted(set(elsewhere) - {f"syncd.errors.{n}" for n in vars(errors)}) == []


def test_every_error_of_the_errors_module_is_a_syncd_error() -> None:
    classes = [
        v for v in vars(errors).values() if inspect.isclass(v) and issubclass(v, BaseException)
    ]
    assert {c.__name__ for c in classes} >= {"EngineError", "PatchRefused", "PortInUse"}
    assert [c.__name__ for c in classes if not issubclass(c, SyncdError)] == []


# -- causes chained ----------------------------------------------------------------------------


def test_an_unreachable_engine_keeps_the_connection_error_as_its_cause(tmp_path: Path) -> None:
    client = docker.APIClient(base_url=f"unix://{tmp_path}/no.sock", version=API_VERSION)
    engine = DockerEngine("t", client=client)
    with pytest.raises(EngineUnavailable) as caught:
        engine.observe()
    assert isinstance(caught.value.__cause__, requests.ConnectionError)
    with pytest.raises(EngineUnavailable) as streamed:
        next(iter(engine.events()))
    assert isinstance(streamed.value.__cause__, requests.ConnectionError)
    engine.close()


def test_a_taken_port_keeps_the_os_error_as_its_cause() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        with pytest.raises(PortInUse, match=r"cannot listen on 127\.0\.0\.1:") as caught:
            bind("127.0.0.1", taken.getsockname()[1])
    assert isinstance(caught.value.__cause__, OSError)


def test_an_unreadable_password_file_is_the_cause_of_the_credentials_error(
    tmp_path: Path,
) -> None:
    registry = DesiredRegistry(RegistryKey("shop", "team"), "r.example", "", "u", "file:gone")
    with pytest.raises(CredentialsError) as caught:
        read_password(registry, {}, tmp_path)
    assert isinstance(caught.value.__cause__, SecretFileError)
    assert isinstance(caught.value.__cause__.__cause__, FileNotFoundError)


def test_source_errors_keep_their_cause(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot read the token file") as caught:
        Credentials(token_file=tmp_path / "missing").environment()
    assert isinstance(caught.value.__cause__, FileNotFoundError)
    nested = b"[" * 200_000
    with pytest.raises(WebhookMalformed) as malformed:
        pushed_branch(nested)
    assert isinstance(malformed.value.__cause__, RecursionError)


def test_bad_settings_keep_their_cause(tmp_path: Path) -> None:
    with pytest.raises(SyncdError, match="not an IP address") as address:
        Settings(data_dir=tmp_path, publish_address="localhost")
    assert isinstance(address.value.__cause__, ValueError)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(SyncdError, match="not a number") as number:
        from_args(parser.parse_args([]), {"SYNCD_PARALLELISM": "x", "XDG_STATE_HOME": "/t"})
    assert isinstance(number.value.__cause__, ValueError)
    with pytest.raises(SyncdError, match="cannot read the config file") as missing:
        Layers(argparse.Namespace(config=str(tmp_path / "nope.yaml")), {})
    assert isinstance(missing.value.__cause__, FileNotFoundError)


# -- causes dropped on purpose -----------------------------------------------------------------


def _dropped(err: BaseException) -> bool:
    return err.__cause__ is None and err.__suppress_context__


def test_a_password_file_that_is_not_text_drops_its_cause_which_holds_the_bytes(
    tmp_path: Path,
) -> None:
    (tmp_path / "pw").write_bytes(b"s3cret\xff\xfe")
    with pytest.raises(SecretFileError, match="not UTF-8 text") as caught:
        read_secret_file("pw", tmp_path)
    assert _dropped(caught.value)


def test_a_url_that_does_not_parse_drops_urllibs_message_which_quotes_it() -> None:
    with pytest.raises(SourceError, match="not a valid URL") as caught:
        check_location("https://user:tok3n@host:p0rt/repo.git")
    assert _dropped(caught.value)
    assert "tok3n" not in str(caught.value)


# -- the config file's errors ------------------------------------------------------------------

TOKEN = "admin-token-value-9f3a"


def test_a_config_file_yaml_error_is_located_and_never_quotes_the_file(tmp_path: Path) -> None:
    """PyYAML's message quotes the lines around the error: the admin token sat there."""
    path = tmp_path / "syncd.yaml"
    path.write_text(f'repo: /srv/repo\nadmin-token: "{TOKEN}\n')
    with pytest.raises(SyncdError) as caught:
        Layers(argparse.Namespace(config=str(path)), {})
    message = str(caught.value)
    assert message.startswith(f"config file {path}:3:1: not valid YAML: "), message
    assert TOKEN not in message and _dropped(caught.value)


def test_a_config_file_that_is_not_text_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "syncd.yaml"
    path.write_bytes(f"admin-token: {TOKEN}\xff\n".encode("latin-1"))
    with pytest.raises(SyncdError, match="is not UTF-8 text") as caught:
        Layers(argparse.Namespace(config=str(path)), {})
    assert TOKEN not in str(caught.value) and _dropped(caught.value)
