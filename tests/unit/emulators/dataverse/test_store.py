"""The emulator's store: a refused unit of work leaves nothing behind — not even a table it created."""

from __future__ import annotations

import pytest

from emulators.dataverse.store import Store


def test_a_rolled_back_first_write_does_not_leave_a_phantom_table() -> None:
    store = Store()
    with pytest.raises(RuntimeError), store.transaction():
        store.insert("contact", "c1", {"contactid": "c1"})
        raise RuntimeError("one bad row: the whole bulk request is refused")
    # the retry (the $batch with continue-on-error) must find an empty table, not a missing one
    assert store.get("contact", "c1") is None
    with store.transaction():
        store.insert("contact", "c2", {"contactid": "c2"})
    assert store.get("contact", "c2") == {"contactid": "c2"}
