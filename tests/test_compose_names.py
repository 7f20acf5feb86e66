"""Compose project names, how they become syncd projects (DNS labels), and member names."""

from __future__ import annotations

import pytest

from syncd.ids import StackKey, project_id
from syncd.manifests.compose.names import (
    ProjectSource,
    case_collisions,
    dns_label,
    member_problem,
    normalize_compose,
    project_name,
)
from syncd.problems import Severity


@pytest.mark.parametrize(
    ("folder", "compose"),
    [
        ("shop", "shop"),
        ("My_App 2", "my_app2"),
        ("__x-y", "x-y"),
        ("-_-", ""),
        ("Ünïcödé", "ncd"),
        ("web.site", "website"),
        ("", ""),
    ],
)
def test_folder_names_normalise_as_compose_does(folder: str, compose: str) -> None:
    assert normalize_compose(folder) == compose


@pytest.mark.parametrize(
    ("compose", "label"),
    [("shop", "shop"), ("my_app", "my-app"), ("a__", "a"), ("x" * 70, "x" * 63), ("_", "")],
)
def test_dns_label(compose: str, label: str) -> None:
    assert dns_label(compose) == label


@pytest.mark.parametrize(
    ("given", "project", "source", "message"),
    [
        (("shop", "other", "folder"), "shop", ProjectSource.X_SYNCD, None),
        ((None, "shop", "folder"), "shop", ProjectSource.NAME, None),
        ((None, None, "shop"), "shop", ProjectSource.FOLDER, None),
        ((None, None, "Shop 2"), "shop2", ProjectSource.FOLDER, None),
        ((None, "my_app", "f"), "my-app", ProjectSource.NAME, "gives the project 'my-app'"),
        ((None, None, "my_app"), "my-app", ProjectSource.FOLDER, "gives the project 'my-app'"),
        ((None, "a" * 70, "f"), "a" * 63, ProjectSource.NAME, "at most 63 characters"),
        ((None, "1x", "f"), "1x", ProjectSource.NAME, None),
    ],
)
def test_project_names(
    given: tuple[str | None, str | None, str],
    project: str,
    source: ProjectSource,
    message: str | None,
) -> None:
    chosen = project_name(*given)
    assert (chosen.project, chosen.source) == (project, source)
    if message is None:
        assert chosen.message is None
    else:
        assert chosen.severity is Severity.WARNING and chosen.message
        assert message in chosen.message and "x-syncd" in chosen.message
    # the project fits syncd's identities: `default` stack id is the project id
    assert StackKey(project, "default").id == project_id(project)


@pytest.mark.parametrize(
    ("x_syncd", "name", "folder", "source", "message"),
    [
        ("my_app", None, "f", ProjectSource.X_SYNCD, "x-syncd.project 'my_app' is not a valid"),
        ("Shop", None, "f", ProjectSource.X_SYNCD, "is not a valid project name"),
        ("a" * 64, None, "f", ProjectSource.X_SYNCD, "at most 63"),
        ("", None, "f", ProjectSource.X_SYNCD, "is not a valid project name"),
        (None, "Shop", "f", ProjectSource.NAME, "is not a Compose project name"),
        (None, "_x", "f", ProjectSource.NAME, "is not a Compose project name"),
        (None, "a b", "f", ProjectSource.NAME, "is not a Compose project name"),
        (None, "", "f", ProjectSource.NAME, "is not a Compose project name"),
        (None, None, "...", ProjectSource.FOLDER, "gives no project name"),
        (None, None, "", ProjectSource.FOLDER, "gives no project name"),
        (None, None, "__", ProjectSource.FOLDER, "gives no project name"),
    ],
)
def test_project_name_errors(
    x_syncd: str | None, name: str | None, folder: str, source: ProjectSource, message: str
) -> None:
    chosen = project_name(x_syncd, name, folder)
    assert chosen.project is None and chosen.source is source
    assert chosen.severity is Severity.ERROR and chosen.message and message in chosen.message


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("web", None),
        ("my_db", None),
        ("db.primary", None),
        ("Web-1", None),
        ("1st", None),
        ("a" * 63, None),
        ("a" * 64, "has 64 characters; at most 63"),
        (".hidden", "must start with a letter or digit"),
        ("_x", "must start with a letter or digit"),
        ("..", "must start with a letter or digit"),
        ("a/b", "is not valid"),
        ("a b", "is not valid"),
        ("ä", "is not valid"),
        ("", "is not valid"),
    ],
)
def test_member_names(name: str, message: str | None) -> None:
    problem = member_problem("service", name)
    if message is None:
        assert problem is None
    else:
        assert problem is not None and problem.startswith("service name") and message in problem


def test_case_collisions() -> None:
    assert case_collisions(["web", "db", "Web", "DB", "x"]) == [("web", "Web"), ("db", "DB")]
    assert case_collisions(["a_b", "a-b", "a.b"]) == []
