"""Read-back verification of activity parties (INT-12, COM-01): the party collection is not compared
as a column; each party sent must be among the activity's activityparties."""

from __future__ import annotations

from typing import Any

from shared.mapping import load_profile
from shared.migration.verify import verify_loaded
from shared.storage import IdMapEntry

EMAIL = "0a2b7c1e-0000-4000-8000-00000000e001"
USER = "0a2b7c1e-0000-4000-8000-0000000d1502"
SENT = [
    {"participationtypemask": 1, "addressused": "jane@x.example"},
    {"participationtypemask": 2, "addressused": "bob@y.example"},
    {"participationtypemask": 3, "partyid_systemuser@odata.bind": f"/systemusers({USER})"},
]


class _Store:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def list(self, prefix: str) -> list[str]:
        return [f"{prefix}00000.ndjson.gz"]

    def get_records(self, path: str) -> list[dict[str, Any]]:
        return self.rows


class _IdMap:
    def entries(self, object_name: str) -> list[IdMapEntry]:
        return [IdMapEntry("activities", "acti_1", "email", EMAIL, "r1")]

    def get(self, object_name: str, source_id: str) -> None:
        return None


class _Dataverse:
    def __init__(self, parties: list[dict[str, Any]]) -> None:
        self.parties = parties
        self.selected: list[str] = []
        self.queries: list[tuple[str, str | None]] = []

    def get_by_ids(
        self, entity_set: str, id_column: str, ids: list[str], select: list[str]
    ) -> dict[str, dict[str, Any]]:
        self.selected = select
        return {EMAIL: {"activityid": EMAIL, "subject": "Proposal"}}

    def list_all(
        self, entity_set: str, *, select: list[str], filter: str | None = None
    ) -> list[dict[str, Any]]:
        self.queries.append((entity_set, filter))
        return [{"_activityid_value": EMAIL.upper(), **p} for p in self.parties]


def _check(back: list[dict[str, Any]]) -> tuple[Any, _Dataverse]:
    row = {
        "source_id": "acti_1",
        "table": "email",
        "entity_set": "emails",
        "id": EMAIL,
        "primary_id": "activityid",
        "payload": {"activityid": EMAIL, "subject": "Proposal", "email_activity_parties": SENT},
    }
    obj = load_profile("close").object("activities")
    assert obj is not None
    dv = _Dataverse(back)
    result = verify_loaded(dv, _Store([row]), _IdMap(), "p", "close", obj, "r1", 10)  # type: ignore[arg-type]
    return result, dv


def test_INT_12_parties_are_read_back_from_activityparties_not_as_a_column() -> None:
    back = [
        {"participationtypemask": 1, "addressused": "Jane@X.example", "_partyid_value": None},
        {"participationtypemask": 2, "addressused": "bob@y.example", "_partyid_value": None},
        {"participationtypemask": 3, "addressused": None, "_partyid_value": USER},
        # parties Dataverse adds itself (owner, regarding) do not count against the row
        {"participationtypemask": 9, "addressused": None, "_partyid_value": USER},
    ]
    result, dv = _check(back)
    assert "email_activity_parties" not in dv.selected
    assert dv.queries == [("activityparties", f"_activityid_value eq {EMAIL}")]
    assert result.checked == 1 and result.missing == 0 and not result.mismatched


def test_INT_12_a_missing_party_is_a_mismatch_of_the_collection() -> None:
    back = [
        {"participationtypemask": 1, "addressused": "jane@x.example", "_partyid_value": None},
        {"participationtypemask": 3, "addressused": "bob@y.example", "_partyid_value": None},  # wrong type
        {"participationtypemask": 3, "addressused": None, "_partyid_value": USER},
    ]
    result, _ = _check(back)
    assert result.mismatched == {"email_activity_parties": 1}
    assert result.problems("activities") == [
        "activities: 1 of 1 sampled rows read back a different email_activity_parties"
    ]
