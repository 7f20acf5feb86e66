"""The sync history as a small SVG bar chart: one bar per sync, oldest on the left, its height
the sync's duration (on a square-root scale, so one slow sync does not flatten the rest), its
colour the outcome; hovering a bar shows its facts. Pure: values in, markup out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from syncd.api.pagedata import SyncBar
from syncd.timestamps import utc_text

WIDTH, HEIGHT, GAP = 600, 80, 2


def _title(bar: SyncBar) -> str:
    at = utc_text(bar.started_at)
    took = f"{bar.duration:.2f} s" if bar.duration is not None else "running"
    revision = (bar.revision or "no revision")[:12]
    repeated = f" (x{bar.count})" if bar.count > 1 else ""
    return f"#{bar.id} {at}: {bar.result}{repeated} in {took}, {bar.trigger}, {revision}"


def chart(syncs: Sequence[SyncBar]) -> str:
    """An `<svg>` of the syncs (newest first in, oldest drawn first)."""
    if not syncs:
        return '<p class="muted">No syncs yet.</p>'
    ordered = list(reversed(syncs))
    longest = max((b.duration or 0.0) for b in ordered) or 1.0
    step = WIDTH / max(len(ordered), 10)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + 14}" role="img" '
        f'aria-label="durations of the last {len(ordered)} syncs">'
    ]
    for index, bar in enumerate(ordered):
        share = math.sqrt((bar.duration or 0.0) / longest)
        height = max(2.0, share * HEIGHT)
        x = index * step
        parts.append(
            f'<rect class="bar {escape(bar.result)}" x="{x:.1f}" y="{HEIGHT - height:.1f}" '
            f'width="{max(step - GAP, 1):.1f}" height="{height:.1f}">'
            f"<title>{escape(_title(bar))}</title></rect>"
        )
    parts.append(f'<text x="0" y="{HEIGHT + 12}" class="axis">longest {longest:.2f} s</text></svg>')
    return "".join(parts)
