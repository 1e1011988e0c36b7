"""$filter parser and SQL translation (pure; SQLite in memory to run the generated SQL).

Operators and literal forms follow powerapps-docs `webapi/query-data-web-api.md` ("Filter results":
comparison and logical operators, `contains`/`startswith`/`endswith`, `null`, quoted strings with
doubled single quotes).
"""

from __future__ import annotations

import pytest

from emulators.dataverse import errors
from emulators.dataverse.engine import Caller, Engine
from emulators.dataverse.metadata import MetadataRegistry
from emulators.dataverse.odata_query import (
    And,
    Compare,
    Function,
    Literal,
    Not,
    Or,
    parse_filter,
    parse_orderby,
    parse_select,
    tokenize,
)
from emulators.dataverse.store import Store

REGISTRY = MetadataRegistry.load()
ACCOUNT = REGISTRY.by_logical("account")
CALLER = Caller("8f0b6c1e-0000-4000-8000-00000000c001", "8f0b6c1e-0000-4000-8000-00000000b001")


def test_comparison_and_precedence() -> None:
    node = parse_filter("name eq 'A' or numberofemployees gt 5 and not (revenue le 10.5)")
    assert node == Or(
        Compare("eq", "name", Literal("string", "A")),
        And(
            Compare("gt", "numberofemployees", Literal("number", 5)),
            Not(Compare("le", "revenue", Literal("number", parse_filter("revenue le 10.5").literal.value))),
        ),
    )


def test_string_escaping_guid_null_boolean_and_flipped_operands() -> None:
    assert parse_filter("name eq 'O''Neil'") == Compare("eq", "name", Literal("string", "O'Neil"))
    guid = "6A7DF30A-D6EB-F011-8407-7C1E52759E27"
    assert parse_filter(f"_ownerid_value eq {guid}") == Compare(
        "eq", "_ownerid_value", Literal("guid", guid.lower())
    )
    assert parse_filter("telephone1 ne null") == Compare("ne", "telephone1", Literal("null", None))
    assert parse_filter("donotemail eq true") == Compare("eq", "donotemail", Literal("boolean", True))
    assert parse_filter("5 lt numberofemployees") == Compare("gt", "numberofemployees", Literal("number", 5))


def test_functions_and_dates() -> None:
    assert parse_filter("contains(name,'con')") == Function("contains", "name", Literal("string", "con"))
    node = parse_filter("createdon ge 2024-01-02T03:04:05Z")
    assert isinstance(node, Compare) and node.literal.kind == "datetime"
    assert parse_filter("createdon lt 2024-01-02").literal == Literal("date", "2024-01-02")


@pytest.mark.parametrize(
    "text", ["", "name eq", "name eq 'x' and", "(name eq 'x'", "name xx 'a'", "name eq $"]
)
def test_syntax_errors_are_0x80060888(text: str) -> None:
    with pytest.raises(errors.DataverseError) as info:
        parse_filter(text)
    assert (info.value.status, info.value.code) == (400, "0x80060888")


def test_tokenize_keeps_positions() -> None:
    assert [t.pos for t in tokenize("a eq 1")] == [0, 2, 5]


@pytest.fixture()
def engine() -> Engine:
    store = Store()
    eng = Engine(REGISTRY, store)
    rows = [
        {"name": "Contoso", "numberofemployees": 10, "revenue": 100.5, "donotemail": True},
        {"name": "Fabrikam", "numberofemployees": 3, "telephone1": "555"},
        {"name": "O'Neil 50%", "numberofemployees": None},
        {"name": "contoso east", "numberofemployees": 20},
    ]
    with store.transaction():
        for row in rows:
            eng.create(ACCOUNT, row, CALLER, mode="seed")
    return eng


def names(engine: Engine, text: str) -> list[str]:
    result = engine.query(
        ACCOUNT,
        filter_text=text,
        orderby=parse_orderby("name", ACCOUNT),
        top=None,
        page_size=5000,
        offset=0,
        count=False,
    )
    return [r["name"] for r in result.rows]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name eq 'contoso'", ["Contoso"]),  # string comparison is case-insensitive, like SQL Server
        ("name ne 'Contoso'", ["contoso east", "Fabrikam", "O'Neil 50%"]),
        ("numberofemployees ge 10", ["Contoso", "contoso east"]),
        ("numberofemployees eq null", ["O'Neil 50%"]),
        ("telephone1 ne null", ["Fabrikam"]),
        ("startswith(name,'CONTOSO')", ["Contoso", "contoso east"]),
        ("endswith(name,'east')", ["contoso east"]),
        ("contains(name,'50%')", ["O'Neil 50%"]),
        ("contains(name,'o''n')", ["O'Neil 50%"]),
        ("donotemail eq true", ["Contoso"]),
        ("not (numberofemployees lt 10) and revenue eq null", ["contoso east"]),
        ("(name eq 'Fabrikam' or name eq 'Contoso') and numberofemployees gt 5", ["Contoso"]),
    ],
)
def test_filters_run_against_sqlite(engine: Engine, text: str, expected: list[str]) -> None:
    assert names(engine, text) == expected


def test_unknown_property_and_type_mismatch(engine: Engine) -> None:
    # Troubleshoot Dataverse Web API client errors: "Could not find a property named '{name}' on type ..."
    with pytest.raises(errors.DataverseError) as info:
        names(engine, "Name eq 'x'")
    assert info.value.code == "0x80060888"
    assert (
        info.value.message
        == "Could not find a property named 'Name' on type 'Microsoft.Dynamics.CRM.account'."
    )
    with pytest.raises(errors.DataverseError) as info:
        names(engine, "numberofemployees eq 'ten'")
    assert "incompatible types" in info.value.message
    with pytest.raises(errors.DataverseError):
        names(engine, "parentaccountid eq null")  # a lookup is filtered as _parentaccountid_value


def test_select_and_orderby_validation() -> None:
    assert parse_select("name,_ownerid_value", ACCOUNT) == ["name", "_ownerid_value"]
    with pytest.raises(errors.DataverseError):
        parse_select("ownerid", ACCOUNT)
    order = parse_orderby("name desc, createdon", ACCOUNT)
    assert [(o.prop, o.descending) for o in order] == [("name", True), ("createdon", False)]
    with pytest.raises(errors.DataverseError):
        parse_orderby("name sideways", ACCOUNT)
