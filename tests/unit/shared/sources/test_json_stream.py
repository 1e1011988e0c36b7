"""Streaming the top-level JSON array: the result equals json.loads whatever the read size."""

from __future__ import annotations

import io
import json

import pytest

from shared.sources import _json_stream
from shared.sources._json_stream import JsonStreamError, iter_json_array

DOCUMENT = json.dumps(
    [
        {"id": "lead_1", "name": "Acme [Holdings]", "note": 'a "quoted" ], {string} \\ slash'},
        [1, [2, [3]], {"k": "]"}],
        "plain ] string , with delimiters",
        123456789,
        -42,
        True,
        False,
        None,
        {"unicode": "Müller 日本 😀", "empty": {}, "list": []},
    ]
)
NUMBERS = "[1.5, 2e10, -3.25E-2, 0, 10, 12345.678, 7e+3]"


def _stream(text: str) -> list[object]:
    return list(iter_json_array(io.StringIO(text)))


@pytest.mark.parametrize("read_size", range(1, 8))
def test_tiny_reads_match_json_loads(monkeypatch: pytest.MonkeyPatch, read_size: int) -> None:
    monkeypatch.setattr(_json_stream, "_READ", read_size)
    assert _stream(DOCUMENT) == json.loads(DOCUMENT)


@pytest.mark.parametrize("read_size", range(1, 8))
def test_integers_cut_at_buffer_end(monkeypatch: pytest.MonkeyPatch, read_size: int) -> None:
    text = "[1, 22, 333, 4444, 55555, 666666, 7777777]"
    monkeypatch.setattr(_json_stream, "_READ", read_size)
    assert _stream(text) == json.loads(text)


@pytest.mark.parametrize("read_size", range(1, 8))
def test_fractions_and_exponents_cut_at_buffer_end(monkeypatch: pytest.MonkeyPatch, read_size: int) -> None:
    monkeypatch.setattr(_json_stream, "_READ", read_size)
    assert _stream(NUMBERS) == json.loads(NUMBERS)


def test_fractions_and_exponents_with_default_read_size() -> None:
    assert _stream(NUMBERS) == json.loads(NUMBERS)


def test_float_straddling_the_default_buffer_end() -> None:
    padding = "x" * (_json_stream._READ - 7)  # puts "1." in the last two characters of the first read
    text = f'["{padding}", 1.5]'
    assert text[_json_stream._READ - 2 : _json_stream._READ] == "1."
    assert _stream(text) == [padding, 1.5]


def test_yields_lazily() -> None:
    """The first element comes out before the rest of the document is read."""
    items = iter_json_array(io.StringIO('[{"a": 1}, ' + "x" * 10))
    assert next(items) == {"a": 1}
    with pytest.raises(JsonStreamError):
        next(items)


@pytest.mark.parametrize("text", ["[]", "  [ \n ]  ", "\ufeff[]", "\ufeff \n[]"])
def test_empty_array(text: str) -> None:
    assert _stream(text) == []


@pytest.mark.parametrize("read_size", [1, 2, 65536])
def test_byte_order_mark_skipped(monkeypatch: pytest.MonkeyPatch, read_size: int) -> None:
    monkeypatch.setattr(_json_stream, "_READ", read_size)
    assert _stream('\ufeff[{"id": "x"}, 2]') == [{"id": "x"}, 2]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        '{"id": 1}',
        "id,name\n1,Acme\n",
        "[1, 2",
        "[1, 2,",
        '[{"id": "a"',
        '["unterminated',
        "[1 2]",
        "[1,, 2]",
        "[tru]",
        "[1;2]",
    ],
)
@pytest.mark.parametrize("read_size", [1, 3, 65536])
def test_truncated_or_garbage_input_raises(
    monkeypatch: pytest.MonkeyPatch, text: str, read_size: int
) -> None:
    monkeypatch.setattr(_json_stream, "_READ", read_size)
    with pytest.raises(JsonStreamError):
        _stream(text)


def test_error_is_a_value_error() -> None:
    """Callers that catch ValueError for bad input also catch this."""
    assert issubclass(JsonStreamError, ValueError)
