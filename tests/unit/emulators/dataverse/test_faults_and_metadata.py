"""Fault-injection spec parsing and the metadata generator (pure)."""

from __future__ import annotations

import pytest

from emulators.dataverse.faults import FaultInjector, parse_spec
from emulators.dataverse.metadata import MetadataRegistry
from emulators.dataverse.tools.build_metadata import build


def test_parse_spec() -> None:
    assert parse_spec("429:0.05, 503:0.02,drop:0.01") == [("429", 0.05), ("503", 0.02), ("drop", 0.01)]
    assert parse_spec(None) == []
    for bad in ("418:0.1", "429:2", "429:0.6,503:0.6", "latency:fast"):
        with pytest.raises(ValueError):
            parse_spec(bad)


def test_seeded_draws_are_reproducible() -> None:
    a = [FaultInjector("429:0.3,drop:0.2", seed=7).draw() for _ in range(1)]
    one, two = FaultInjector("429:0.3,drop:0.2", seed=7), FaultInjector("429:0.3,drop:0.2", seed=7)
    seq1 = [one.draw() for _ in range(200)]
    assert seq1 == [two.draw() for _ in range(200)]
    assert a[0] == seq1[0]
    assert 0.35 < sum(1 for k in seq1 if k) / 200 < 0.65
    assert one.injected["429"] + one.injected["drop"] == sum(1 for k in seq1 if k)


def test_generator_keeps_what_the_engine_needs() -> None:
    source = {
        "Tables": {
            "widget": {
                "LogicalName": "widget",
                "SchemaName": "Widget",
                "EntitySetName": "widgets",
                "PrimaryIdAttribute": "widgetid",
                "PrimaryNameAttribute": "name",
                "OwnershipType": "UserOwned",
                "Messages": ["Create"],
                "Attributes": [
                    {
                        "LogicalName": "name",
                        "Type": "String",
                        "MaxLength": 10,
                        "IsValidForCreate": True,
                        "IsValidForUpdate": True,
                        "IsValidForRead": True,
                        "RequiredLevel": "ApplicationRequired",
                    },
                    {
                        "LogicalName": "kind",
                        "Type": "Picklist",
                        "IsValidForCreate": True,
                        "IsValidForUpdate": True,
                        "Options": [{"Value": 1, "Label": "A"}],
                    },
                    {
                        "LogicalName": "parentid",
                        "Type": "Customer",
                        "IsValidForCreate": True,
                        "IsValidForUpdate": True,
                        "Targets": ["account", "contact"],
                    },
                ],
                "ManyToOne": [
                    {
                        "ReferencingAttribute": "parentid",
                        "ReferencedEntity": "account",
                        "ReferencingEntityNavigationPropertyName": "parentid_account",
                    },
                    {
                        "ReferencingAttribute": "parentid",
                        "ReferencedEntity": "contact",
                        "ReferencingEntityNavigationPropertyName": "parentid_contact",
                    },
                ],
            }
        }
    }
    registry = MetadataRegistry.from_json(build(source))
    widget = registry.by_set("widgets")
    assert widget is not None and widget.primary_id == "widgetid"
    assert widget.attributes["name"].max_length == 10
    assert widget.attributes["kind"].options == {1: "A"}
    assert widget.navigation["parentid_contact"].targets == ("contact",)
    assert "_parentid_value" in widget.readable


def test_committed_metadata_covers_sales_tables() -> None:
    registry = MetadataRegistry.load()
    for logical in ("account", "contact", "lead", "opportunity", "task", "annotation", "systemuser"):
        assert registry.by_logical(logical) is not None
    contact = registry.by_logical("contact")
    assert contact.navigation["parentcustomerid_account"].attribute == "parentcustomerid"
    assert contact.navigation["ownerid"].targets == ("systemuser", "team")
