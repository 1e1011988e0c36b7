"""Read a value from a nested record by a profile path: `addresses[0].city`, `custom.Lead Owner`.

A key that literally contains dots (Close's `custom.cf_…` keys) wins over descending.
"""

from __future__ import annotations

import re
from typing import Any

_SEGMENT = re.compile(r"^([^.\[]+)|^\[(\d+)\]")


def get_path(record: Any, path: str) -> Any:
    current = record
    rest = path
    while rest:
        if isinstance(current, dict) and rest in current:
            return current[rest]
        m = _SEGMENT.match(rest)
        if m is None:
            return None
        if m.group(1) is not None:
            if not isinstance(current, dict):
                return None
            current = current.get(m.group(1))
        else:
            idx = int(m.group(2))
            if not isinstance(current, list) or idx >= len(current):
                return None
            current = current[idx]
        rest = rest[m.end() :].removeprefix(".")
    return current
