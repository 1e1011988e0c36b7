from __future__ import annotations

from datetime import UTC, datetime

import pytest

from intact.host import CronError, CronSchedule
from intact.host._routes import Route

T0 = datetime(2026, 1, 2, 10, 3, 7, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("0 */5 * * * *", datetime(2026, 1, 2, 10, 5, 0, tzinfo=UTC)),
        ("*/10 * * * * *", datetime(2026, 1, 2, 10, 3, 10, tzinfo=UTC)),
        ("0 0 9,17 * * *", datetime(2026, 1, 2, 17, 0, 0, tzinfo=UTC)),
        ("30 0 9 * * 1-5", datetime(2026, 1, 5, 9, 0, 30, tzinfo=UTC)),  # next weekday morning
        ("0 0 0 1 3 *", datetime(2026, 3, 1, 0, 0, 0, tzinfo=UTC)),
        ("0 0 12 * * 0", datetime(2026, 1, 4, 12, 0, 0, tzinfo=UTC)),  # Sunday
    ],
)
def test_ncrontab_next_occurrence(expression: str, expected: datetime) -> None:
    assert CronSchedule.parse(expression).next_after(T0) == expected


@pytest.mark.parametrize("expression", ["* * * * *", "61 * * * * *", "*/0 * * * * *", "a * * * * *"])
def test_bad_schedules_are_refused(expression: str) -> None:
    with pytest.raises(CronError):
        CronSchedule.parse(expression)


def test_route_templates() -> None:
    assert Route.compile("migrations/{id}").match("migrations/m-1") == {"id": "m-1"}
    assert Route.compile("migrations/{id}").match("migrations/m-1/rollback") is None
    assert Route.compile("migrations/{id}/rollback").match("Migrations/m-1/rollback/") == {"id": "m-1"}
    assert Route.compile("items/{n:int?}").match("items") == {}
    assert Route.compile("files/{*path}").match("files/a/b") == {"path": "a/b"}
