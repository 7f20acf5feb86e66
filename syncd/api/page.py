"""The status page at `/`: server-rendered HTML of the daemon's facts (`pagedata` →
`pagehtml`), refreshed without a reload by a little script (`static/page.js`) that listens to
`/events` (`pageevents`) and fetches `/page/content` on each change. Same tokens as `/v2`
(`pageauth`); a strict Content-Security-Policy on every answer."""

from __future__ import annotations

import threading
import time
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from syncd.api import pagehtml
from syncd.api.pageauth import COOKIE, SESSION_SECONDS, PageAuth, same_origin, secure
from syncd.api.pageevents import Feed
from syncd.api.servicerows import current
from syncd.api.wiring import Wiring, readable_logs
from syncd.ids import ServiceKey

# Every path the page answers (they check the tokens themselves; `/v2` keeps its middleware).
PAGE_PATHS = ("/", "/signin", "/signout", "/events", "/page/content")
PAGE_PREFIXES = ("/static/", "/logs/")
STATIC = {"page.css": "text/css; charset=utf-8", "page.js": "text/javascript; charset=utf-8"}
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make a form's Origin `null`
    "Cache-Control": "no-store",
}
LOG_LINES, MAX_LOG_LINES = 200, 2000


def is_page(path: str) -> bool:
    return path in PAGE_PATHS or path.startswith(PAGE_PREFIXES)


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=HEADERS)


def _static() -> dict[str, bytes]:
    folder = resources.files("syncd.api") / "static"
    return {name: (folder / name).read_bytes() for name in STATIC}


def router(wiring: Wiring, closing: threading.Event) -> APIRouter:
    routes = APIRouter(include_in_schema=False)
    auth = PageAuth(wiring.config.read_token, wiring.config.admin_token)
    feed = Feed(wiring.state, closing)
    files = _static()

    def let_in(request: Request) -> bool:
        return auth.allowed(request, time.monotonic())

    def denied() -> Response:
        return Response("sign in first: /signin", status_code=401, headers=HEADERS)

    @routes.get("/")
    def index(request: Request) -> Response:
        if not let_in(request):
            return RedirectResponse("/signin", status_code=303, headers=HEADERS)
        now = time.time()
        return _html(pagehtml.page(current(wiring, now), now))

    @routes.get("/page/content")
    def page_content(request: Request) -> Response:  # what the script swaps in on each change
        if not let_in(request):
            return denied()
        now = time.time()
        return _html(pagehtml.content(current(wiring, now), now))

    @routes.get("/events")
    async def events(request: Request) -> Response:
        if not let_in(request):
            return denied()
        if not feed.claim():
            return Response("too many open status pages", status_code=503, headers=HEADERS)
        headers = {**HEADERS, "X-Accel-Buffering": "no"}
        stream = feed.stream(request.is_disconnected)
        return StreamingResponse(stream, media_type="text/event-stream", headers=headers)

    @routes.get("/signin")
    def signin_form(request: Request) -> Response:
        if auth.open or let_in(request):
            return RedirectResponse("/", status_code=303, headers=HEADERS)
        return _html(pagehtml.signin())

    @routes.post("/signin")
    async def signin(request: Request) -> Response:
        if not same_origin(request):
            return Response("a sign-in from another site", status_code=403, headers=HEADERS)
        client = request.client.host if request.client else "?"
        if wait := auth.throttled(client, time.monotonic()):
            retry = {**HEADERS, "Retry-After": str(int(wait) + 1)}
            message = "Too many wrong tokens: try again in a minute."
            return HTMLResponse(pagehtml.signin(message), status_code=429, headers=retry)
        session = auth.session_for(await request.body(), time.monotonic())
        if session is None:
            auth.failed(client, time.monotonic())
            return _html(pagehtml.signin("That is not this daemon's token."), 401)
        answer = RedirectResponse("/", status_code=303, headers=HEADERS)
        answer.set_cookie(
            COOKIE, session, max_age=SESSION_SECONDS, path="/", secure=secure(request),
            httponly=True, samesite="strict",
        )  # fmt: skip
        return answer

    @routes.post("/signout")
    def signout(request: Request) -> Response:
        if not same_origin(request):
            return Response("a sign-out from another site", status_code=403, headers=HEADERS)
        auth.sign_out(request.cookies.get(COOKIE, ""), time.monotonic())
        answer = RedirectResponse("/signin", status_code=303, headers=HEADERS)
        answer.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return answer

    @routes.get("/logs/{project}/{stack}/{service}")
    def service_logs(
        request: Request, project: str, stack: str, service: str, tail: int = LOG_LINES
    ) -> Response:
        if not let_in(request):
            return denied()
        key = ServiceKey(project, stack, service)
        if key.id not in wiring.view().services:
            return _html(pagehtml.logs(str(key), None, 0), 404)
        lines = max(1, min(tail, MAX_LOG_LINES))
        return _html(pagehtml.logs(str(key), readable_logs(wiring.tasks, key, lines), lines))

    @routes.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:
            return Response("not found", status_code=404, headers=HEADERS)
        headers = {**HEADERS, "Cache-Control": "no-cache"}
        return Response(files[name], media_type=STATIC[name], headers=headers)

    return routes
