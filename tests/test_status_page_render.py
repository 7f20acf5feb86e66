"""The status page's pure parts: the plan's markdown sanitized, every value escaped, the chart,
drift from the history, the session cookie, and the event stream's bounds (no Docker, no
browser: `test_status_page.py` has those)."""

from __future__ import annotations

import asyncio
import re
import threading
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any

import pytest

from syncd.api.pageauth import (
    FAILURE_WINDOW,
    MAX_CLIENTS,
    MAX_FAILURES,
    MAX_SESSIONS,
    SESSION_SECONDS,
    PageAuth,
    same_origin,
    session_value,
)
from syncd.api.pagechart import chart
from syncd.api.pagedata import (
    DRIFT_SHOWN_FOR,
    Level,
    PageData,
    ProjectBox,
    ServiceRow,
    StackBox,
    SyncBar,
    drifted,
    operator_stops,
    seconds,
)
from syncd.api.pageevents import HEARTBEAT, Feed
from syncd.api.pagehtml import age, content, signin
from syncd.api.pagemarkdown import plan_html
from syncd.core.records import SyncRecord

EVIL = '<script>alert(1)</script><img src=x onerror="alert(2)"><a href="javascript:alert(3)">x</a>'
NOW = 1_800_000_000.0


class Elements(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def no_markup_from(text: str) -> None:
    """No element or attribute that the hostile text brought: no script, image, frame or event
    handler, and links only to the page's own log pages."""
    for tag, attrs in Elements(text).found:
        assert tag not in {"script", "img", "iframe", "object", "embed", "style"}, tag
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        assert "src" not in attrs and "style" not in attrs, (tag, attrs)
        if tag == "a":
            assert (attrs.get("href") or "").startswith("/logs/"), attrs


def test_the_plan_keeps_its_structure_and_loses_anything_else() -> None:
    markdown = (
        "### plan\n\n| stack | create |\n|---|---:|\n| shop/default | 1 |\n\n"
        f"<details><summary><code>+ shop/default/web</code> {EVIL}</summary>\n\n"
        f'```diff\n+ /image: "{EVIL}"\n```\n\n</details>\n\n'
        f'<div style="background:url(x)" onclick="alert(4)">{EVIL}</div>\n'
        f"[link](javascript:alert(5)) <iframe src=x></iframe>\n"
    )
    html = plan_html(markdown)
    for kept in ("<h3>", "<table>", "<details>", "<summary>", "<pre><code>", 'class="align-right"'):
        assert kept in html, kept
    no_markup_from(html)
    assert "<iframe" not in html and "onclick" not in html and "style=" not in html
    assert "&lt;script&gt;" in html  # inside the code block: shown as text


def test_no_plan_is_no_html() -> None:
    assert plan_html("") == "" and plan_html("  \n") == ""


def test_a_huge_plan_is_cut_with_a_pointer_to_the_whole() -> None:
    html = plan_html("x" * (600 * 1024))
    assert len(html) < 530 * 1024 and "GET /v2/syncd/daemon/status" in html


def row(name: str, level: Level, **extra: Any) -> ServiceRow:
    fields: dict[str, Any] = {
        "key": f"shop/default/{name}",
        "name": name,
        "stack_id": "s",
        "service_id": "id",
        "state": "running",
        "health": "-",
        "image": "busybox:1.36",
        "ports": ("8080:80/tcp",),
        "replicas": "1/1",
        "revision": "0123456789abcdef",
        "since": NOW - 125,
        "notes": (),
        "level": level,
    }
    fields.update(extra)
    return ServiceRow(**fields)


def page_data(**extra: Any) -> PageData:
    stack = StackBox(
        "shop/default", "0123456789", None, False, (), (row("web", Level.OK),), Level.OK
    )
    fields: dict[str, Any] = {
        "instance": "prod",
        "repo": "/srv/repo.git",
        "branch": "main",
        "engine_available": True,
        "syncing": False,
        "mode": "apply",
        "applied_revision": "0123456789",
        "commit": {"subject": "ok", "author": "a", "committedAt": NOW},
        "signer": None,
        "last_sync": {"result": "ok", "trigger": "watch", "duration": 0.5, "at": NOW},
        "last_error": None,
        "plan_markdown": "",
        "plan_counts": None,
        "projects": (ProjectBox("shop", (stack,), Level.OK),),
        "syncs": (),
        "pauses": (),
        "level": Level.OK,
    }
    fields.update(extra)
    return PageData(**fields)


def test_every_value_from_git_docker_or_an_error_is_escaped() -> None:
    hostile_row = row("web", Level.BAD, image=EVIL, notes=(EVIL,), state=EVIL, health=EVIL)
    stack = StackBox("shop/default", EVIL, EVIL, True, (EVIL,), (hostile_row,), Level.BAD)
    data = page_data(
        repo=EVIL,
        instance=EVIL,
        commit={"subject": EVIL, "author": EVIL, "committedAt": EVIL},
        signer={"principal": EVIL, "kind": EVIL, "fingerprint": EVIL},
        last_sync={"result": EVIL, "trigger": EVIL, "revision": EVIL, "at": EVIL},
        last_error={"stage": EVIL, "message": EVIL, "problems": [EVIL], "revision": EVIL},
        projects=(ProjectBox(EVIL, (stack,), Level.BAD),),
        syncs=(SyncBar(1, NOW, 1.0, EVIL, EVIL, EVIL, EVIL, EVIL, 3),),
        pauses=(EVIL,),
        plan_markdown=EVIL,
    )
    html = content(data, NOW)
    no_markup_from(html)
    assert html.count("&lt;script&gt;") >= 10


def test_problems_first_and_colours_by_level() -> None:
    bad = row("api", Level.BAD, state="stopped", notes=("stopped: not running",))
    stack = StackBox(
        "shop/default", "0123", None, False, (), (bad, row("web", Level.OK)), Level.BAD
    )
    html = content(page_data(projects=(ProjectBox("shop", (stack,), Level.BAD),)), NOW)
    assert html.index('data-service="shop/default/api"') < html.index(
        'data-service="shop/default/web"'
    )
    assert re.search(r'<tr class="service bad" data-service="shop/default/api"', html)
    assert '<tr class="notes bad"><td colspan="9">stopped: not running</td></tr>' in html


def test_a_failed_sync_shows_its_problems_with_file_and_line() -> None:
    error = {
        "stage": "parse",
        "message": "revision abc has invalid manifests",
        "problems": ["shop/stack.yaml:12:7: /services/web/ports/0: 'x' is not a port"],
        "revision": "abcdef0123",
        "at": NOW,
    }
    html = content(page_data(last_error=error, level=Level.BAD), NOW)
    assert 'id="last-error"' in html and "shop/stack.yaml:12:7:" in html
    assert "at stage parse" in html


def test_the_applied_commit_names_its_signer_and_key() -> None:
    signer = {"kind": "ssh", "fingerprint": "SHA256:abc", "principal": "alice@example.com"}
    html = content(page_data(signer=signer), NOW)
    assert "<dt>signer</dt><dd>alice@example.com <small><code>ssh SHA256:abc</code>" in html
    assert "<dt>signer</dt>" not in content(page_data(), NOW)


def test_the_sign_in_form_escapes_its_message() -> None:
    assert "<script" not in signin(EVIL) and "&lt;script&gt;" in signin(EVIL)


def test_ages_and_times() -> None:
    assert [age(NOW - s, NOW) for s in (5, 125, 7300, 90000)] == ["5s", "2m", "2h", "1d"]
    assert age(None, NOW) == "-"
    assert seconds(NOW) == NOW
    assert (
        seconds("2027-01-15T08:00:00Z") == seconds("2027-01-15T08:00:00+00:00") == 1_800_000_000.0
    )
    assert seconds("yesterday") is None and seconds(True) is None and seconds([1]) is None


def test_the_chart_draws_a_bar_per_sync_scaled_and_escaped() -> None:
    bars = [SyncBar(i, NOW + i, float(i), "ok", "watch", "abc", None, None, 1) for i in range(1, 5)]
    bars.append(SyncBar(9, NOW, None, "failed", EVIL, None, "parse", "x", 2))
    svg = chart(list(reversed(bars)))
    heights = [float(h) for h in re.findall(r'height="([0-9.]+)"><title>', svg)]
    assert len(heights) == 5 and heights[:4] == sorted(heights[:4])  # longer syncs, taller bars
    assert heights[4] == 2.0  # the one still running: a stub
    assert "<script" not in svg and "(x2)" in svg
    assert "No syncs yet" in chart([])


def sync(started: float, trigger: str, *services: str) -> SyncRecord:
    rows = tuple({"service": s, "action": "start", "ok": True, "detail": ""} for s in services)
    return SyncRecord(1, trigger, "abc", started, 0.5, "ok", None, None, services=rows)


def test_drift_is_what_docker_events_or_the_drift_timer_had_to_change_lately() -> None:
    history = [
        sync(NOW - 5, "docker_event", "shop/default/web"),
        sync(NOW - 50, "watch", "shop/default/api"),  # a push: no drift
        sync(NOW - 60, "drift,docker_event", "blog/default/app"),
        sync(NOW - DRIFT_SHOWN_FOR - 1, "drift", "shop/default/db"),  # too long ago
    ]
    found = drifted(history, NOW)
    assert set(found) == {"shop/default/web", "blog/default/app"}
    assert "outside syncd" in found["shop/default/web"]


def test_operator_stops_as_lines() -> None:
    pause = {
        "paused": True,
        "pause": {"by": "ops", "reason": "db migration"},
        "pausedStacks": {"shop/default": {"by": "alice", "reason": ""}},
    }
    assert operator_stops(pause) == (
        "everything paused by ops: db migration",
        "shop/default paused by alice",
    )
    assert operator_stops({"mode": "apply"}) == ()


def request(*, bearer: str | None = None, cookie: str | None = None) -> Any:
    headers = {"authorization": f"Bearer {bearer}"} if bearer else {}
    return SimpleNamespace(headers=headers, cookies={"syncd_session": cookie} if cookie else {})


def test_a_session_cookie_is_a_random_id_and_its_hmac_and_ends_on_sign_out() -> None:
    auth = PageAuth("read-token-1", "admin-token-1")
    cookie = auth.session_for(b"token=read-token-1", NOW)
    assert cookie is not None and "read-token-1" not in cookie
    session = cookie.partition(".")[0]
    assert cookie == session_value("read-token-1", session)
    assert auth.session_for(b"token=read-token-1", NOW) != cookie  # each sign-in its own
    admin = auth.session_for(b"token=admin-token-1", NOW)
    assert admin is not None and admin == session_value("admin-token-1", admin.partition(".")[0])
    assert auth.allowed(request(cookie=cookie), NOW) and auth.allowed(request(cookie=admin), NOW)
    assert auth.allowed(request(bearer="read-token-1"), NOW)
    forged = [None, "", session_value("other", session), session_value("read-token-1", "0" * 32),
              session, "read-token-1", cookie + "0"]  # fmt: skip
    assert not any(auth.allowed(request(cookie=wrong), NOW) for wrong in forged)
    assert not auth.allowed(request(cookie=cookie), NOW + SESSION_SECONDS + 1)  # a week later
    auth.sign_out(cookie, NOW)
    assert not auth.allowed(request(cookie=cookie), NOW)  # a copy of it opens nothing any more
    assert auth.allowed(request(cookie=admin), NOW)
    hostile = [b"", b"token=", b"token=read-token-1x", b"a=1&" * 20 + b"token=read-token-1",
               b"token=" + b"r" * 10_000, b"\xff\xfe"]  # fmt: skip
    assert [auth.session_for(body, NOW) for body in hostile] == [None] * len(hostile)
    assert PageAuth(None, "admin").open and not auth.open


def test_sessions_are_bounded_the_oldest_going_first() -> None:
    auth = PageAuth("t", None)
    first = auth.session_for(b"token=t", NOW)
    cookies = [auth.session_for(b"token=t", NOW) for _ in range(MAX_SESSIONS)]
    assert not auth.allowed(request(cookie=first), NOW)
    assert all(auth.allowed(request(cookie=c), NOW) for c in cookies)


def test_guessing_the_token_is_throttled_per_client_for_a_minute() -> None:
    auth = PageAuth("read-token-1", None)
    for n in range(MAX_FAILURES):
        assert auth.throttled("10.0.0.9", NOW + n) == 0.0
        auth.failed("10.0.0.9", NOW + n)
    waiting = auth.throttled("10.0.0.9", NOW + MAX_FAILURES)
    assert waiting == pytest.approx(FAILURE_WINDOW - MAX_FAILURES)
    assert auth.throttled("10.0.0.10", NOW + MAX_FAILURES) == 0.0  # another client signs in
    assert auth.throttled("10.0.0.9", NOW + FAILURE_WINDOW + 0.5) == 0.0  # a minute later
    for n in range(MAX_CLIENTS + 5):  # clients are remembered up to a bound
        auth.failed(f"c{n}", NOW)
    assert auth.throttled("10.0.0.9", NOW + MAX_FAILURES) == 0.0  # forgotten, the oldest


def test_only_this_page_or_no_browser_may_post_the_forms() -> None:
    def posted(origin: str | None) -> Any:
        headers = {"host": "127.0.0.1:8080"} | ({"origin": origin} if origin else {})
        return SimpleNamespace(headers=headers)

    assert same_origin(posted(None)) and same_origin(posted("http://127.0.0.1:8080"))
    for other in ("https://evil.example", "http://127.0.0.1:8081", "null"):
        assert not same_origin(posted(other)), other


class FakeState:
    def __init__(self) -> None:
        self.status = SimpleNamespace(
            syncs=0, syncing=False, engine_available=True, last_sync=None, last_error=None,
            pause={}, held=(), applied_revision=None, broken_stacks={},
        )  # fmt: skip

    def snapshot(self) -> None:
        return None


async def collect(feed: Feed, until: Any, limit: int = 200) -> list[bytes]:
    async def never() -> bool:
        return False

    got: list[bytes] = []
    async for event in feed.stream(never):
        got.append(event)
        if until(got) or len(got) >= limit:
            break
    return got


def test_a_change_is_one_event_and_silence_is_a_heartbeat() -> None:
    state, closing, clock = FakeState(), threading.Event(), [0.0]

    def tick() -> float:
        clock[0] += 10.0
        return clock[0]

    feed = Feed(state, closing, clock=tick)  # type: ignore[arg-type]
    assert feed.claim()

    async def run() -> list[bytes]:
        async def change_soon() -> None:
            await asyncio.sleep(0.3)
            state.status = replace_ns(state.status, syncs=1)

        task = asyncio.create_task(change_soon())
        got = await collect(feed, lambda g: any(b"changed" in e for e in g))
        await task
        return got

    got = asyncio.run(run())
    assert got[0].startswith(b"retry: ")
    assert got[-1] == b"event: changed\ndata: 1\n\n"
    assert any(e == b": heartbeat\n\n" for e in got)  # the fake clock ran past HEARTBEAT
    assert clock[0] > HEARTBEAT
    assert feed.streams == 0  # the slot came back when the stream ended


def replace_ns(ns: SimpleNamespace, **changes: Any) -> SimpleNamespace:
    return SimpleNamespace(**{**vars(ns), **changes})


def test_streams_are_capped_and_all_end_when_the_server_stops() -> None:
    state, closing = FakeState(), threading.Event()
    feed = Feed(state, closing, max_streams=2)  # type: ignore[arg-type]
    assert feed.claim() and feed.claim() and not feed.claim()

    async def run() -> list[list[bytes]]:
        streams = [asyncio.create_task(collect(feed, lambda g: False)) for _ in range(2)]
        await asyncio.sleep(0.3)
        closing.set()
        return list(await asyncio.wait_for(asyncio.gather(*streams), 2.0))

    ended = asyncio.run(run())
    assert all(len(events) == 1 for events in ended)  # the hello, then the end
    assert feed.streams == 0 and feed.claim()


@pytest.mark.parametrize("level", list(Level))
def test_a_stack_level_colours_its_project(level: Level) -> None:
    stack = StackBox("p/default", None, None, False, (), (row("a", level),), level)
    html = content(page_data(projects=(ProjectBox("p", (stack,), level),)), NOW)
    assert f'<section class="project {level.value}" data-project="p">' in html
