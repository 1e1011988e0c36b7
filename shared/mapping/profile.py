"""Mapping profiles: per source, which object lands in which table, field by field, as data.

A profile is YAML in `profiles/<source>.yaml`, validated on load; an error names the file and the
path of the bad entry.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.errors import ConfigError
from shared.mapping.convert import CONVERTERS

PROFILES_DIR = Path(__file__).with_name("profiles")
SkipRule = Literal["object_not_in_profile"]
SKIP_RULES: tuple[str, ...] = get_args(SkipRule)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FieldMap(_Model):
    to: str
    from_: str = Field(alias="from")
    convert: str | None = None
    required: bool = False

    @model_validator(mode="after")
    def _known_converter(self) -> FieldMap:
        if self.convert is not None and self.convert not in CONVERTERS:
            raise ValueError(f"unknown converter {self.convert!r}; known: {sorted(CONVERTERS)}")
        return self


class LookupMap(_Model):
    """A lookup resolved through the id map (COM-24): the parent must have loaded first."""

    to: str
    bind: str = Field(description="Navigation property for @odata.bind, e.g. parentcustomerid_account")
    object: str = Field(description="Source object of the parent record")
    from_: str = Field(alias="from")
    required: bool = False


class OwnerFields(_Model):
    from_: list[str] = Field(
        alias="from", min_length=1, description="Source user-id fields, first present wins"
    )


class ObjectMap(_Model):
    name: str
    table: str
    entity_set: str
    primary_id: str
    phase: int = Field(ge=1)
    fields: list[FieldMap]
    lookups: list[LookupMap] = []
    owner: OwnerFields | None = None


class SkipMap(_Model):
    object: str
    rule: SkipRule
    why: str


class Profile(_Model):
    source: str
    version: int
    objects: list[ObjectMap]
    skip: list[SkipMap] = []

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        names = [o.name for o in self.objects]
        if len(set(names)) != len(names):
            raise ValueError("an object is mapped twice")
        phase = {o.name: o.phase for o in self.objects}
        for o in self.objects:
            for lk in o.lookups:
                if lk.object not in phase:
                    raise ValueError(
                        f"{o.name}.{lk.to} looks up {lk.object!r}, which the profile does not map"
                    )
                if phase[lk.object] >= o.phase:
                    raise ValueError(
                        f"{o.name} (phase {o.phase}) looks up {lk.object} which loads no earlier"
                    )
        return self

    def object(self, name: str) -> ObjectMap | None:
        return next((o for o in self.objects if o.name == name), None)

    def skip_rule(self, name: str) -> SkipMap | None:
        return next((s for s in self.skip if s.object == name), None)

    def phases(self) -> list[list[ObjectMap]]:
        """Objects grouped by load phase, in load order (parents before children)."""
        return [[o for o in self.objects if o.phase == p] for p in sorted({o.phase for o in self.objects})]


@cache
def load_profile(source: str) -> Profile:
    path = PROFILES_DIR / f"{source}.yaml"
    if not path.exists():
        raise ConfigError(f"no mapping profile for source {source!r} ({path.name} missing)")
    try:
        return Profile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"mapping profile {path.name} is invalid: {problems}") from None
