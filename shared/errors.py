"""Intact's errors, arranged by what the caller should do about them.

    IntactError
    ├── RetryableError            wait and try again (the loader honours retry_after itself)
    │   ├── Throttled             429 from Dataverse or a source API, with retry_after seconds
    │   ├── ServiceUnavailable    5xx from a service
    │   └── TransientNetworkError timeouts, dropped connections
    ├── FatalError                stops the run; the message says what to fix
    │   ├── ConfigError           a spec or setting is wrong or missing
    │   ├── AuthError             credentials refused
    │   ├── SchemaConflict        the target's schema cannot take what the map needs
    │   ├── PreflightBlocked      a preflight check blocks the run
    │   ├── SourceFormatRefused   e.g. a Close CSV export (it lacks activity history)
    │   └── ReconciliationFailed  source != loaded + quarantined + skipped
    └── RecordError               one record cannot go in; it is quarantined, the run goes on
        ├── UnmappedValue, InvalidField, UnresolvedLookup, AttachmentTooLarge, MalformedRow
        └── TargetRejected        Dataverse refused the record (code + message kept)

Programming mistakes are not IntactErrors: let them crash.
Messages name records by source id and field, never by value (values can be personal data).
"""

from __future__ import annotations

from typing import Any


class IntactError(Exception):
    """Root of every error Intact raises on purpose."""

    code: str = "IntactError"

    def __str__(self) -> str:
        return f"[{self.code}] {super().__str__()}"


class RetryableError(IntactError):
    code = "Retryable"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Throttled(RetryableError):
    code = "Throttled"


class ServiceUnavailable(RetryableError):
    code = "ServiceUnavailable"


class TransientNetworkError(RetryableError):
    code = "TransientNetworkError"


class FatalError(IntactError):
    code = "Fatal"


class ConfigError(FatalError):
    code = "ConfigError"


class AuthError(FatalError):
    code = "AuthError"


class SchemaConflict(FatalError):
    code = "SchemaConflict"


class SchemaNotReady(FatalError):
    """The target lacks what the schema plan needs and the spec says the customer creates it."""

    code = "SchemaNotReady"


class PreflightBlocked(FatalError):
    code = "PreflightBlocked"


class SourceFormatRefused(FatalError):
    code = "SourceFormatRefused"


class ReconciliationFailed(FatalError):
    code = "ReconciliationFailed"


class TargetRequestFailed(FatalError):
    """Dataverse refused a request for a reason no retry or record isolation can fix."""

    code = "TargetRequestFailed"

    def __init__(
        self, message: str, *, status: int, error_code: str | None = None, dataverse_message: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.dataverse_message = dataverse_message


class RecordError(IntactError):
    """One record cannot be migrated as it is. Becomes a quarantine row, never stops a run."""

    code = "RecordError"

    def __init__(
        self,
        reason: str,
        *,
        source: str = "",
        object: str = "",
        source_id: str = "",
        field: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.source = source
        self.object = object
        self.source_id = source_id
        self.field = field

    def attrs(self) -> dict[str, Any]:
        """The fields a quarantine row and the reports read."""
        return {
            "error": self.code,
            "source": self.source,
            "object": self.object,
            "source_id": self.source_id,
            "field": self.field,
            "reason": self.reason,
        }


class UnmappedValue(RecordError):
    code = "UnmappedValue"


class InvalidField(RecordError):
    code = "InvalidField"


class UnresolvedLookup(RecordError):
    code = "UnresolvedLookup"


class AttachmentTooLarge(RecordError):
    code = "AttachmentTooLarge"


class MalformedRow(RecordError):
    code = "MalformedRow"


class TargetRejected(RecordError):
    """Dataverse rejected this one record; keeps Dataverse's error code."""

    code = "TargetRejected"

    def __init__(self, reason: str, *, error_code: str | None = None, **kw: Any) -> None:
        super().__init__(reason, **kw)
        self.error_code = error_code

    def attrs(self) -> dict[str, Any]:
        return {**super().attrs(), "dataverse_code": self.error_code}
