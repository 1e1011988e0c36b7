"""docs/spec.schema.json is what `python -m intact schema` prints (the docs cannot drift)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from shared.spec import MigrationSpec, spec_json_schema

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_published_json_schema_matches_the_model() -> None:
    assert json.loads((DOCS / "spec.schema.json").read_text(encoding="utf-8")) == spec_json_schema()


def test_the_example_in_spec_md_is_a_valid_spec() -> None:
    text = (DOCS / "spec.md").read_text(encoding="utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    spec = MigrationSpec.model_validate(yaml.safe_load(example))
    assert spec.target.auth.kind == "client_secret"
    assert spec.options.unmatched_owner == "fallback"
