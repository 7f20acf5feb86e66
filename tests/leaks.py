"""Whether an answer shows a value: a short value (a port, a CPU count) counts only as a token
of its own, so that the digits of a timestamp, a revision or a container id that happen to hold
it (`…:20.251665Z` holds `0.25`) do not read as a leak, while `"0.25"`, `0.25,` or
`18471:80/tcp` do. Long values, unlikely by chance, are matched anywhere."""

from __future__ import annotations

import re

SHORT = 12  # below this many characters a value can turn up by chance in generated text


def shows(text: str, value: str) -> bool:
    if len(value) >= SHORT:
        return value in text
    return re.search(rf"(?<![\w.]){re.escape(value)}(?![\w])", text) is not None
