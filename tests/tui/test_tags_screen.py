"""Pilot tests of the tags screen on the 60-user sample database (tests/tui/conftest.py)."""

from __future__ import annotations

from tui_helpers import make_app, settle

from core.rules import tags
from core.store.db import open_db

SIZE = (120, 40)


async def open_tags(app, pilot) -> None:
    await settle(app, pilot)
    await pilot.press("T")
    await settle(app, pilot)
    assert type(app.screen).__name__ == "TagsScreen"


async def test_tags_by_dimension_with_counts_and_shares(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_tags(app, pilot)
        table = app.screen.query_one("#tags")
        rows = [[cell.plain for cell in table.get_row_at(i)[:4]] for i in range(table.row_count)]
        # ten users live in 上海 (every sixth); dimensions in the order basic → predictive
        assert rows[0] == ["basic", "shanghai", "10", "16.7%"]
        assert [r[1] for r in rows] == ["shanghai", "night_buyer", "big_spender", "churn_risk"]
        assert [r[0] for r in rows] == ["basic", "behavioural", "result", "predictive"]


async def test_enter_lists_the_users_holding_the_tag(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_tags(app, pilot)
        await pilot.press("enter")  # shanghai
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert type(app.screen).__name__ == "UsersScreen"
        assert app.screen.matching == 10
        assert app.screen.query_one("#condition").value == 'tag "shanghai"'


async def test_a_predictive_tag_shows_its_model_value_distribution(sample_db):
    conn = open_db(sample_db, readonly=True)
    expected = tags.value_distribution(conn, "p_alive")
    conn.close()
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_tags(app, pilot)
        histogram = app.screen.query_one("Histogram")
        assert not histogram.display  # shanghai is a basic tag: no model value
        await pilot.press("down", "down", "down")  # churn_risk: p_alive < 0.3
        await settle(app, pilot)
        assert histogram.display
        assert histogram.distribution == expected
        assert sum(expected.counts) == 48 and expected.missing == 12  # buyers have a p_alive
        about = str(app.screen.query_one("#about").render())
        assert "p_alive < 0.3" in about and "12 without a value" in about
        assert "likely gone" in about  # the whole description, which the table can cut


async def test_the_distribution_counts_users_in_the_apps_language(sample_db):
    app = make_app(sample_db, lang="zh")
    async with app.run_test(size=SIZE) as pilot:
        await open_tags(app, pilot)
        await pilot.press("down", "down", "down")  # churn_risk
        await settle(app, pilot)
        histogram = app.screen.query_one("Histogram")
        shown = histogram.render()
        assert "p_alive · 48 用户" in shown.plain  # it said "48 users"


async def test_escape_goes_back(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_tags(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "UsersScreen"


async def test_help_lists_the_keys_of_the_screen(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_tags(app, pilot)
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "HelpModal"
        assert "## Tags" in app.screen.text and "Count the tags again" in app.screen.text


async def test_tags_that_cannot_apply_say_not_measured(tmp_path):
    """issue 13, 10: on order-only data the cart and coupon tags read 'not measured', not 0.0%."""
    from tui_helpers import AS_OF, make_app, settle

    from core.ingest.importer import import_files
    from core.pipeline import recompute
    from core.rules.tags import install_defaults_once
    from core.store.db import open_db

    orders = tmp_path / "o.csv"
    orders.write_text(
        "user_id,amount,created_at\n1,100,2024-06-01 10:00:00\n2,8,2024-05-25 23:13:00\n"
    )
    db = tmp_path / "retail.db"
    conn = open_db(db, create=True)
    import_files(conn, orders=orders)
    install_defaults_once(conn, as_of=AS_OF)
    recompute(conn, AS_OF)
    conn.close()
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.action_analytics("tags")
        await settle(app, pilot)
        table = app.screen.query_one("#tags")
        share = {str(k.value): table.get_row(k)[3].plain for k in table.rows}
        assert share["加购未付"] == share["优惠券用户"] == share["iOS用户"] == "not measured"
        assert share["高复购"] == "0.0%" and share["夜猫子"] == "0.0%"
