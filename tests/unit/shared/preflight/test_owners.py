from __future__ import annotations

from shared.preflight import blocking_owners, check_owners, owner_block_message
from shared.spec import OptionsSpec
from tests.unit.shared.preflight.conftest import owner_report

FALLBACK = OptionsSpec(fallback_owner="admin@contoso.example")
USERS = {"u_ok": ("matched", 5), "u_off": ("disabled", 2), "u_gone": ("unmatched", 3)}


def test_COM_20_a_disabled_owner_with_a_fallback_is_a_warning_naming_the_source_user() -> None:
    out, _ = check_owners(owner_report(USERS), FALLBACK, {"u_off": ["lead_2", "lead_9"]})
    [(severity, f)] = [(s, f) for s, f in out if f.code == "owner_disabled"]
    assert severity == "warning" and f.requirement == "COM-20"
    assert f.records == 2 and f.source_ids == ["lead_2", "lead_9"]
    assert f.details == {"source_user_id": "u_off", "status": "disabled", "fallback_applied": True}
    assert "disabled" in f.message and "fallback owner" in f.message


def test_COM_20_a_disabled_owner_without_a_fallback_blocks() -> None:
    out, _ = check_owners(owner_report(USERS, fallback=None), OptionsSpec())
    assert ("blocking", "owner_disabled") in [(s, f.code) for s, f in out]


def test_COM_19_an_unknown_owner_with_a_fallback_is_a_warning() -> None:
    out, summary = check_owners(owner_report(USERS), FALLBACK)
    [(severity, f)] = [(s, f) for s, f in out if f.code == "owner_unmatched"]
    assert severity == "warning" and f.requirement == "COM-19" and f.records == 3
    assert summary["records_to_fallback"] == 5


def test_COM_19_an_unknown_owner_without_a_fallback_blocks() -> None:
    out, summary = check_owners(owner_report(USERS, fallback=None), OptionsSpec())
    [(severity, f)] = [(s, f) for s, f in out if f.code == "owner_unmatched"]
    assert severity == "blocking" and "options.fallback_owner" in f.message
    assert summary["records_to_fallback"] == 0 and summary["fallback_owner"] == "not set"


def test_COM_19_unmatched_owner_block_blocks_even_with_a_fallback() -> None:
    opts = OptionsSpec(fallback_owner="admin@contoso.example", unmatched_owner="block")
    out, _ = check_owners(owner_report(USERS), opts)
    assert sorted((s, f.code) for s, f in out) == [
        ("blocking", "owner_disabled"),
        ("blocking", "owner_unmatched"),
    ]


def test_COM_19_an_unusable_fallback_owner_blocks() -> None:
    report = owner_report(USERS, fallback=None, fallback_status="disabled")
    out, _ = check_owners(report, FALLBACK)
    assert ("blocking", "fallback_owner_unusable") in [(s, f.code) for s, f in out]
    assert owner_block_message(report, FALLBACK) == (
        "the fallback owner is disabled in the target org; name an enabled user"
    )


def test_COM_18_summary_counts_users_and_records_per_status() -> None:
    _, summary = check_owners(owner_report(USERS), FALLBACK)
    assert summary["users"] == {"matched": 1, "unmatched": 1, "disabled": 1, "no_email": 0, "no_owner": 0}
    assert summary["records"] == {"matched": 5, "unmatched": 3, "disabled": 2, "no_email": 0, "no_owner": 0}


def test_COM_17_records_without_an_owner_are_reported_without_a_user_id() -> None:
    out, _ = check_owners(owner_report({"(none)": ("no_owner", 4)}), FALLBACK)
    [(_, f)] = out
    assert f.code == "owner_no_owner" and f.details["source_user_id"] is None and f.records == 4


def test_COM_19_the_owners_step_message_is_unchanged() -> None:
    """The owners step (enforce=True) still raises what it raised before preflight existed."""
    report = owner_report({"(none)": ("no_owner", 1), **USERS}, fallback=None)
    assert blocking_owners(report, OptionsSpec()) == ["(no owner)", "u_gone", "u_off"]
    assert owner_block_message(report, OptionsSpec()) == (
        "3 source owner(s) have no enabled Dataverse user ((no owner), u_gone, u_off) and no "
        "fallback_owner is set in the spec options: provision the users or set options.fallback_owner"
    )
    assert owner_block_message(owner_report(USERS), FALLBACK) is None


def test_X2_16_CLOSE_20_the_source_rule_blocks_unless_the_spec_chooses_fallback() -> None:
    from shared.mapping import load_profile
    from shared.preflight import owner_policy

    for source, req in (("x2crm", "X2-16"), ("close", "CLOSE-20")):
        policy = owner_policy(FALLBACK, load_profile(source))  # the spec leaves unmatched_owner unset
        out, _ = check_owners(owner_report(USERS), FALLBACK, policy=policy)
        [(severity, f)] = [(s, f) for s, f in out if f.code == "owner_unmatched"]
        assert severity == "blocking" and req in f.message
        chosen = OptionsSpec(fallback_owner="admin@contoso.example", unmatched_owner="fallback")
        out, _ = check_owners(owner_report(USERS), chosen, policy=owner_policy(chosen, load_profile(source)))
        assert {s for s, f in out if f.code == "owner_unmatched"} == {"warning"}


def test_SD_13_only_deals_and_activities_wait_for_their_owners() -> None:
    from shared.mapping import load_profile
    from shared.preflight import owner_policy

    policy = owner_policy(FALLBACK, load_profile("smartdesk"))
    assert set(policy.objects) == {"deals", "tasks", "activities"}
    # u_off owns only contacts (fallback takes them); u_gone owns a deal (its import waits)
    out, summary = check_owners(
        owner_report(USERS), FALLBACK, policy=policy, in_scope={"u_off": 0, "u_gone": 1}
    )
    severity = {f.code: s for s, f in out}
    assert severity == {"owner_disabled": "warning", "owner_unmatched": "blocking"}
    assert summary["records_to_fallback"] == 2 and summary["blocking_objects"] == [
        "deals",
        "tasks",
        "activities",
    ]
