"""What a field's sampled values look like: email, phone, URL, date, money, enumeration, long text…

The proposer reads the evidence as counts ("14/15 samples look like email addresses") and never
quotes a value: samples may be personal data. Only an enumeration's distinct values leave this
module, as the options a person reviews for a new choice column.

    read_values(["a@x.example", "b@y.example", ""])   # ValueEvidence(kind='email', matched=2, total=2)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

Kind = str  # one of KINDS
KINDS = (
    "email",
    "url",
    "phone",
    "datetime",
    "date",
    "boolean",
    "integer",
    "decimal",
    "money",
    "choice",
    "multichoice",
    "memo",
    "string",
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_URL = re.compile(r"^(https?://|www\.)[^\s]+$|^[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}(/\S*)?$", re.I)
_PHONE = re.compile(r"^\+?[\d\s().\-/]{7,20}(\s*(x|ext\.?)\s*\d{1,5})?$", re.I)
_INT = re.compile(r"^[+-]?\d{1,15}$")
_DEC = re.compile(r"^[+-]?(\d{1,3}([,.\s]\d{3})+|\d+)([.,]\d+)?$")
_MONEY = re.compile(
    r"^([$€£¥]|[A-Z]{3}\s?)\s?[+-]?\d[\d,.\s]*(\s?[A-Z]{3})?$|^[+-]?\d[\d,.\s]*\s?([$€£¥]|[A-Z]{3})$"
)
_BOOL = frozenset({"true", "false", "yes", "no", "y", "n", "0", "1", "t", "f", "on", "off", "ja", "nein"})
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d-%m-%Y",
    "%b %d, %Y",
    "%d %b %Y",
    "%B %d, %Y",
)
_LIST_SEPARATORS = (";", "|")
LONG_TEXT = 200
"""Values longer than this (or containing line breaks) make a memo column."""
MAX_OPTIONS = 25
"""An enumeration has at most this many distinct values."""


def _is_date(v: str) -> bool:
    for fmt in _DATE_FORMATS:
        try:
            datetime.strptime(v, fmt)
            return True
        except ValueError:
            continue
    return False


def _is_datetime(v: str) -> bool:
    if len(v) < 16 or not re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", v):
        return False
    try:
        datetime.fromisoformat(v.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


def _is_phone(v: str) -> bool:
    return bool(_PHONE.match(v)) and 7 <= sum(c.isdigit() for c in v) <= 15


def _is_decimal(v: str) -> bool:
    return bool(_DEC.match(v))


# Checked in this order; the first kind most values match wins. Each describes its evidence.
_CHECKS: tuple[tuple[Kind, Callable[[str], bool], str], ...] = (
    ("email", lambda v: bool(_EMAIL.match(v)), "look like email addresses"),
    ("url", lambda v: bool(_URL.match(v)) and "@" not in v, "look like web addresses"),
    ("datetime", _is_datetime, "are timestamps"),
    (
        "date",
        lambda v: _is_date(v) or (len(v) >= 10 and _is_date(v[:10]) and v[10:] in ("", "T00:00:00")),
        "are dates",
    ),
    ("money", lambda v: bool(_MONEY.match(v)), "are amounts with a currency"),
    ("boolean", lambda v: v.lower() in _BOOL, "are yes/no values"),
    (
        "integer",
        lambda v: bool(_INT.match(v)) and not (len(v) > 1 and v.startswith("0")),
        "are whole numbers",
    ),
    ("decimal", _is_decimal, "are decimal numbers"),
    ("phone", _is_phone, "look like phone numbers"),
)


@dataclass(frozen=True)
class ValueEvidence:
    """The pattern most samples follow, as counts: safe to show, log and send to an advisor."""

    kind: Kind
    matched: int
    total: int
    distinct: int
    what: str
    options: list[str] = field(default_factory=list)  # only for choice/multichoice
    max_length: int = 0

    @property
    def fraction(self) -> float:
        return self.matched / self.total if self.total else 0.0

    def describe(self) -> str:
        if self.total == 0:
            return "no sampled values"
        if self.kind in ("choice", "multichoice"):
            return f"{self.distinct} distinct values across {self.total} samples {self.what}"
        return f"{self.matched}/{self.total} samples {self.what}"


def _all_integral(values: Sequence[str]) -> bool:
    try:
        return all(float(v.replace(",", "")) == int(float(v.replace(",", ""))) for v in values)
    except ValueError:
        return False


def read_values(
    samples: Sequence[object], *, options: Sequence[str] = (), declared: str | None = None
) -> ValueEvidence:
    """The evidence in a field's sampled values.

    `options` are pick-list labels the source declares; `declared` is the source's own type
    (a discovery FieldType), used when the samples alone cannot tell (too few, all empty).
    """
    values = [str(s).strip() for s in samples if s is not None and str(s).strip() != ""]
    total = len(values)
    distinct = sorted(set(values), key=values.index)
    longest = max((len(v) for v in values), default=0)
    if options or declared == "enum":
        labels = list(options) or distinct
        return ValueEvidence(
            "choice",
            total,
            total,
            len(labels),
            "(a pick list in the source)",
            options=labels[:MAX_OPTIONS],
            max_length=longest,
        )
    if declared == "list" or (
        total and sum(any(sep in v for sep in _LIST_SEPARATORS) for v in values) >= max(2, total // 2)
    ):
        items = [i.strip() for v in values for sep in _LIST_SEPARATORS if sep in v for i in v.split(sep)]
        items += [v for v in values if not any(sep in v for sep in _LIST_SEPARATORS)]
        labels = sorted({i for i in items if i}, key=items.index)
        if 0 < len(labels) <= MAX_OPTIONS:
            return ValueEvidence(
                "multichoice",
                total,
                total,
                len(labels),
                "(lists of a few labels)",
                options=labels,
                max_length=longest,
            )
    if total == 0:
        kind = _DECLARED.get(declared or "", "string")
        return ValueEvidence(kind, 0, 0, 0, "")
    for kind, check, what in _CHECKS:
        matched = sum(1 for v in values if check(v))
        if matched and matched >= max(1, round(0.8 * total)):
            if kind == "boolean" and _INT.match(values[0]) and declared in ("integer", "decimal"):
                continue
            if kind == "decimal" and declared == "money":
                return ValueEvidence(
                    "money", matched, total, len(distinct), "are amounts", max_length=longest
                )
            if kind == "integer" and declared == "money":
                return ValueEvidence(
                    "money", matched, total, len(distinct), "are amounts", max_length=longest
                )
            if kind == "decimal" and _all_integral(values) and declared == "integer":
                kind = "integer"
            return ValueEvidence(kind, matched, total, len(distinct), what, max_length=longest)
    long = sum(1 for v in values if len(v) > LONG_TEXT or "\n" in v)
    if long or (declared == "text" and longest > 100):
        return ValueEvidence("memo", max(long, 1), total, len(distinct), "are long text", max_length=longest)
    if _looks_enumerated(values, distinct):
        return ValueEvidence(
            "choice",
            total,
            total,
            len(distinct),
            "(a short, repeating set)",
            options=distinct,
            max_length=longest,
        )
    return ValueEvidence("string", total, total, len(distinct), "are short text", max_length=longest)


def _looks_enumerated(values: list[str], distinct: list[str]) -> bool:
    """Few distinct short labels, each repeating: a pick list in all but name."""
    if len(values) < 6 or len(distinct) > MAX_OPTIONS or any(len(v) > 40 for v in distinct):
        return False
    return len(distinct) <= max(2, len(values) // 2)


_DECLARED: dict[str, Kind] = {
    "string": "string",
    "text": "memo",
    "integer": "integer",
    "decimal": "decimal",
    "money": "money",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "email": "email",
    "phone": "phone",
    "url": "url",
    "enum": "choice",
    "list": "multichoice",
}
"""A discovery FieldType as the kind to assume when there are no samples to read."""


__all__ = ["KINDS", "LONG_TEXT", "MAX_OPTIONS", "ValueEvidence", "read_values"]
