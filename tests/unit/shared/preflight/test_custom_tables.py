from __future__ import annotations

from shared.preflight import LICENCE_CAPS, check_custom_tables


def test_COM_11_sixteenth_custom_table_on_professional_blocks_and_names_the_surplus() -> None:
    existing = [f"new_t{i}" for i in range(14)]
    out, summary = check_custom_tables(["new_session", "new_programme"], existing, "professional")
    [(severity, f)] = out
    assert severity == "blocking"
    assert (f.check, f.requirement, f.code) == ("custom_tables", "COM-11", "custom_table_cap_exceeded")
    assert f.details["surplus"] == ["new_programme"]  # the 16th: the first planned table still fits
    assert "new_programme" in f.message and "merge" in f.message and "Enterprise" in f.message
    assert summary == {
        "licence": "professional",
        "licence_from_spec": True,
        "cap": 15,
        "existing": 14,
        "planned": 2,
        "planned_new": 2,
        "total": 16,
    }


def test_COM_11_fifteen_tables_fit_on_professional() -> None:
    out, summary = check_custom_tables(["new_session"], [f"new_t{i}" for i in range(14)], "professional")
    assert out == [] and summary["total"] == 15


def test_COM_11_a_planned_table_that_already_exists_counts_once() -> None:
    existing = [f"new_t{i}" for i in range(15)]
    out, summary = check_custom_tables(["new_t3", "NEW_T4"], existing, "professional")
    assert out == [] and summary["total"] == 15 and summary["planned_new"] == 0


def test_COM_11_existing_tables_already_over_the_cap_name_every_planned_table() -> None:
    out, _ = check_custom_tables(["new_a", "new_b"], [f"new_t{i}" for i in range(16)], "professional")
    assert out[0][1].details["surplus"] == ["new_a", "new_b"]


def test_COM_11_without_a_licence_the_enterprise_cap_is_assumed_with_a_warning() -> None:
    out, summary = check_custom_tables(["new_session"], [f"new_t{i}" for i in range(20)], None)
    [(severity, f)] = out
    assert severity == "warning" and f.code == "licence_not_set" and "options.licence" in f.message
    assert summary["cap"] == LICENCE_CAPS["enterprise"] == 500 and summary["licence_from_spec"] is False
