"""Value converters named by profiles (`convert: email`, `convert: text_max:160`): a lookup table,
not an if-chain.

Each takes the source value and returns the target value, or raises ValueError with a reason that
names no value (the value may be personal data). A parametrised converter is `name:arg`; its factory
in `PARAMETRISED` builds the one-argument function once, when the profile is validated.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.mapping.paths import get_path

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TAG = re.compile(r"<[^>]*>")
_BLOCK = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6]|/tr)\b[^>]*>", re.IGNORECASE)

Converter = Callable[[Any], Any]


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _text(v: Any) -> Any:
    return v.strip() if isinstance(v, str) else v


def _email(v: Any) -> Any:
    if _empty(v):
        return None
    if not isinstance(v, str) or not _EMAIL.match(v.strip()):
        raise ValueError("not a valid email address")
    return v.strip()


def _parse_datetime(v: Any) -> datetime:
    if not isinstance(v, str):
        raise ValueError("not an ISO-8601 timestamp")
    try:
        dt = datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("not an ISO-8601 timestamp") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _datetime_utc(v: Any) -> Any:
    """A DateTime column (UserLocal/TimeZoneIndependent): an instant, written in UTC."""
    if _empty(v):
        return None
    return _parse_datetime(v).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _date_only(v: Any) -> Any:
    """A DateOnly column: the calendar date as the source wrote it (no time-zone shift)."""
    if _empty(v):
        return None
    if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v.strip()):
        try:
            return date.fromisoformat(v.strip()).isoformat()
        except ValueError:
            raise ValueError("not a calendar date") from None
    return _parse_datetime(v).date().isoformat()


def _url(v: Any) -> Any:
    if _empty(v):
        return None
    if not isinstance(v, str):
        raise ValueError("not a URL")
    v = v.strip()
    return v if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", v) else f"https://{v}"


def _money_cents(v: Any) -> Any:
    """Close amounts are integer cents: 123456 → 1234.56 (a Money column; the currency is a lookup)."""
    if _empty(v):
        return None
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise ValueError("not an amount in cents")
    try:
        cents = Decimal(str(v).strip())
    except InvalidOperation:
        raise ValueError("not an amount in cents") from None
    if cents != cents.to_integral_value():
        raise ValueError("an amount in cents has no fraction")
    return float(cents / 100)


def _strip_html(v: Any) -> Any:
    if _empty(v):
        return None
    if not isinstance(v, str):
        raise ValueError("not text")
    text = html.unescape(_TAG.sub("", _BLOCK.sub("\n", v)))
    return "\n".join(line.rstrip() for line in text.splitlines()).strip() or None


_IMG = re.compile(r"<\s*img\b[^>]*>", re.IGNORECASE)
_IMG_ALT = re.compile(r"""\balt\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_IMG_DATA = re.compile(r"""\bsrc\s*=\s*["']?data:([\w.+-]+/[\w.+-]+)[;,]""", re.IGNORECASE)


def _image_marker(m: re.Match[str]) -> str:
    tag = m.group(0)
    alt = _IMG_ALT.search(tag)
    data = _IMG_DATA.search(tag)
    what = (alt.group(1).strip() if alt else "") or (data.group(1).lower() if data else "")
    return f"[inline image{': ' + what if what else ''}]"


def _strip_html_mark_images(v: Any) -> Any:
    """HTML → plain text as `strip_html`, but each `<img>` stays visible as `[inline image: <alt or
    MIME type>]` where it stood, so an image the text held is never dropped silently (PRAC-11: the
    note's images themselves need their own rows)."""
    if _empty(v):
        return None
    if not isinstance(v, str):
        raise ValueError("not text")
    return _strip_html(_IMG.sub(lambda m: html.escape(_image_marker(m)), v))


def _date_label(text: str) -> Converter:
    """`date_label:<text>`: the value's calendar date (as `date_only` reads it) followed by a space and
    the text — PRAC-10's note subject "2024-01-16 Session Note"."""
    label = text.strip()
    if not label:
        raise ValueError("date_label needs the text that follows the date")

    def convert(v: Any) -> Any:
        day = _date_only(v)
        return None if day is None else f"{day} {label}"

    return convert


_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def _bool(v: Any) -> Any:
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in _TRUE | _FALSE:
        return v.strip().lower() in _TRUE
    raise ValueError("not a yes/no value")


def _decimal(v: Any) -> Any:
    """A Decimal/Money column from an export's decimal text ("1200.00" → 1200.0; the currency is a
    lookup). Numbers pass through."""
    if _empty(v):
        return None
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise ValueError("not a number")
    try:
        d = Decimal(str(v).strip())
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not d.is_finite():
        raise ValueError("not a finite number")
    return float(d)


