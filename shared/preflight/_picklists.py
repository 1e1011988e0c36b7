"""COM-16: every source pick-list label maps to an option value that exists on the target column.

The check works on a small interface, not on the profile's classes: value maps keyed by
(source object, source field), each naming its target column and {source label: option value}.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.preflight._model import MAX_IDS, Finding, Outcome, capped


@dataclass(frozen=True)
class ValueMapRef:
    """One source field whose labels become option values of one target column."""

    object: str
    field: str
    table: str
    column: str
    values: Mapping[str, int]
    default: int | None = None  # the option unmapped labels get, when the profile declares one
    keeps_label: bool = False  # unmapped labels are kept in a text column instead
    required: bool = False

    @property
    def key(self) -> MapKey:
        return (self.object, self.field, self.table, self.column)


MapKey = tuple[str, str, str, str]  # (object, source field, table, column)


def labels_of(value: Any) -> list[str]:
    """The pick-list labels a source value holds (a multi-select holds several); booleans as
    true/false, the rest as trimmed text, as the value maps look them up."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    if isinstance(value, list):
        return [lab for v in value for lab in labels_of(v)]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [str(value).strip()]


@dataclass
class PicklistTally:
    """Counts the labels seen per value map, with the first source ids for each."""

    counts: dict[MapKey, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    ids: dict[tuple[MapKey, str], list[str]] = field(default_factory=lambda: defaultdict(list))

    def observe(self, maps: Iterable[ValueMapRef], source_id: str, value_at: Callable[[str], Any]) -> None:
        for m in maps:
            for label in labels_of(value_at(m.field)):
                self.counts[m.key][label] += 1
                ids = self.ids[(m.key, label)]
                if len(ids) < MAX_IDS:
                    ids.append(source_id)


def check_picklists(
    maps: Iterable[ValueMapRef],
    seen: Mapping[MapKey, Mapping[str, int]],
    options: Mapping[tuple[str, str], set[int] | None],
    ids: Mapping[tuple[MapKey, str], list[str]] | None = None,
) -> tuple[list[Outcome], dict[str, object]]:
    """`seen`: per value map (`ValueMapRef.key`), each source label with its record count; `options`: per
    (table, column), the option values the target has (or will have once provisioned), None when the
    column does not exist. Unmapped labels and mappings to missing options are blocking: a value
    without an option is flagged, never written as some other option."""
    out: list[Outcome] = []
    fields = labels = unmapped_labels = unmapped_records = 0
    for m in maps:
        fields += 1
        counts = seen.get(m.key, {})
        labels += len(counts)
        target = options.get((m.table, m.column))
        where = f"{m.object}.{m.field} → {m.table}.{m.column}"
        if target is None:
            out.append(
                (
                    "blocking",
                    Finding(
                        check="picklists",
                        requirement="COM-16",
                        code="choice_column_missing",
                        message=f"{where}: the target has no choice column {m.table}.{m.column} and the "
                        "schema plan does not create it",
                        object=m.object,
                        field=m.field,
                        records=sum(counts.values()),
                    ),
                )
            )
            continue
        for label, option in sorted(m.values.items()):
            if option not in target:
                n = counts.get(label, 0)
                out.append(
                    (
                        "blocking",
                        Finding(
                            check="picklists",
                            requirement="COM-16",
                            code="option_missing",
                            message=f"{where}: label {label!r} maps to option {option}, which "
                            f"{m.table}.{m.column} does not have; {n} record(s) carry the label",
                            object=m.object,
                            field=m.field,
                            value=label,
                            records=n,
                            source_ids=capped(list((ids or {}).get((m.key, label), []))),
                            details={"option": option},
                        ),
                    )
                )
        for label, n in sorted(counts.items()):
            if label in m.values:
                continue
            unmapped_labels += 1
            unmapped_records += n
            default_ok = m.default is not None and m.default in target
            if m.keeps_label:
                effect = (
                    ": the choice stays empty and the label is kept in a text column, as the profile says"
                )
            elif default_ok:
                effect = f" and get the profile's default option {m.default}"
            else:
                effect = ": add it to the value map (to an existing option) before the run"
            out.append(
                (
                    "warning" if default_ok or m.keeps_label else "blocking",
                    Finding(
                        check="picklists",
                        requirement="COM-16",
                        code="unmapped_label",
                        message=f"{where}: source label {label!r} has no mapping; {n} record(s) carry it"
                        + effect,
                        object=m.object,
                        field=m.field,
                        value=label,
                        records=n,
                        source_ids=capped(list((ids or {}).get((m.key, label), []))),
                    ),
                )
            )
        if m.default is not None and m.default not in target:
            out.append(
                (
                    "blocking",
                    Finding(
                        check="picklists",
                        requirement="COM-16",
                        code="option_missing",
                        message=f"{where}: the default option {m.default} is not an option of "
                        f"{m.table}.{m.column}",
                        object=m.object,
                        field=m.field,
                        details={"option": m.default},
                    ),
                )
            )
    summary: dict[str, object] = {
        "fields": fields,
        "labels_seen": labels,
        "unmapped_labels": unmapped_labels,
        "unmapped_records": unmapped_records,
    }
    return out, summary
