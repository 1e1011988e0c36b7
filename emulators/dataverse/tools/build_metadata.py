"""Generate the emulator's compact table metadata from the shared reference data.

The reference file (`/work/shared/reference/dataverse/entities.json`, derived from Microsoft's
table/entity reference pages, CC-BY-4.0) is large and lives outside the repo. The engine only needs
a fraction of it, so this script keeps what validation, querying and lookups need and writes
`emulators/dataverse/metadata/standard_tables.json`, which is committed so the repo runs on its own.

Usage: python -m emulators.dataverse.tools.build_metadata [SOURCE] [DEST]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_SOURCE = Path("/work/shared/reference/dataverse/entities.json")
DEFAULT_DEST = Path(__file__).resolve().parent.parent / "metadata" / "standard_tables.json"
FORMAT = "intact-dataverse-emulator-metadata/1"

# Attribute types whose values are lookups (written with @odata.bind, read as _x_value).
LOOKUP_TYPES = {"Lookup", "Customer", "Owner"}


def _attribute(attr: dict[str, Any], nav_by_attr: dict[str, dict[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": attr.get("Type")}
    if attr.get("Partial"):
        out["partial"] = True
    out["create"] = bool(attr.get("IsValidForCreate", attr.get("Writable", False)))
    out["update"] = bool(attr.get("IsValidForUpdate", attr.get("Writable", False)))
    out["read"] = bool(attr.get("IsValidForRead", True))
    out["required"] = attr.get("RequiredLevel") or "None"
    for src, dst in (
        ("MaxLength", "max_length"),
        ("MinValue", "min"),
        ("MaxValue", "max"),
        ("Precision", "precision"),
        ("Format", "format"),
        ("DateTimeBehavior", "behavior"),
        ("DefaultValue", "default"),
    ):
        if attr.get(src) is not None:
            out[dst] = attr[src]
    options = attr.get("Options")
    if options and attr.get("Type") != "Boolean":
        out["options"] = [[o["Value"], o.get("Label")] for o in options]
    if attr.get("Type") == "Boolean" and options:
        out["labels"] = {str(int(o["Value"])): o.get("Label") for o in options}
    if attr.get("Type") == "State" and options:
        out["default_status"] = {str(o["Value"]): o.get("DefaultStatus") for o in options}
    if attr.get("Type") == "Status" and options:
        out["state_of"] = {str(o["Value"]): o.get("State") for o in options}
    if attr.get("Type") in LOOKUP_TYPES:
        targets = list(attr.get("Targets") or [])
        nav = dict(attr.get("Navigation") or {})
        nav.update({k: v for k, v in nav_by_attr.get(attr["LogicalName"], {}).items() if k not in nav})
        if attr.get("Type") == "Owner":
            # Owner lookups bind through the single-valued `ownerid` navigation property.
            nav = {t: attr["LogicalName"] for t in targets}
        out["targets"] = targets
        out["nav"] = {t: nav[t] for t in targets if t in nav}
    return out


def build(source: dict[str, Any]) -> dict[str, Any]:
    tables: dict[str, Any] = {}
    for logical, table in sorted(source["Tables"].items()):
        nav_by_attr: dict[str, dict[str, str]] = {}
        for rel in table.get("ManyToOne") or []:
            name = rel.get("ReferencingEntityNavigationPropertyName")
            if name:
                nav_by_attr.setdefault(rel["ReferencingAttribute"], {})[rel["ReferencedEntity"]] = name
        attrs = {a["LogicalName"]: _attribute(a, nav_by_attr) for a in table["Attributes"]}
        tables[logical] = {
            "schema": table.get("SchemaName"),
            "entity_set": table["EntitySetName"],
            "primary_id": table["PrimaryIdAttribute"],
            "primary_name": table.get("PrimaryNameAttribute"),
            "ownership": table.get("OwnershipType"),
            "is_activity": bool(table.get("IsActivity")),
            "messages": sorted(
                {m if isinstance(m, str) else m.get("Name", "") for m in table.get("Messages") or []} - {""}
            ),
            "attributes": attrs,
        }
    return {
        "format": FORMAT,
        "source": "Microsoft Dataverse table/entity reference (CC-BY-4.0), via shared/reference/dataverse",
        "tables": tables,
    }


def main(argv: list[str]) -> int:
    src = Path(argv[0]) if argv else DEFAULT_SOURCE
    dest = Path(argv[1]) if len(argv) > 1 else DEFAULT_DEST
    data = build(json.loads(src.read_text(encoding="utf-8")))
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(data['tables'])} tables to {dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
