from __future__ import annotations

import pytest

from shared.sources.x2crm.errors import PagingStalled
from shared.sources.x2crm.paging import PagePaging


def _rows(*ids: int) -> list[dict[str, object]]:
    return [{"id": str(i)} for i in ids]


def test_short_page_is_the_last() -> None:
    p = PagePaging(limit=3)
    assert p.params() == {"_page": 0, "_limit": 3, "_order": "+id"}
    assert len(p.accept(_rows(1, 2, 3))) == 3
    assert p.params()["_page"] == 1 and not p.done
    assert len(p.accept(_rows(4))) == 1
    assert p.done


def test_clamped_repeat_of_the_last_page_ends_the_read_without_duplicates() -> None:
    """CPagination answers a page past the end with the last page again (validateCurrentPage)."""
    p = PagePaging(limit=2)
    p.accept(_rows(1, 2))
    p.accept(_rows(3, 4))
    assert p.accept(_rows(3, 4)) == []
    assert p.done


def test_limit_is_capped_at_1000() -> None:
    assert PagePaging(limit=5000).limit == 1000


def test_ids_going_backwards_stop_the_read() -> None:
    p = PagePaging(limit=2)
    p.accept(_rows(5, 6))
    with pytest.raises(PagingStalled):
        p.accept(_rows(1, 2))


def test_resume_filters_past_the_last_id_from_page_zero() -> None:
    p = PagePaging.resume({"page": 7, "last_id": 42}, limit=10)
    assert p.params() == {"_page": 0, "_limit": 10, "_order": "+id", "id": ">42"}
    assert p.accept(_rows(43, 44)) and p.checkpoint()["last_id"] == 44
