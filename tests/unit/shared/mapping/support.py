"""Helpers the per-source profile tests share: a record through the profile, a lookup's resolution,
the sample's planted malformed emails, the records a source yields and the joins the run builds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared.mapping.convert import converter
from shared.mapping.joins import JoinIndex, build_index, declare_types
from shared.mapping.transform import Skipped, TargetRow


def as_row(out: TargetRow | Skipped) -> TargetRow:
    """The record went through as a row (not skipped)."""
    assert isinstance(out, TargetRow), out
    return out


def entry(table: str | None) -> Any:
    """An id map that finds every parent in `table` (None: finds none)."""
    return lambda obj, sid: None if table is None else (table, f"id-of-{obj}-{sid}")


def bad_email(record: dict[str, Any]) -> bool:
    """The sample's planted malformed emails (the email converter refuses them)."""
    try:
        converter("email")(record.get("email"))
    except ValueError:
        return True
    return False


def good_records(source: Any, names: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Every well-formed record of every object (malformed rows are quarantined by the reader)."""
    return {
        name: [r.record for page in source.read(name) for r in page.records if r.record is not None]
        for name in names
    }


def typed_index(j: Any, records: dict[str, list[dict[str, Any]]]) -> JoinIndex:
    """A join's index as the run builds it: from the values, typed by the field definitions."""
    index = build_index(j, records[j.object])
    if j.types_from is not None:
        declare_types(index, j.types_from, records[j.types_from.object], 10_000)
    return index