def _seconds_to_minutes(v: Any) -> Any:
    """Call durations: Close seconds → Dataverse whole minutes (INT-11), rounded up so a 20 s call is 1."""
    if _empty(v):
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError("not a duration in seconds")
    if v < 0:
        raise ValueError("a negative duration")
    return int(-(-int(v) // 60))


def _split(v: Any) -> tuple[str | None, str | None]:
    if not isinstance(v, str) or not v.strip():
        return None, None
    parts = v.strip().split()
    return (" ".join(parts[:-1]) or None, parts[-1]) if len(parts) > 1 else (None, parts[0])


def _text_max(arg: str) -> Converter:
    """`text_max:<n>`: text longer than n characters is truncated to n (the policy for free text
    such as descriptions; a column where truncation would lose meaning maps without it and lets the
    target refuse the record instead)."""
    n = int(arg)
    if n < 1:
        raise ValueError("text_max needs a positive length")

    def convert(v: Any) -> Any:
        v = _text(v)
        return v[:n] if isinstance(v, str) else v

    return convert


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def _rendered(v: Any) -> str:
    if v is None or (isinstance(v, str) and not v.strip()):
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, dict):
        return "\n".join(f"{k}: {_rendered(x)}" for k, x in sorted(v.items()) if _rendered(x))
    if isinstance(v, list):
        return "; ".join(r for x in v if (r := _rendered(x)))
    return str(v).strip()


def _template(fmt: str) -> Converter:
    """`template:<format>`, with `from: ""` (the whole record): several fields of the record written
    into one text, for what the target has no column for (CON-21: a ticket's metadata in its note).
    `{path}` placeholders are profile paths (`_join.thread` too); an empty field writes nothing, and a
    line whose every placeholder is empty is left out. A pivot join writes one `key: value` line per
    key, in key order; a list writes `a; b`; a boolean yes/no."""
    if not _PLACEHOLDER.search(fmt):
        raise ValueError("a template needs at least one {field} placeholder")

    def convert(v: Any) -> Any:
        if v is None:
            return None
        if not isinstance(v, dict):
            raise ValueError('a template reads the whole record: map it with from: ""')
        lines = []
        for line in fmt.split("\n"):
            parts = _PLACEHOLDER.split(line)  # literal, path, literal, path, …, literal
            values = [_rendered(get_path(v, p.strip())) for p in parts[1::2]]
            if values and not any(values):
                continue
            parts[1::2] = values
            lines.append("".join(parts))
        return "\n".join(lines).strip() or None

    return convert


def _label_list(v: Any) -> list[str]:
    """The labels a multi-valued source value holds: a pivot join's keys (`{"#vip": …}`), a list, or a
    comma-separated text; trimmed, blanks left out, each once (first spelling kept, case-insensitive)."""
    if isinstance(v, dict):
        items = list(v)
    elif isinstance(v, list):
        items = v
    elif isinstance(v, str):
        items = v.split(",")
    else:
        raise ValueError("not a list of labels")
    seen: dict[str, str] = {}
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise ValueError("a label is not text")
        label = str(item).strip()
        if label and label.casefold() not in seen:
            seen[label.casefold()] = label
    return list(seen.values())


def _labels(v: Any) -> Any:
    """Several labels (X2CRM tags from a pivot join, a list) as one text, sorted: `#new, #vip`."""
    if v is None or (isinstance(v, str | list | dict) and not v):
        return None
    return ", ".join(sorted(_label_list(v), key=str.casefold)) or None


def _multi_choice(arg: str) -> Converter:
    """`multi_choice:<label>=<option>|<label>=<option>…`: several labels (as `labels` reads them) → a
    multi-select choice value as the Web API writes it, the options comma-separated in ascending
    order (`100000000,100000002`). Labels match case-insensitively. A label the map does not hold is
    never written as some other option: it is left out (keep every label in a text column with
    `labels` beside it)."""
    options: dict[str, int] = {}
    for pair in arg.split("|"):
        label, sep, value = pair.rpartition("=")
        if not sep or not label.strip():
            raise ValueError("multi_choice takes label=option pairs separated by |")
        try:
            options[label.strip().casefold()] = int(value)
        except ValueError:
            raise ValueError(f"option {value!r} is not an integer") from None

    def convert(v: Any) -> Any:
        if v is None or (isinstance(v, str | list | dict) and not v):
            return None
        values = sorted({options[k] for k in (x.casefold() for x in _label_list(v)) if k in options})
        return ",".join(str(n) for n in values) or None

    return convert


CONVERTERS: dict[str, Converter] = {
    "text": _text,
    "email": _email,
    "datetime": _datetime_utc,
    "datetime_utc": _datetime_utc,
    "date_only": _date_only,
    "url": _url,
    "money_cents": _money_cents,
    "strip_html": _strip_html,
    "strip_html_mark_images": _strip_html_mark_images,
    "bool": _bool,
    "seconds_to_minutes": _seconds_to_minutes,
    "decimal": _decimal,
    "first_name": lambda v: _split(v)[0],
    "last_name": lambda v: _split(v)[1],
    "labels": _labels,
}
PARAMETRISED: dict[str, Callable[[str], Converter]] = {
    "text_max": _text_max,
    "template": _template,
    "date_label": _date_label,
    "multi_choice": _multi_choice,
}


def converter(spec: str) -> Converter:
    """The function a profile's `convert:` names; ValueError for an unknown name or bad argument."""
    name, _, arg = spec.partition(":")
    if name in PARAMETRISED:
        if not arg:
            raise ValueError(f"converter {name!r} needs an argument ({name}:<n>)")
        try:
            return PARAMETRISED[name](arg)
        except ValueError as exc:
            raise ValueError(f"converter {spec!r}: {exc}") from None
    if name in CONVERTERS and not arg:
        return CONVERTERS[name]
    known = sorted(CONVERTERS) + [f"{p}:<n>" for p in sorted(PARAMETRISED)]
    raise ValueError(f"unknown converter {spec!r}; known: {known}")
