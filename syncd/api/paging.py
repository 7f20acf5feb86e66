"""What every `/v2` route shares: mittwald's pagination, filters, sorting and error shapes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from syncd.api.models import Error, ProjectListItem
from syncd.api.view import View

T = TypeVar("T", bound=BaseModel)
MAX_TAIL = 10_000
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Error}}

Limit = Annotated[int, Query(ge=0, le=100_000)]
Skip = Annotated[int, Query(ge=0)]
Page = Annotated[int | None, Query(alias="page", ge=0)]  # named `page_`: `page()` pages


def not_found(what: str, ref: str) -> JSONResponse:
    return JSONResponse({"type": "NotFound", "message": f"{what} {ref!r} was not found"}, 404)


def page(view: View, items: Sequence[T], limit: int, skip: int, page_: int | None) -> Response:
    """mittwald's pagination: `page` (if given) selects `skip = page * limit`; headers tell.
    The body is joined from JSON rendered once per snapshot, so a list costs no serialization."""
    if page_ is not None:
        skip = page_ * limit
    chosen = items[skip : skip + limit]
    headers = {
        "X-Pagination-Limit": str(limit),
        "X-Pagination-Skip": str(skip),
        "X-Pagination-Page": str(skip // limit if limit else 0),
        "X-Pagination-TotalCount": str(len(items)),
    }
    body = b"[" + b",".join(view.json_of(item) for item in chosen) + b"]"
    return Response(body, media_type="application/json", headers=headers)


def sort_projects(
    items: list[ProjectListItem], by: Literal["createdAt", "description"], descending: bool
) -> list[ProjectListItem]:
    """mittwald's `sort` (createdAt by default) and `order`; ties by name."""
    if by == "createdAt":
        return sorted(
            items,
            key=lambda p: (dt.datetime.fromisoformat(p.createdAt), p.description),
            reverse=descending,
        )
    return sorted(items, key=lambda p: p.description, reverse=descending)


def search(term: str | None, *texts: str) -> bool:
    return term is None or any(term.lower() in t.lower() for t in texts)


def invalid(path: str, kind: str, message: str) -> JSONResponse:
    """400 in mittwald's `ValidationErrors` shape, for one parameter."""
    return JSONResponse(
        {"type": "ValidationError", "message": message, "validationErrors": [
            {"message": message, "path": path, "type": kind}
        ]},
        400,
    )  # fmt: skip
