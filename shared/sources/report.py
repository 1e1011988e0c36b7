"""`intact discover`: run a source's discover() and render it — a terminal table, one JSON object,
and the Markdown inventory for the customer's admin (what migrates, what does not, what to rebuild).

    found = discover_source(spec.source)
    Path("out/inventory-close.md").write_text(inventory_markdown(found))
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from shared.sources._base import Discovery, open_source
from shared.spec import SourceSpec


def discover_source(spec: SourceSpec, base_dir: Path | None = None, sample_size: int = 200) -> Discovery:
    source = open_source(spec, base_dir)
    try:
        return source.discover(sample_size)
    finally:
        source.close()


def discovery_json(found: Discovery) -> dict[str, Any]:
    return asdict(found)


def discovery_table(found: Discovery) -> str:
    lines = [f"{found.source}: {len(found.objects)} objects", f"  {'object':<24} {'records':>10}  fields"]
    lines += [f"  {o.name:<24} {o.count:>10}  {len(o.fields)}" for o in found.objects]
    lines.append(f"not migrated as data ({len(found.inventory)}):")
    lines += [f"  [{i.kind}] {i.name}" for i in found.inventory]
    lines += [f"warning: {w}" for w in found.warnings]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def inventory_markdown(found: Discovery) -> str:
    """A readable document for the admin: record counts, relationships, and every item that does
    not migrate as data with the Dynamics 365 / Power Automate rebuild recommended for it."""
    out = [
        f"# {found.source}: source inventory",
        "",
        "What Intact found in the source. Records in the first table migrate as data; the items under",
        "*Not migrated as data* must be rebuilt in Dynamics 365 by your admin (recommendations given).",
        "",
        "## Objects",
        "",
        "| Object | Records | Fields | Custom fields |",
        "|---|---:|---:|---:|",
    ]
    out += [
        f"| {o.name} | {o.count} | {len(o.fields)} | {sum(f.custom for f in o.fields)} |"
        for o in found.objects
    ]
    if found.relationships:
        out += ["", "## Relationships", "", "| From | Field | To |", "|---|---|---|"]
        out += [f"| {r.from_object} | {r.field} | {r.to_object} |" for r in found.relationships]
    out += ["", "## Not migrated as data", ""]
    if found.inventory:
        out += ["| Kind | Name | Detail | Recommendation |", "|---|---|---|---|"]
        out += [
            f"| {i.kind.replace('_', ' ')} | {_cell(i.name)} | {_cell(i.detail)} "
            f"| {_cell(i.recommendation)} |"
            for i in found.inventory
        ]
    else:
        out.append("Nothing found.")
    if found.warnings:
        out += ["", "## Notes", ""] + [f"- {_cell(w)}" for w in found.warnings]
    out += ["", "## Field types (inferred from a sample)", ""]
    for o in found.objects:
        if not o.fields:
            continue
        out += [f"### {o.name}", "", "| Field | Type | Filled in sample |", "|---|---|---:|"]
        out += [f"| {_cell(f.name)} | {f.type} | {f.filled} |" for f in o.fields]
        out.append("")
    return "\n".join(out).rstrip() + "\n"
