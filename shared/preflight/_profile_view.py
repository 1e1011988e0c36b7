"""What preflight reads of a profile, as plain views: per object its phase and target(s), per target
the columns it fills, its lookups, owner fields and value maps. One place that knows the profile's
classes, so the checks stay small and keep working as the profile format grows (an object with one
inline table, or several `targets` chosen by a `split`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.mapping import Profile
from shared.mapping.paths import get_path
from shared.mapping.splits import choose
from shared.preflight._picklists import ValueMapRef


@dataclass(frozen=True)
class FieldView:
    to: str
    from_: str | None  # None: a constant
    required: bool = False


@dataclass(frozen=True)
class LookupView:
    to: str
    sources: tuple[tuple[str, str], ...]  # (source field, parent object), first present wins
    required: bool = False
    has_placeholder: bool = False
    whens: tuple[Any, ...] = ()  # per source: the predicate that makes it apply (None: always)

    def applicable(self, record: Mapping[str, Any]) -> list[tuple[str, str]]:
        whens = self.whens or (None,) * len(self.sources)
        return [s for s, w in zip(self.sources, whens, strict=True) if w is None or w.holds(record, None)]


@dataclass(frozen=True)
class TargetView:
    object: str
    name: str
    table: str
    primary_id: str
    fields: tuple[FieldView, ...] = ()
    lookups: tuple[LookupView, ...] = ()
    owner_from: tuple[str, ...] = ()
    value_maps: tuple[ValueMapRef, ...] = ()
    other_columns: frozenset[str] = frozenset()  # references, state, source-id column
    has_file: bool = False  # it writes the record's file (an annotation with `file:`)

    def filled_columns(self) -> set[str]:
        cols = {f.to for f in self.fields} | {lk.to for lk in self.lookups} | {self.primary_id}
        cols |= {m.column for m in self.value_maps} | set(self.other_columns)
        if self.owner_from:
            cols.add("ownerid")
        return cols


@dataclass(frozen=True)
class ObjectView:
    name: str
    phase: int
    targets: tuple[TargetView, ...]
    split: Any = None  # the profile's split rules, when the object has several targets
    staged: str = ""  # the source object whose records feed it (default: its name)
    id_from: str = "id"

    def source_id(self, record: Mapping[str, Any]) -> str:
        value = get_path(record, self.id_from)
        return "" if value is None else str(value)

    def targets_for(self, record: dict[str, Any]) -> tuple[TargetView, ...]:
        """The target a record lands in. A split that needs the child index (`has_children`)
        cannot be decided before extraction ends: such records are judged by the `otherwise` target."""
        if not self.split:
            return self.targets[:1]
        by_name = {t.name: t for t in self.targets}
        try:
            kind, name = choose(self.split, record, None)
        except ValueError:
            kind, name = self.split[-1].outcome()
        return (by_name[name],) if kind == "target" and name in by_name else ()


def _col(name: str, prefix: str) -> str:
    return name.replace("{prefix}", prefix)


def _value_map(obj: str, table: str, vm: Any, prefix: str) -> ValueMapRef:
    policy = str(getattr(vm, "unmapped", "quarantine"))
    default = int(policy.split(":", 1)[1]) if policy.startswith("default:") else None
    return ValueMapRef(
        object=obj,
        field=vm.from_,
        table=table,
        column=_col(vm.to, prefix),
        values=dict(vm.map),
        default=default,
        keeps_label=policy.startswith("keep_label_in:"),
        required=bool(getattr(vm, "required", False)),
    )


def _target(obj: str, name: str, t: Any, prefix: str) -> TargetView:
    lookups = []
    for lk in getattr(t, "lookups", []):
        cands = lk.candidates() if hasattr(lk, "candidates") else [lk]
        lookups.append(
            LookupView(
                to=_col(lk.to, prefix),
                sources=tuple((c.from_, c.object) for c in cands),
                required=bool(lk.required),
                has_placeholder=getattr(lk, "placeholder", None) is not None,
                whens=tuple(getattr(c, "when", None) for c in cands),
            )
        )
    other = {_col(r.to, prefix) for r in getattr(t, "references", [])}
    if getattr(t, "state", None) is not None:
        other |= {"statecode", "statuscode"}
    if getattr(t, "source_id_to", None):
        other.add(_col(t.source_id_to, prefix))
    owner = getattr(t, "owner", None)
    return TargetView(
        object=obj,
        name=name,
        table=t.table,
        primary_id=t.primary_id,
        fields=tuple(
            FieldView(_col(f.to, prefix), getattr(f, "from_", None), bool(f.required)) for f in t.fields
        ),
        lookups=tuple(lookups),
        owner_from=tuple(owner.from_) if owner is not None else (),
        value_maps=tuple(_value_map(obj, t.table, vm, prefix) for vm in getattr(t, "value_maps", [])),
        other_columns=frozenset(other),
        has_file=getattr(t, "file", None) is not None,
    )


def profile_views(profile: Profile, prefix: str = "new") -> list[ObjectView]:
    """Every mapped object in load order (parents before children)."""
    out: list[ObjectView] = []
    for phase in profile.phases():
        for obj in phase:
            targets: Mapping[str, Any] = getattr(obj, "targets", None) or {obj.table: obj}
            out.append(
                ObjectView(
                    name=obj.name,
                    phase=obj.phase,
                    targets=tuple(_target(obj.name, n, t, prefix) for n, t in targets.items()),
                    split=getattr(obj, "split", None) or None,
                    staged=getattr(obj, "staged", obj.name),
                    id_from=getattr(obj, "id_from", "id"),
                )
            )
    return out
