"""COM-22: required columns filled. Two questions: does the profile fill every column the target
requires (else every row of the table is refused), and which source records leave a required
column empty (each of those is quarantined)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.mapping.paths import get_path
from shared.preflight._model import MAX_IDS, Finding, Outcome, capped
from shared.preflight._profile_view import TargetView

Key = tuple[str, str, str]  # (object, source field, table.column)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value in ([], {})


@dataclass
class RequiredTally:
    """Counts, per (object, source field, column), the records whose required value is empty."""

    target_required: Mapping[str, set[str]] = field(default_factory=dict)
    empty: Counter[Key] = field(default_factory=Counter)
    ids: dict[Key, list[str]] = field(default_factory=lambda: defaultdict(list))

    def observe(self, t: TargetView, source_id: str, record: Mapping[str, Any]) -> None:
        must = self.target_required.get(t.table, set())
        for f in t.fields:
            if f.from_ is None or getattr(f, "default", None) is not None or not (f.required or f.to in must):
                continue
            paths = [f.from_, *getattr(f, "fallbacks", [])]  # the first non-empty path wins
            if all(_empty(get_path(record, p)) for p in paths):
                self._hit((t.object, f.from_, f"{t.table}.{f.to}"), source_id)
        for m in t.value_maps:
            if (m.required or m.column in must) and _empty(get_path(record, m.field)):
                self._hit((t.object, m.field, f"{t.table}.{m.column}"), source_id)
        for lk in t.lookups:
            if not (lk.required or lk.to in must) or lk.has_placeholder:
                continue
            if all(_empty(get_path(record, src)) for src, _ in lk.sources):
                self._hit((t.object, lk.sources[0][0], f"{t.table}.{lk.to}"), source_id)

    def _hit(self, key: Key, source_id: str) -> None:
        self.empty[key] += 1
        if len(self.ids[key]) < MAX_IDS:
            self.ids[key].append(source_id)


def check_required(
    targets: Iterable[TargetView],
    target_required: Mapping[str, set[str]],
    empty: Mapping[Key, int],
    ids: Mapping[Key, list[str]] | None = None,
) -> tuple[list[Outcome], dict[str, object]]:
    """`target_required`: per table, the columns the target marks ApplicationRequired;
    `empty`: per (object, source field, table.column), the records leaving it empty."""
    out: list[Outcome] = []
    checked = 0
    for t in targets:
        checked += 1
        for col in sorted(target_required.get(t.table, set()) - t.filled_columns()):
            out.append(
                (
                    # ApplicationRequired is enforced by forms, not by Web API writes (INT-27): the load
                    # goes through, but people editing these rows later will be asked for the value
                    "warning",
                    Finding(
                        check="required_columns",
                        requirement="COM-22",
                        code="required_column_unmapped",
                        message=f"{t.table}.{col} is required on the target's forms but the profile maps "
                        f"nothing to it for {t.object}: Web API writes go through (INT-27); map a source "
                        "field to it, or agree with the admin that forms will ask for it later",
                        object=t.object,
                        field=f"{t.table}.{col}",
                    ),
                )
            )
    for (obj, src, col), n in sorted(empty.items()):
        out.append(
            (
                "warning",
                Finding(
                    check="required_columns",
                    requirement="COM-22",
                    code="required_value_empty",
                    message=f"{obj}.{src} is empty but {col} is required: {n} record(s) will be "
                    "quarantined unless the source is completed",
                    object=obj,
                    field=src,
                    records=n,
                    source_ids=capped(list((ids or {}).get((obj, src, col), []))),
                    details={"column": col},
                ),
            )
        )
    return out, {"targets": checked, "records_with_empty_required": sum(empty.values())}
