"""The pending plan's markdown as safe HTML for the status page. The plan is syncd's own
markdown, but names and values in it come from the manifests, which anyone with push access
writes: markdown-it renders it (its raw `<details>` blocks included) and nh3 (the Rust
`ammonia` sanitizer) keeps only the tags and attributes a plan uses, so no script, style, link
target or event handler written into a manifest reaches the page."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "strong", "em", "code", "pre", "ul", "ol", "li",
    "table", "thead", "tbody", "tr", "th", "td", "details", "summary", "br", "hr", "blockquote",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"th": {"style"}, "td": {"style"}}  # alignment only (`_alignment`)
MAX_PLAN_CHARS = 512 * 1024  # a larger plan is cut (its markdown is complete in the API answer)

_md = MarkdownIt("commonmark", {"html": True}).enable("table")


def _alignment(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "style" and value in {f"text-align:{a}" for a in ("left", "right", "center")}:
        return value
    return None


def plan_html(markdown: str) -> str:
    """Safe HTML of a plan's markdown (empty for no plan)."""
    if not markdown.strip():
        return ""
    cut = len(markdown) > MAX_PLAN_CHARS
    rendered = _md.render(markdown[:MAX_PLAN_CHARS])
    if cut:
        rendered += "<p><em>(cut: GET /v2/syncd/daemon/status has the whole plan)</em></p>"
    safe = nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_alignment,
        url_schemes=set(),
        link_rel=None,
    )
    # the page's CSP allows no inline style: the alignment becomes one of page.css's classes
    for align in ("left", "right", "center"):
        safe = safe.replace(f'style="text-align:{align}"', f'class="align-{align}"')
    return safe
