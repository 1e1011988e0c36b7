"""What Close holds that does not migrate as data, with what to rebuild it as in Dynamics 365
(CLOSE-22/23), and the relationships between Close objects. Shared by the export and the API."""

from __future__ import annotations

from typing import Any

from shared.sources._base import InventoryItem, InventoryKind, Relationship

RELATIONSHIPS: list[Relationship] = [
    Relationship("contacts", "lead_id", "leads"),
    Relationship("opportunities", "lead_id", "leads"),
    Relationship("opportunities", "contact_id", "contacts"),
    Relationship("opportunities", "status_id", "opportunity_statuses"),
    Relationship("opportunities", "pipeline_id", "pipelines"),
    Relationship("opportunities", "user_id", "users"),
    Relationship("tasks", "lead_id", "leads"),
    Relationship("tasks", "assigned_to", "users"),
    Relationship("activities", "lead_id", "leads"),
    Relationship("activities", "contact_id", "contacts"),
    Relationship("activities", "user_id", "users"),
    Relationship("activities", "custom_activity_type_id", "custom_activity_types"),
    Relationship("leads", "status_id", "lead_statuses"),
    Relationship("opportunity_statuses", "pipeline_id", "pipelines"),
]

REFERENCES: dict[str, dict[str, str]] = {}
for _r in RELATIONSHIPS:
    REFERENCES.setdefault(_r.from_object, {})[_r.field] = _r.to_object

# kind → (what Intact does with it, the recommendation for the customer's admin)
RECOMMENDATIONS: dict[InventoryKind, str] = {
    "workflow": "Rebuild as a Power Automate cloud flow (trigger on the D365 table, same steps); "
    "sequences with email steps → Dynamics 365 Sales sequences.",
    "smart_view": "Recreate as a Dataverse system or personal view (Advanced find) with the same filter.",
    "email_template": "Recreate as a Dynamics 365 email template; map Close {{ }} placeholders to "
    "dynamic values.",
    "custom_activity_type": "Instances migrate as data into a custom activity table (CLOSE-14); the "
    "type's form and required-field rules are rebuilt on that table.",
    "integration": "Reconnect through the Dynamics 365 connector or Power Automate; webhooks → "
    "Dataverse webhooks or Power Automate 'When a row is added/modified'.",
    "report": "Rebuild with Power BI or D365 dashboards.",
    "other": "Review with the customer's admin.",
}


def item(kind: InventoryKind, name: str, detail: str = "") -> InventoryItem:
    return InventoryItem(kind=kind, name=name, detail=detail, recommendation=RECOMMENDATIONS[kind])


def custom_activity_types(types: list[dict[str, Any]]) -> list[InventoryItem]:
    out = []
    for t in types:
        fields = [f.get("name") for f in t.get("fields", []) if isinstance(f, dict) and f.get("name")]
        detail = f"id {t.get('id')}" + (f"; fields: {', '.join(fields)}" if fields else "")
        out.append(item("custom_activity_type", str(t.get("name") or t.get("id")), detail))
    return out
