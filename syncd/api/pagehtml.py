"""The status page's HTML: the whole document, the content that `/page/content` sends again on
every change, the sign-in form and a service's logs. Every value is escaped where it is written
(`_e`); the plan arrives already sanitized (`pagemarkdown`). No inline script or style: the page's
CSP allows only `/static/`. Pure: values in, markup out."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any
from urllib.parse import quote

from syncd import timestamps
from syncd.api.pagechart import chart
from syncd.api.pagedata import Level, PageData, ServiceRow, StackBox, seconds
from syncd.api.pagemarkdown import plan_html

HISTORY_ROWS = 10


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def moment(value: Any) -> str:
    """A time as markup: UTC text that the page's script shows in the reader's own time zone
    (`<time datetime>`); `-` for no time."""
    at = seconds(value)
    if at is None:
        return "-"
    return f'<time datetime="{_e(timestamps.iso(at))}">{_e(timestamps.utc_text(at))}</time>'


def age(since: float | None, now: float) -> str:
    return "-" if since is None else timestamps.ago(now - since)


def short(revision: str | None) -> str:
    return revision[:8] if revision else "-"


def document(title: str, body: str, *, live: bool) -> str:
    script = '<script src="/static/page.js" defer></script>' if live else ""
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title>"
        '<link rel="stylesheet" href="/static/page.css">'
        f"{script}</head><body>{body}</body></html>\n"
    )


def page(data: PageData, now: float) -> str:
    header = (
        '<header><span class="brand">syncd</span> '
        f'<span class="where">{_e(data.instance)} · {_e(data.repo)} @ {_e(data.branch)}</span> '
        '<span id="live" class="live off" title="live updates">●</span></header>'
    )
    body = f'{header}<main id="content">{content(data, now)}</main>'
    return document(f"syncd · {data.instance}", body, live=True)


def content(data: PageData, now: float) -> str:
    """Everything below the header: what `/page/content` answers."""
    parts = [
        _summary(data),
        _stops(data),
        "".join(_project(p.name, p.level, p.stacks, now) for p in data.projects)
        or '<p class="muted">No services yet: the first sync has not finished.</p>',
        _plan(data),
        _history(data),
        f'<p class="muted foot">Shown at {moment(now)}.</p>',
    ]
    return (
        f'<div class="page {data.level.value}" data-level="{data.level.value}">'
        + "".join(parts)
        + "</div>"
    )


def _facts(rows: Iterable[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _summary(data: PageData) -> str:
    commit = data.commit or {}
    signer = data.signer or {}
    applied = [
        ("revision", f"<code>{_e(short(data.applied_revision))}</code>"),
        ("subject", _e(commit.get("subject", "-"))),
        ("author", _e(commit.get("author", "-"))),
        ("committed", moment(commit.get("committedAt"))),
    ]
    if signer:  # `--verify-commits`: who signed the applied revision, with which key
        who = signer.get("principal") or "-"
        key = f"{signer.get('kind', '')} {signer.get('fingerprint', '')}".strip()
        applied.append(("signer", f"{_e(who)} <small><code>{_e(key)}</code></small>"))
    last = data.last_sync or {}
    result = str(last.get("result", "none yet"))
    sync = [
        ("result", f'<span class="badge {_e(result)}">{_e(result)}</span>'),
        ("trigger", _e(last.get("trigger", "-"))),
        ("revision", f"<code>{_e(short(last.get('revision')))}</code>"),
        ("duration", _e(f"{last['duration']:.2f} s" if last.get("duration") else "-")),
        ("at", moment(last.get("at"))),
        ("engine", "available" if data.engine_available else '<b class="alert">unreachable</b>'),
        ("now", "syncing…" if data.syncing else "idle"),
        ("mode", _e(data.mode)),
    ]
    error = ""
    if data.last_error:
        problems = "".join(f"<li><code>{_e(p)}</code></li>" for p in data.last_error["problems"])
        error = (
            '<section class="error" id="last-error"><h2>Last sync failed at stage '
            f"{_e(data.last_error['stage'])}</h2><p>{_e(data.last_error['message'])}</p>"
            f"{'<ul class=problems>' + problems + '</ul>' if problems else ''}"
            f'<p class="muted">revision <code>{_e(short(data.last_error.get("revision")))}'
            f"</code> at {moment(data.last_error.get('at'))}; the last good revision keeps "
            "running.</p></section>"
        )
    return (
        f'{error}<section class="cards"><div class="card"><h2>Applied commit</h2>'
        f'{_facts(applied)}</div><div class="card"><h2>Last sync</h2>{_facts(sync)}</div>'
        "</section>"
    )


def _stops(data: PageData) -> str:
    lines = list(data.pauses)
    for project in data.projects:
        for stack in project.stacks:
            if stack.held:
                lines.append(f"{stack.key}: changes held (paused or detect mode)")
    if not lines:
        return ""
    items = "".join(f"<li>{_e(line)}</li>" for line in lines)
    return f'<section class="stops" id="stops"><h2>Operator stops</h2><ul>{items}</ul></section>'


def _project(name: str, level: Level, stacks: Iterable[StackBox], now: float) -> str:
    inner = "".join(_stack(s, now) for s in stacks)
    return (
        f'<section class="project {level.value}" data-project="{_e(name)}">'
        f"<h2>{_e(name)}</h2>{inner}</section>"
    )


COLUMNS = ("service", "state", "health", "image", "ports", "replicas", "revision", "age", "")


def _stack(stack: StackBox, now: float) -> str:
    error = f'<p class="alert">{_e(stack.error)}</p>' if stack.error else ""
    head = "".join(f"<th>{c}</th>" for c in COLUMNS)
    rows = "".join(_service(r, now) for r in stack.services)
    return (
        f'<div class="stack {stack.level.value}" data-stack="{_e(stack.key)}">'
        f"<h3>{_e(stack.key)} <small>applied <code>{_e(short(stack.applied_revision))}</code>"
        f"</small></h3>{error}"
        f'<div class="scroll"><table class="services"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div></div>"
    )


def _service(row: ServiceRow, now: float) -> str:
    logs = f'<a href="/logs/{quote(row.key, safe="/")}">logs</a>' if row.service_id else ""
    cells = [
        f"<b>{_e(row.name)}</b>",
        f'<span class="state {_e(row.state)}">{_e(row.state)}</span>',
        _e(row.health),
        f"<code>{_e(row.image)}</code>",
        _e(", ".join(row.ports) or "-"),
        _e(row.replicas),
        f"<code>{_e(short(row.revision))}</code>",
        _e(age(row.since, now)),
        logs,
    ]
    tds = "".join(f'<td data-label="{c}">{v}</td>' for c, v in zip(COLUMNS, cells, strict=True))
    notes = ""
    if row.notes:
        items = "; ".join(_e(n) for n in row.notes)
        span = len(COLUMNS)
        notes = f'<tr class="notes {row.level.value}"><td colspan="{span}">{items}</td></tr>'
    return (
        f'<tr class="service {row.level.value}" data-service="{_e(row.key)}" '
        f'data-state="{_e(row.state)}">{tds}</tr>{notes}'
    )


def _plan(data: PageData) -> str:
    rendered = plan_html(data.plan_markdown)
    if rendered:
        inner = f'<div class="markdown">{rendered}</div>'
    else:
        inner = '<p class="muted">Nothing pending: what runs is what the branch declares.</p>'
    return f'<section class="plan" id="plan"><h2>Pending plan</h2>{inner}</section>'


def _history(data: PageData) -> str:
    rows = "".join(
        f'<tr class="{_e(s.result)}"><td>#{s.id}</td><td>{moment(s.started_at)}</td>'
        f'<td><span class="badge {_e(s.result)}">{_e(s.result)}</span>'
        f"{f' x{s.count}' if s.count > 1 else ''}</td><td>{_e(s.trigger)}</td>"
        f"<td><code>{_e(short(s.revision))}</code></td>"
        f"<td>{_e(f'{s.duration:.2f} s' if s.duration is not None else '-')}</td>"
        f"<td>{_e(s.error or '')}</td></tr>"
        for s in data.syncs[:HISTORY_ROWS]
    )
    table = (
        '<div class="scroll"><table class="history"><thead><tr><th>sync</th><th>started</th>'
        "<th>result</th><th>trigger</th><th>revision</th><th>took</th><th>error</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
    )
    heading = '<section class="history" id="history"><h2>Sync history</h2>'
    return f"{heading}{chart(data.syncs)}{table}</section>"


def signin(error: str | None = None) -> str:
    message = f'<p class="alert" role="alert">{_e(error)}</p>' if error else ""
    body = (
        '<header><span class="brand">syncd</span></header><main class="signin">'
        "<h1>Sign in</h1><p>This daemon's status needs its read token "
        "(<code>--read-token-file</code>).</p>"
        f"{message}"
        '<form method="post" action="/signin"><label>Token '
        '<input type="password" name="token" autocomplete="current-password" required autofocus>'
        '</label><button type="submit">Sign in</button></form></main>'
    )
    return document("syncd · sign in", body, live=False)


def logs(key: str, text: str | None, tail: int) -> str:
    shown = (
        f'<pre class="logs">{_e(text)}</pre>'
        if text
        else '<p class="muted">No logs: the service has no container, or it wrote nothing.</p>'
    )
    body = (
        '<header><span class="brand">syncd</span> <a href="/">← status</a></header>'
        f'<main><h1>{_e(key)}</h1><p class="muted">The last {tail} lines.</p>{shown}</main>'
    )
    return document(f"syncd · {key} logs", body, live=False)
