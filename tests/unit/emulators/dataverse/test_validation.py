"""Payload validation against table metadata, without HTTP.

Error shapes: troubleshoot page "Troubleshoot Dataverse Web API client errors" (0x80048d19 payload
errors with an InnerException), notes/dataverse.md (0x80044331 "A validation error occurred.").
"""

from __future__ import annotations

import pytest

from emulators.dataverse import errors
from emulators.dataverse.metadata import MetadataRegistry
from emulators.dataverse.validation import LookupRef, parse_bind_path, validate_payload

REGISTRY = MetadataRegistry.load()
SETS = {t.entity_set: t.logical_name for t in REGISTRY.tables()}
ACCOUNT = REGISTRY.by_logical("account")
CONTACT = REGISTRY.by_logical("contact")
GUID = "6a7df30a-d6eb-f011-8407-7c1e52759e27"


def check(table, body, mode="create"):
    return validate_payload(table, body, mode, SETS)


def test_converts_known_types() -> None:
    changes = check(
        ACCOUNT,
        {
            "name": "A",
            "numberofemployees": 5,
            "revenue": 12.5,
            "donotemail": True,
            "accountcategorycode": 1,
            "overriddencreatedon": "2020-05-06T07:08:09+02:00",
            "accountid": GUID.upper(),
            "@odata.type": "Microsoft.Dynamics.CRM.account",
        },
    )
    assert changes.values["overriddencreatedon"] == "2020-05-06T05:08:09Z"
    assert changes.values["accountid"] == GUID
    assert changes.values["donotemail"] is True


def test_lookup_binds_use_navigation_names() -> None:
    changes = check(
        CONTACT,
        {
            "parentcustomerid_account@odata.bind": f"/accounts({GUID})",
            "ownerid@odata.bind": f"systemusers({GUID})",
        },
    )
    assert changes.lookups["parentcustomerid"] == LookupRef("parentcustomerid", "account", GUID)
    assert changes.lookups["ownerid"] == LookupRef("ownerid", "systemuser", GUID)


def test_bind_path_forms() -> None:
    assert parse_bind_path(f"/accounts({GUID})") == ("accounts", GUID)
    assert parse_bind_path(f"https://org.crm.dynamics.com/api/data/v9.2/accounts({GUID})") == (
        "accounts",
        GUID,
    )
    assert parse_bind_path("/accounts(accountnumber='x')") is None


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        (
            {"nme": "x"},
            "0x80048d19",
            "The property 'nme' does not exist on type 'Microsoft.Dynamics.CRM.account'",
        ),
        ({"parentaccountid": GUID}, "0x80048d19", "The property 'parentaccountid' does not exist"),
        ({"_parentaccountid_value": GUID}, "0x80048d19", "does not exist"),
        ({"foo@odata.bind": f"/accounts({GUID})"}, "0x80048d19", "An undeclared property 'foo'"),
        (
            {"numberofemployees": "ten"},
            "0x80048d19",
            "Cannot convert the literal 'ten' to the expected type 'Edm.Int32'",
        ),
        ({"numberofemployees": True}, "0x80048d19", "Edm.Int32"),
        ({"donotemail": "yes"}, "0x80048d19", "Edm.Boolean"),
        ({"name": 5}, "0x80048d19", "Edm.String"),
        ({"revenue": "12"}, "0x80048d19", "Edm.Decimal"),
        ({"accountid": "not-a-guid"}, "0x80048d19", "Edm.Guid"),
        ({"overriddencreatedon": "yesterday"}, "0x80048d19", "Edm.DateTimeOffset"),
        (
            {"name": "x" * 161},
            "0x80044331",
            "The length of the 'name' attribute of the 'account' entity exceeded the maximum allowed "
            "length of '160'",
        ),
        ({"numberofemployees": -1}, "0x80044331", "is outside the valid range"),
        (
            {"accountcategorycode": 99},
            "0x8004431A",
            "The value 99 of 'accountcategorycode' on record of type 'account' is outside the valid range",
        ),
        (
            {"parentaccountid@odata.bind": f"/contacts({GUID})"},
            "0x80048d19",
            "cannot refer to entity set 'contacts'",
        ),
    ],
)
def test_rejections(body: dict, code: str, fragment: str) -> None:
    with pytest.raises(errors.DataverseError) as info:
        check(ACCOUNT, body)
    assert info.value.code == code
    assert fragment in info.value.message
    assert info.value.status == 400


def test_fields_not_valid_for_the_operation_are_ignored() -> None:
    changes = check(ACCOUNT, {"createdon": "2020-01-01T00:00:00Z", "statecode": 1, "name": "x"})
    assert changes.values == {"name": "x"}
    update = check(ACCOUNT, {"overriddencreatedon": "2020-01-01T00:00:00Z", "statecode": 1}, mode="update")
    assert update.values == {"statecode": 1}
