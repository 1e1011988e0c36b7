"""The one place that builds Dataverse-shaped error responses.

Dataverse answers every failure with `{"error": {"code": "0x…", "message": "…"}}` (see
powerapps-docs `webapi/compose-http-requests-handle-errors.md`, "Parse errors from the response").
Codes and messages below follow Microsoft's documentation where it states them; the source is noted
next to each builder. Keeping them here lets tests and README cite one table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PAYLOAD_HELP = "https://go.microsoft.com/fwlink/?linkid=2195293"


@dataclass
class DataverseError(Exception):
    """An error to send back as-is: HTTP status, Dataverse hex code, message, extra headers."""

    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


# --- routing / OData syntax (troubleshoot: "Troubleshoot Dataverse Web API client errors") ---------


def resource_not_found(segment: str) -> DataverseError:
    return DataverseError(404, "0x8006088a", f"Resource not found for the segment '{segment}'.")


def property_not_found(name: str, logical_name: str) -> DataverseError:
    """Unknown name in $select/$filter/$orderby."""
    return DataverseError(
        400,
        "0x80060888",
        f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{logical_name}'.",
    )


def query_syntax(message: str) -> DataverseError:
    return DataverseError(400, "0x80060888", message)


def method_not_allowed(method: str, path: str) -> DataverseError:
    return DataverseError(405, "0x80060888", f"The HTTP method '{method}' is not supported for '{path}'.")


def not_implemented(what: str) -> DataverseError:
    return DataverseError(501, "0x80040216", f"{what} is not implemented by the Dataverse emulator.")


# --- payload deserialization (0x80048d19, same troubleshoot page) ----------------------------------


def payload_error(entity_set: str, inner: str) -> DataverseError:
    return DataverseError(
        400,
        "0x80048d19",
        f"Error identified in Payload provided by the user for Entity :'{entity_set}', For more information "
        f"on this error please follow this help link {PAYLOAD_HELP}  ---->  InnerException : {inner}",
    )


def unknown_property(entity_set: str, name: str, logical_name: str) -> DataverseError:
    return payload_error(
        entity_set,
        f"Microsoft.OData.ODataException: The property '{name}' does not exist on type "
        f"'Microsoft.Dynamics.CRM.{logical_name}'. Make sure to only use property names that are "
        "defined by the type or mark the type as open type.",
    )


def undeclared_annotation_property(entity_set: str, name: str) -> DataverseError:
    return payload_error(
        entity_set,
        f"Microsoft.OData.ODataException: An undeclared property '{name}' which only has property "
        "annotations in the payload but no property value was found in the payload. In OData, only "
        "declared navigation properties and declared named streams can be represented as properties "
        "without values.",
    )


def wrong_type(entity_set: str, value: Any, edm_type: str) -> DataverseError:
    return payload_error(
        entity_set,
        f"Microsoft.OData.ODataException: Cannot convert the literal '{value}' to the expected type "
        f"'{edm_type}'.",
    )


def invalid_json(entity_set: str, detail: str) -> DataverseError:
    return payload_error(entity_set, f"Microsoft.OData.ODataException: Invalid JSON. {detail}")


# --- platform validation (0x80044331 "A validation error occurred.", notes/dataverse.md) -------------


def too_long(attr: str, logical_name: str, max_length: int) -> DataverseError:
    return DataverseError(
        400,
        "0x80044331",
        f"A validation error occurred. The length of the '{attr}' attribute of the '{logical_name}' entity "
        f"exceeded the maximum allowed length of '{max_length}'.",
    )


def out_of_range(attr: str, logical_name: str, value: Any) -> DataverseError:
    return DataverseError(
        400,
        "0x80044331",
        f"A validation error occurred. The value {value} of '{attr}' on record of type '{logical_name}' "
        "is outside the valid range.",
    )


def option_out_of_range(attr: str, logical_name: str, value: Any, allowed: list[int]) -> DataverseError:
    """PicklistValueOutOfRange, 0x8004431A."""
    accepted = ",".join(str(v) for v in allowed)
    return DataverseError(
        400,
        "0x8004431A",
        f"A validation error occurred. The value {value} of '{attr}' on record of type '{logical_name}' "
        f"is outside the valid range. Accepted Values: {accepted}",
    )


# --- records (ObjectDoesNotExist 0x80040217, DuplicateRecord 0x80040237) ---------------------------


def record_not_found(logical_name: str, record_id: str) -> DataverseError:
    return DataverseError(404, "0x80040217", f"{logical_name} With Id = {record_id} Does Not Exist")


def records_not_found(logical_name: str, record_ids: list[str]) -> DataverseError:
    """UpdateMultiple wording, from powerapps-docs bulk-operations.md "Troubleshooting common errors"."""
    ids = ", ".join(record_ids)
    return DataverseError(404, "0x80040217", f"{logical_name} With Ids = {ids} Do Not Exist")


def duplicate_record(bulk: bool = False) -> DataverseError:
    """412 + DuplicateRecord (compose-http-requests-handle-errors: 412 lists DuplicateRecord;
    perform-conditional-operations-using-web-api shows the message)."""
    message = "Cannot insert duplicate key." if bulk else "A record with matching key values already exists."
    return DataverseError(412, "0x80040237", message)


def version_mismatch() -> DataverseError:
    """ConcurrencyVersionMismatch (412, compose-http-requests-handle-errors)."""
    return DataverseError(
        412,
        "0x80060882",
        "The version of the existing record doesn't match the RowVersion property provided.",
    )


def user_disabled(user_id: str) -> DataverseError:
    return DataverseError(
        400,
        "0x80040225",
        f"The specified user(Id = {user_id}) is disabled. Consider enabling this user.",
    )


def invalid_argument(message: str) -> DataverseError:
    return DataverseError(400, "0x80040203", message)


# --- identity and service protection (api-limits.md) ----------------------------------------------


def unauthorized(resource: str) -> DataverseError:
    """AccessTokenExpired, 0x8005F101 (web-service-error-codes)."""
    return DataverseError(
        401,
        "0x8005F101",
        "The requested resource requires authentication.",
        headers={
            "WWW-Authenticate": (
                "Bearer authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize, "
                f"resource_id={resource}"
            )
        },
    )


def too_many_requests(limit: int, window_s: float, retry_after: int) -> DataverseError:
    return DataverseError(
        429,
        "0x80072322",
        f"Number of requests exceeded the limit of {limit} over time window of {_secs(window_s)} seconds.",
        headers={"Retry-After": str(retry_after)},
    )


def execution_time_exceeded(limit_ms: int, window_s: float, retry_after: int) -> DataverseError:
    return DataverseError(
        429,
        "0x80072321",
        f"Combined execution time of incoming requests exceeded limit of {limit_ms:,} milliseconds over "
        f"time window of {_secs(window_s)} seconds. Decrease number of concurrent requests or reduce the "
        "duration of requests and try again later.",
        headers={"Retry-After": str(retry_after)},
    )


def too_many_concurrent(limit: int, retry_after: int) -> DataverseError:
    return DataverseError(
        429,
        "0x80072326",
        f"Number of concurrent requests exceeded the limit of {limit}.",
        headers={"Retry-After": str(retry_after)},
    )


def service_unavailable() -> DataverseError:
    return DataverseError(
        503,
        "0x80040216",
        "An unexpected error occurred. The service is unavailable.",
        headers={"Retry-After": "1"},
    )


def _secs(window_s: float) -> str:
    return str(int(window_s)) if float(window_s).is_integer() else f"{window_s:g}"
