"""Pilot tests of the user profile screen: layer rules, RFM standing, memberships, sparkline."""

from __future__ import annotations

from tui_helpers import make_app, settle, text_of

from tui.screens.profile import ProfileScreen


async def open_profile(app, pilot, user_id: str) -> ProfileScreen:
    await settle(app, pilot)
    app.open_profile(user_id)
    await settle(app, pilot)
    return app.screen


async def test_layer_rule_and_earlier_rules_not_met(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_profile(app, pilot, "u001")
        layer = text_of(screen.query_one("#section-layer_rule"))
        assert "✓ active: logins_30d >= 10" in layer
        assert "✗ buyer: orders_30d > 0" in layer
        assert "churned" not in layer  # rules after the placing one are not listed


async def test_memberships_and_campaign_role(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_profile(app, pilot, "u001")
        shown = text_of(screen.query_one("#section-segments"))
        assert "summer · target · 2024-06-02" in shown
        assert "Segments  none" in shown
        app.pop_screen()
        screen = await open_profile(app, pilot, "u006")  # lives in 上海
        assert "sh_buyers" in text_of(screen.query_one("#section-segments"))


async def test_behaviour_names_columns_as_the_language_does(sample_db):
    from core.store.db import open_db

    conn = open_db(sample_db)
    logins, since = conn.execute(
        "SELECT logins_30d, days_since_login FROM features WHERE user_id = 'u004'"
    ).fetchone()
    conn.close()
    app = make_app(sample_db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_profile(app, pilot, "u004")
        lines = text_of(screen.query_one("#section-behaviour")).strip().splitlines()
        shown = dict(line.strip().rsplit(maxsplit=1) for line in lines)  # label -> value
        assert shown["logins in 30 days"] == str(logins)
        assert shown["share of night orders"] == "60%"  # u004: i % 4 == 0
        assert shown.get("days since last login") == (None if since is None else str(since))
        assert "days since last view" not in shown  # no value stored: no row


async def test_timeline_and_sparkline(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_profile(app, pilot, "u004")
        data = screen.query_one("Sparkline").data
        assert len(data) == 24
        assert data == [n for _, n in screen.profile.monthly_activity]
        assert data[-1] >= 3  # three logins in June 2024 at least
        timeline = text_of(screen.query_one("#section-timeline"))
        assert "o004-0" in timeline and "login" in timeline


async def test_chinese_labels(sample_db):
    app = make_app(sample_db, lang="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_profile(app, pilot, "u004")
        assert "购买用户" in text_of(screen.query_one("#title"))
        assert "重要价值客户" in text_of(screen.query_one("#section-rfm"))


async def test_unknown_user_is_a_notification_not_a_crash(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_profile(app, pilot, "nobody")
        assert [n.title for n in app._notifications] == ["Not found"]
