"""COM-23/24: lookups resolvable — every parent a record points at is among the extracted records of
the parent object (which loads in an earlier phase), so the id map can resolve it at load time."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.mapping.paths import get_path
from shared.preflight._model import MAX_IDS, Finding, Outcome, capped
from shared.preflight._profile_view import ObjectView, TargetView

Key = tuple[str, str, str, bool]  # (object, source field, parent object, required)


@dataclass
class LookupTally:
    """Feed objects in load order: parents' ids are known before their children are seen."""

    objects: list[ObjectView]
    check_parents: bool = True  # False on a delta run: parents may be in the id map from earlier runs
    known: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    dangling: Counter[Key] = field(default_factory=Counter)
    ids: dict[Key, list[str]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        self._parents = {
            parent for o in self.objects for t in o.targets for lk in t.lookups for _, parent in lk.sources
        }

    def observe_id(self, obj: str, source_id: str) -> None:
        if obj in self._parents:
            self.known[obj].add(source_id)

    def observe(self, t: TargetView, source_id: str, record: Mapping[str, Any]) -> None:
        if not self.check_parents:
            return
        for lk in t.lookups:
            values = [(src, parent, get_path(record, src)) for src, parent in lk.applicable(record)]
            given = [(src, parent, v) for src, parent, v in values if v not in (None, "")]
            if not given or lk.has_placeholder:
                continue  # empty: the required-columns check's; a placeholder takes the rest
            if any(str(v) in self.known.get(parent, ()) for _, parent, v in given):
                continue
            src, parent, _ = given[0]
            key = (t.object, src, parent, lk.required)
            self.dangling[key] += 1
            if len(self.ids[key]) < MAX_IDS:
                self.ids[key].append(source_id)


def check_lookups(
    dangling: Mapping[Key, int], ids: Mapping[Key, list[str]] | None = None, *, lookups: int = 0
) -> tuple[list[Outcome], dict[str, object]]:
    """Dangling references are warnings: a required one quarantines its record, an optional one is
    left empty — either way counted and named, never silent."""
    out: list[Outcome] = []
    for (obj, src, parent, required), n in sorted(dangling.items()):
        effect = "quarantined (the lookup is required)" if required else "loaded without the link"
        out.append(
            (
                "warning",
                Finding(
                    check="lookups",
                    requirement="COM-24",
                    code="lookup_unresolvable",
                    message=f"{obj}.{src}: {n} record(s) point at a {parent} record that is not in the "
                    f"extract (deleted in the source?); they will be {effect}",
                    object=obj,
                    field=src,
                    records=n,
                    source_ids=capped(list((ids or {}).get((obj, src, parent, required), []))),
                    details={"parent_object": parent, "required": required},
                ),
            )
        )
    return out, {"lookups": lookups, "unresolvable_records": sum(dangling.values())}


def count_lookups(objects: Iterable[ObjectView]) -> int:
    return sum(len(t.lookups) for o in objects for t in o.targets)
