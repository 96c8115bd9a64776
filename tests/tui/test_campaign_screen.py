"""Pilot tests of the campaign screen on the 60-user sample database."""

from __future__ import annotations

import csv

from test_segment_builder import fill_form
from tui_helpers import make_app, settle, text_of

from core.audience import campaigns as cmp
from core.store.db import open_db
from tui.screens.campaigns import CampaignsScreen

SIZE = (120, 40)


async def open_campaigns(app, pilot) -> CampaignsScreen:
    await settle(app, pilot)
    app.action_analytics("campaigns")
    await settle(app, pilot)
    assert isinstance(app.screen, CampaignsScreen)
    return app.screen


def row_of(screen, name: str) -> list[str]:
    table = screen.query_one("#campaigns")
    return [c.plain.strip() for c in table.get_row(name)]


def members(db, campaign: str) -> dict[str, str]:
    conn = open_db(db, readonly=True)
    try:
        rows = conn.execute(
            "SELECT user_id, role FROM campaign_members WHERE campaign = ?", (campaign,)
        )
        return dict(rows.fetchall())
    finally:
        conn.close()


async def create_and_add(app, pilot, screen) -> None:
    await pilot.press("n")
    await settle(app, pilot)
    await fill_form(app, pilot, name="spring", offer="20% off", start="2024-06-01")
    assert screen.highlighted() == "spring"
    await pilot.press("a")
    await settle(app, pilot)
    await fill_form(app, pilot, source="sh_buyers", holdout="10", within="", seed="0")


async def test_create_then_add_from_segment_with_holdout(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_campaigns(app, pilot)
        await create_and_add(app, pilot, screen)
        conn = open_db(sample_db, readonly=True)
        targets, control = cmp.counts(conn, "spring")
        conn.close()
        assert (targets, control) == (7, 3)  # seed 0 draws 3 of the 10 Shanghai users
        assert row_of(screen, "spring") == ["spring", "push", "draft", "2024-06-01", "7", "3"]
        report = text_of(screen.query_one("#report"))
        assert "10 matched · added 7 targets + 3 control · excluded 0" in report
        assert screen.query_one("#targets").row_count == 7
        assert screen.query_one("#audit").get_row_at(0)[2].plain == "add"


async def test_undo_removes_the_last_add(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_campaigns(app, pilot)
        await create_and_add(app, pilot, screen)
        await pilot.press("u")
        await settle(app, pilot)
        assert members(sample_db, "spring") == {}
        assert row_of(screen, "spring")[4:6] == ["0", "0"]


async def test_export_writes_targets_without_control(sample_db, tmp_path):
    app = make_app(sample_db)
    out = tmp_path / "spring.csv"
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_campaigns(app, pilot)
        await create_and_add(app, pilot, screen)
        await pilot.press("x")
        await settle(app, pilot)
        await fill_form(app, pilot, path=str(out), columns="user_id,city")
    with out.open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    roles = members(sample_db, "spring")
    assert rows[0] == ["user_id", "city"]
    assert sorted(r[0] for r in rows[1:]) == sorted(u for u, r in roles.items() if r == "target")
    assert all(roles[r[0]] == "target" and r[1] == "上海" for r in rows[1:])
    assert len(rows) == 1 + 7


async def test_send_locks_and_unlock_with_reason(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_campaigns(app, pilot)
        await create_and_add(app, pilot, screen)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert row_of(screen, "spring")[2] == "sent"
        await pilot.press("a")
        await settle(app, pilot)
        await fill_form(app, pilot, source="city = '北京'", holdout="10", within="", seed="0")
        assert set(members(sample_db, "spring")) and "u001" not in members(sample_db, "spring")
        assert any("locked" in str(n.message) for n in app._notifications)
        await pilot.press("U")
        await settle(app, pilot)
        await fill_form(app, pilot, reason="typo in the offer")
        assert row_of(screen, "spring")[2] == "draft"
        assert screen.query_one("#audit").get_row_at(0)[4].plain.endswith("typo in the offer")


async def test_effect_report_says_not_enough_data(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_campaigns(app, pilot)
        await create_and_add(app, pilot, screen)
        effect = text_of(screen.query_one("#effect"))
        assert "2024-06-02 – 2024-07-01 (30 days)" in effect  # from the day after the send
        assert "Not enough data: the target group has 7 users" in effect


async def test_bad_number_in_the_form_is_shown_at_the_field(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_campaigns(app, pilot)
        await create_and_add(app, pilot, screen)
        await pilot.press("a")
        await settle(app, pilot)
        form = app.screen
        await fill_form(app, pilot, source="sh_buyers", holdout="ten", within="", seed="0")
        assert app.screen is form  # the form stays open (issue 13 item 3), what was typed kept
        error = str(form.query_one("#e-holdout").render())
        assert "Holdout: 'ten' is not a number" in error
        assert form.query_one("#f-holdout").value == "ten"
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, CampaignsScreen)


async def test_enter_sets_the_current_campaign(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_campaigns(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.current_campaign == "summer"
        assert row_of(screen, "summer")[0] == "▶ summer"
        assert "current campaign: summer" in screen.query_one("StatusLine").text


async def test_targets_are_paged(sample_db, monkeypatch):
    monkeypatch.setattr("tui.screens.campaigns.PAGE_SIZE", 3)
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_campaigns(app, pilot)
        await create_and_add(app, pilot, screen)
        targets = screen.query_one("#targets")
        assert targets.border_title == "1–3 of 7"
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert targets.border_title == "4–6 of 7"
        first = targets.get_row_at(0)[0].plain
        await pilot.press("right_square_bracket", "right_square_bracket")
        await settle(app, pilot)
        assert targets.border_title == "7–7 of 7"  # the last page; a further ] stays
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert targets.get_row_at(0)[0].plain == first
