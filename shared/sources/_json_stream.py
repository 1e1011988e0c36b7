"""Stream the items of a top-level JSON array without loading the whole document.

Close's JSON export is one array of leads, easily gigabytes for a large org; the extractor must
stay in bounded memory (DESIGN: streaming, bounded memory).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

_DECODER = json.JSONDecoder()
_READ = 1 << 16


class JsonStreamError(ValueError):
    """The document is not a JSON array of values."""


def _may_continue(value: Any, buf: str, end: int) -> bool:
    if end >= len(buf):
        return True
    return isinstance(value, int | float) and not isinstance(value, bool) and buf[end] in _NUMBER_CHARS


_NUMBER_CHARS = frozenset(".eE+-0123456789")


def iter_json_array(stream: IO[str]) -> Iterator[Any]:
    """Yield each element of the top-level array in `stream`."""
    buf = ""
    pos = 0
    eof = False

    def fill() -> bool:
        nonlocal buf, pos, eof
        chunk = stream.read(_READ)
        if not chunk:
            eof = True
            return False
        buf = buf[pos:] + chunk
        pos = 0
        return True

    def skip_ws() -> None:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            if pos < len(buf) or not fill():
                return

    skip_ws()
    if pos < len(buf) and buf[pos] == "\ufeff":
        pos += 1
        skip_ws()
    if pos >= len(buf) or buf[pos] != "[":
        raise JsonStreamError("expected a JSON array at the start of the document")
    pos += 1
    skip_ws()
    if pos < len(buf) and buf[pos] == "]":
        return
    while True:
        skip_ws()
        while True:
            try:
                value, end = _DECODER.raw_decode(buf, pos)
                break
            except json.JSONDecodeError as exc:
                if eof or not fill():
                    raise JsonStreamError(f"malformed JSON near character {exc.pos}") from None
        # a number at the end of the buffer may be cut off (`1` of `1.5`, `2e` of `2e10`): read on
        if not eof and _may_continue(value, buf, end) and fill():
            continue
        pos = end
        yield value
        skip_ws()
        if pos >= len(buf):
            raise JsonStreamError("unterminated JSON array")
        if buf[pos] == ",":
            pos += 1
            continue
        if buf[pos] == "]":
            return
        raise JsonStreamError(f"expected ',' or ']' after an array element, found {buf[pos]!r}")
