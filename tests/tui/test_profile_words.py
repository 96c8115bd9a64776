"""Predictions in words (issue 15): never a flat 100 %, a single purchase day said as such."""

from __future__ import annotations

from datetime import date

from core.views.profile import prediction_note
from tui.i18n import Labels
from tui.widgets.user_profile import chance_alive

EN = Labels("en")


def test_a_one_time_buyer_is_not_called_certainly_alive() -> None:
    # BG/NBD gives exactly 1 to every buyer without a repeat purchase
    assert chance_alive(1.0, "one_purchase", EN) == "one purchase only: the model cannot tell yet"
    assert chance_alive(0.42, "one_purchase", EN) == "42% (one purchase only: little information)"


def test_a_percentage_that_rounds_to_100_says_over_99() -> None:
    assert chance_alive(0.9996, None, EN) == "over 99%"
    assert chance_alive(0.994, None, EN) == "99%"
    assert chance_alive(0.9, "short_history", EN) == (
        "90% (first purchase under 30 days ago: little information)"
    )
    assert "100" not in chance_alive(0.99999, None, Labels("zh"))


def test_prediction_note_from_the_purchase_days() -> None:
    as_of = date(2024, 6, 30)
    one_day = {
        "p_alive": 1.0,
        "first_order_at": "2024-01-05 10:00",
        "last_order_at": "2024-01-05 18:00",
    }
    assert prediction_note(one_day, as_of) == "one_purchase"
    recent = {"p_alive": 0.9, "first_order_at": "2024-06-10", "last_order_at": "2024-06-20"}
    assert prediction_note(recent, as_of) == "short_history"
    settled = {"p_alive": 0.9, "first_order_at": "2024-01-10", "last_order_at": "2024-06-20"}
    assert prediction_note(settled, as_of) is None
    assert prediction_note({"p_alive": None}, as_of) is None  # no model output: nothing to say


def test_unmeasured_behaviour_is_named_not_zero() -> None:
    """issue 13, 10: a data set with orders and logins but no posts: the post columns are
    'not measured', the logins are shown as counted."""
    from core.views.profile import UserProfile
    from tui.widgets.user_profile import behaviour

    p = UserProfile(
        "u1", {}, {"logins_30d": 0, "days_since_active": 3}, None, None, [], {}, {}, [], [],
        [], [], [], unmeasured={"posts_30d": ("events", "post"), "favourite_category": ("events", "view/cart_add")},
    )  # fmt: skip
    grid = behaviour(p, EN)
    rows = [
        (str(grid.columns[0]._cells[i]), str(grid.columns[1]._cells[i]))
        for i in range(grid.row_count)
    ]
    assert ("logins in 30 days", "0") in rows
    assert ("not measured", "favourite category: no view / cart_add events in this data") in rows
    assert not any("posts" in label for label, _ in rows)  # posts_30d is not a behaviour row


def test_a_one_time_buyer_without_a_p_alive_estimate_is_said_so() -> None:
    """BG/NBD stores no P(alive) for a buyer without a repeat purchase (its 1 is an
    assumption): the profile says the model cannot tell, beside the expected purchases."""
    from core.views.profile import UserProfile
    from tui.widgets.user_profile import predictions

    feats = {
        "p_alive": None,
        "expected_purchases_30d": 0.16,
        "first_order_at": "2024-03-01 10:00",
        "last_order_at": "2024-03-01 10:00",
    }
    assert prediction_note(feats, date(2024, 6, 30)) == "one_purchase"
    p = UserProfile(
        "u1", {}, feats, None, None, [], {}, {}, [], [], [], [], [],
        prediction_model="bgnbd", prediction_note="one_purchase",
    )  # fmt: skip
    grid = predictions(p, EN)
    rows = [
        (str(grid.columns[0]._cells[i]), str(grid.columns[1]._cells[i]))
        for i in range(grid.row_count)
    ]
    assert rows[0] == (
        "chance the customer is still active",
        "one purchase only: the model cannot tell yet",
    )
    assert ("expected purchases in 30 days", "0.16") in rows
    assert rows[-1][1].startswith("BG/NBD")
