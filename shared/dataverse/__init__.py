"""The Dataverse side: authentication, a paced Web API client, and the isolating bulk writer."""

from shared.dataverse._auth import StaticToken, TokenProvider, token_provider_for
from shared.dataverse._client import DataverseClient, RequestStats, RetryPolicy
from shared.dataverse._errors import error_for_response
from shared.dataverse._files import (
    BLOCK_BYTES,
    INLINE_MAX_BYTES,
    MAX_UPLOAD_CEILING,
    base64_length,
    upload_note_file,
)
from shared.dataverse._writer import RowOutcome, RowWrite, WriteResult, failing_field, write_rows
from shared.dataverse.capabilities import Capabilities

__all__ = [
    "BLOCK_BYTES",
    "INLINE_MAX_BYTES",
    "MAX_UPLOAD_CEILING",
    "Capabilities",
    "DataverseClient",
    "RequestStats",
    "RetryPolicy",
    "RowOutcome",
    "RowWrite",
    "StaticToken",
    "TokenProvider",
    "WriteResult",
    "base64_length",
    "error_for_response",
    "failing_field",
    "token_provider_for",
    "upload_note_file",
    "write_rows",
]
