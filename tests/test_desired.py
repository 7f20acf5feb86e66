"""Desired state: strategies, defaults, overlays and taint, from manifest text to resolved specs."""

from __future__ import annotations
