"""Pilot tests of navigation and freshness (issue 13, items 1-3) on the 60-user sample database:
Escape clears a filter; drill-downs are a screen of their own that Escape leaves; Enter on a
transitions cell lists who moved; writes in the app and in another process reload the lists;
a bad value in a form keeps the form open with the error at the field."""

from __future__ import annotations

from tui_helpers import AS_OF, settle, shown_ids

from core.rules import layers, tags
from core.store.db import open_db, transaction

SIZE = (120, 40)
SHANGHAI = ["u006", "u012", "u018", "u024", "u030", "u036", "u042", "u048", "u054", "u060"]


def make_app(db, **kw):
    from tui_helpers import make_app as make

    app = make(db, **kw)
    app.WATCH_INTERVAL = 0.1  # the data_version poll, quicker than the app's 1 s
    return app


def screen_names(app) -> list[str]:
    return [type(s).__name__ for s in app.screen_stack]


def status(app) -> str:
    return app.screen.query_one("StatusLine").text


def layer_of(db, user_id: str) -> str:
    conn = open_db(db, readonly=True)
    try:
        return conn.execute("SELECT layer FROM features WHERE user_id = ?", (user_id,)).fetchone()[
            0
        ]
    finally:
        conn.close()


async def typed_filter(app, pilot, text: str) -> None:
    await pilot.press("f", *text)
    await pilot.pause(0.3)  # the debounce
    await settle(app, pilot)
    await pilot.press("enter")
    await settle(app, pilot)


async def drilled(app, pilot) -> None:
    await pilot.pause(0.3)  # the list counts its condition after the debounce
    await settle(app, pilot)


# ---------------------------------------------------------------- 1. a filter can be cleared


async def test_escape_clears_an_applied_filter(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await typed_filter(app, pilot, "city = '上海'")
        assert shown_ids(app) == SHANGHAI
        assert app.focused is app.screen.query_one("UserTable")
        await pilot.press("escape")
        await settle(app, pilot)
        assert len(shown_ids(app)) == 60
        assert app.screen.matching == 60 and app.screen.listing.condition is None
        assert not app.screen.query_one("FilterBar").has_class("-shown")
        assert status(app).startswith("showing 1–60 of 60 · sample.db")
        await pilot.press("escape")  # nothing more to clear: the list stays
        await settle(app, pilot)
        assert len(shown_ids(app)) == 60 and screen_names(app) == ["UsersScreen"]


async def test_an_emptied_filter_lists_every_user_again(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f", *"city = '上海'")
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert shown_ids(app) == SHANGHAI
        await pilot.press(*["backspace"] * len("city = '上海'"))
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert app.screen.query_one("FilterBar").error is None  # not "The condition is empty"
        assert len(shown_ids(app)) == 60 and app.screen.matching == 60


async def test_a_typed_filter_says_what_the_list_is(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await typed_filter(app, pilot, "city = '上海'")
        assert status(app).startswith("city is 上海 · 10 users · showing 1–10 · sample.db")


async def test_a_tag_drill_down_is_a_list_that_escape_leaves(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("T")
        await settle(app, pilot)
        table = app.screen.query_one("#tags")
        table.move_cursor(row=table.get_row_index("shanghai"))
        await pilot.press("enter")
        await drilled(app, pilot)
        assert screen_names(app) == ["UsersScreen", "TagsScreen", "UsersScreen"]
        assert shown_ids(app) == SHANGHAI
        assert status(app).startswith("shanghai · 10 users · showing 1–10 · sample.db")
        await pilot.press("escape")
        await settle(app, pilot)
        assert screen_names(app) == ["UsersScreen", "TagsScreen"]
        assert app.screen.query_one("#tags").cursor_row == table.get_row_index("shanghai")
        await pilot.press("escape")
        await settle(app, pilot)
        assert screen_names(app) == ["UsersScreen"]
        assert len(shown_ids(app)) == 60  # the home list was never filtered


async def test_a_layer_overlap_drill_down_names_both_layers_in_chinese(sample_db):
    conn = open_db(sample_db, readonly=True)
    report = layers.mece_report(conn, AS_OF)
    conn.close()
    overlap = next(o for o in report.overlaps if (o.a, o.b) == ("buyer", "active"))
    app = make_app(sample_db, lang="zh")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        mece = app.screen.query_one("#mece")
        mece.move_cursor(row=mece.get_row_index("buyer|active"))
        await pilot.press("enter")
        await drilled(app, pilot)
        assert screen_names(app) == ["UsersScreen", "LayersScreen", "UsersScreen"]
        assert app.screen.matching == overlap.count > 0
        assert status(app).startswith(f"购买用户 ∩ 活跃用户 · {overlap.count} 用户 · ")
        await pilot.press("escape")
        await settle(app, pilot)
        assert screen_names(app) == ["UsersScreen", "LayersScreen"]


async def test_escape_in_a_drill_down_leaves_a_search_first(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("R")
        await settle(app, pilot)
        await pilot.press("down", "down", "enter")  # important retention
        await drilled(app, pilot)
        assert status(app).startswith("important retention · 12 users")
        await pilot.press("slash", *"王芳", "enter")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert screen_names(app) == ["UsersScreen", "RfmScreen", "UsersScreen"]
        assert app.screen.matching == 12 and len(shown_ids(app)) == 12
        await pilot.press("escape")
        await settle(app, pilot)
        assert screen_names(app) == ["UsersScreen", "RfmScreen"]


async def test_a_segment_overlap_drill_down_returns_to_the_builder(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("S")
        await settle(app, pilot)
        builder = app.screen
        builder.post_message(_open("city = '上海'", "sh_buyers ∩ B"))  # as its overlap table does
        await drilled(app, pilot)
        assert screen_names(app) == ["UsersScreen", "SegmentsScreen", "UsersScreen"]
        assert status(app).startswith("sh_buyers ∩ B · 10 users")
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is builder


def _open(condition: str, title: str):
    from tui.messages import OpenUsers

    return OpenUsers(condition, title)


async def test_enter_on_a_transitions_cell_lists_who_moved(sample_db):
    since = AS_OF.replace(month=3, day=1)
    conn = open_db(sample_db, readonly=True)
    moved = layers.transitions(conn, since, AS_OF)
    before, after = next(
        (a, b) for a in moved.layers for b in moved.layers if a != b and moved.count(a, b)
    )
    expected = layers.transition_users(conn, since, AS_OF, before, after)
    conn.close()
    assert len(expected) == moved.count(before, after)
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        await pilot.press("d", *"2024-03-01", "enter")
        await settle(app, pilot)
        matrix = app.screen.query_one("#matrix")
        column = [c.key.value for c in matrix.ordered_columns].index(after)
        matrix.move_cursor(row=matrix.get_row_index(before), column=column)
        await pilot.press("enter")
        await settle(app, pilot)
        await drilled(app, pilot)
        assert screen_names(app) == ["UsersScreen", "LayersScreen", "UsersScreen"]
        assert sorted(shown_ids(app)) == expected
        name = {"buyer": "buyer", "active": "active", "churned": "churned"}
        title = f"{name.get(before, before)} → {name.get(after, after)}"
        assert status(app).startswith(f"{title} · {len(expected)} users")
        await pilot.press("escape")
        await settle(app, pilot)
        assert screen_names(app) == ["UsersScreen", "LayersScreen"]


async def test_mark_all_in_a_transitions_cell_marks_only_who_moved(sample_db):
    since = AS_OF.replace(month=3, day=1)
    conn = open_db(sample_db, readonly=True)
    moved = layers.transitions(conn, since, AS_OF)
    before, after = next(
        (a, b) for a in moved.layers for b in moved.layers if a != b and moved.count(a, b)
    )
    expected = layers.transition_users(conn, since, AS_OF, before, after)
    conn.close()
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.current_campaign = "summer"
        await pilot.press("L")
        await settle(app, pilot)
        await pilot.press("d", *"2024-03-01", "enter")
        await settle(app, pilot)
        matrix = app.screen.query_one("#matrix")
        column = [c.key.value for c in matrix.ordered_columns].index(after)
        matrix.move_cursor(row=matrix.get_row_index(before), column=column)
        await pilot.press("enter")
        await drilled(app, pilot)
        await pilot.press("M")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
    conn = open_db(sample_db, readonly=True)
    marked = conn.execute(
        "SELECT user_id FROM campaign_members WHERE campaign = 'summer' ORDER BY user_id"
    ).fetchall()
    conn.close()
    assert [u for (u,) in marked] == sorted({"u001", *expected})  # u001 was there before


# ---------------------------------------------------------------- 2. lists follow changes


async def test_a_layer_change_by_another_process_shows_in_the_rows(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one("UserTable")
        layer_column = [c.key.value for c in table.ordered_columns].index("layer")
        before = {table.get_row_at(i)[0].plain: table.get_row_at(i)[layer_column].plain
                  for i in range(table.row_count)}  # fmt: skip
        assert before["u001"] == "active"
        # what `userops layer set DB vip "user_id = 'u001'" --position 1` does, from outside
        other = open_db(sample_db)
        layers.set_rule(other, "vip", "贵宾", "vip", "user_id = 'u001'", position=1, as_of=AS_OF)
        tags.reapply_rules(other)
        other.close()
        assert layer_of(sample_db, "u001") == "vip"
        await pilot.pause(app.WATCH_INTERVAL * 5)
        await settle(app, pilot)
        row = table.get_row("u001")
        assert row[layer_column].plain == "vip"
        assert row[0].plain == "u001" and table.row_count == 60


async def test_an_outside_change_while_typing_waits_until_the_operator_leaves_the_box(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f", *"city = '上海'")
        await pilot.pause(0.3)
        await settle(app, pilot)
        other = open_db(sample_db)
        with transaction(other):
            other.execute("UPDATE features SET city = '上海' WHERE user_id = 'u001'")
        other.close()
        await pilot.pause(app.WATCH_INTERVAL * 5)
        await settle(app, pilot)
        assert shown_ids(app) == SHANGHAI  # the operator is typing: nothing moved under them
        notes = [str(n.message) for n in app._notifications]
        assert notes == [
            "Another program changed the database: this screen reloads when you leave the text box"
        ]
        await pilot.press("escape")  # back on the table: the reload runs
        await settle(app, pilot)
        assert shown_ids(app) == ["u001", *SHANGHAI]


async def test_saving_rfm_thresholds_reloads_the_users_rows_below(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        users_screen = app.screen
        table = users_screen.query_one("UserTable")
        group_column = [c.key.value for c in table.ordered_columns].index("rfm_group")
        shown_before = [table.get_row_at(i)[group_column].plain for i in range(table.row_count)]
        await pilot.press("R")
        await settle(app, pilot)
        await pilot.press("e")
        app.screen.query_one("#dim").value = "f"
        app.screen.query_one("#method").value = "fixed"
        app.screen.query_one("#value").focus()
        await pilot.press("5")
        await pilot.pause(0.3)
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert screen_names(app) == ["UsersScreen", "RfmScreen"]
        conn = open_db(sample_db, readonly=True)
        stored = dict(conn.execute("SELECT user_id, rfm_group FROM features").fetchall())
        conn.close()
        labels = app.labels
        shown = {
            table.get_row_at(i)[0].plain: table.get_row_at(i)[group_column].plain
            for i in range(table.row_count)
        }
        assert shown == {u: labels.group(g) for u, g in stored.items()}
        assert list(shown.values()) != shown_before  # the cut moved some users
        assert app.screen.query_one("#groups") is not None


async def test_the_profile_follows_an_outside_change(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")  # u001's profile
        await settle(app, pilot)
        assert app.screen.profile.features["layer"] == "active"
        other = open_db(sample_db)
        with transaction(other):
            other.execute("UPDATE features SET layer = 'buyer' WHERE user_id = 'u001'")
        other.close()
        await pilot.pause(app.WATCH_INTERVAL * 5)
        await settle(app, pilot)
        assert app.screen.profile.features["layer"] == "buyer"
        await pilot.press("escape")
        await settle(app, pilot)
        table = app.screen.query_one("UserTable")
        layer_column = [c.key.value for c in table.ordered_columns].index("layer")
        assert table.get_row("u001")[layer_column].plain == "buyer"  # the list below too


async def test_a_mark_in_the_app_reloads_the_lists(sample_db):
    app = make_app(sample_db)
    reloads: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.current_campaign = "summer"
        users_screen = app.screen
        original = users_screen.refresh_data
        users_screen.refresh_data = lambda: (reloads.append("users"), original())
        await pilot.press("down", "space")
        await settle(app, pilot)
        assert reloads == ["users"]
        await pilot.pause(app.WATCH_INTERVAL * 5)  # the app's own write is not seen twice
        await settle(app, pilot)
        assert reloads == ["users"]


async def test_a_mark_in_a_drill_down_reloads_the_lists_not_the_tags_below(sample_db):
    app = make_app(sample_db)
    calls: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.current_campaign = "summer"
        home = app.screen
        home_refresh = home.refresh_data
        home.refresh_data = lambda: (calls.append("home"), home_refresh())
        await pilot.press("T")
        await settle(app, pilot)
        tags_screen = app.screen
        tags_screen.action_reload = lambda: calls.append("tags")
        table = tags_screen.query_one("#tags")
        table.move_cursor(row=table.get_row_index("shanghai"))
        await pilot.press("enter")
        await drilled(app, pilot)
        await pilot.press("space")  # u006, the first Shanghai user
        await settle(app, pilot)
        assert calls == ["home"]
        marks = app.screen.query_one("UserTable").get_row("u006")[0].plain
        assert marks == "●"


async def test_an_own_write_seen_by_the_watcher_first_reloads_once(sample_db):
    """The watcher may look between an own write's commit and its DataWritten: one look
    does not reload; the announcement does, once; later looks add nothing."""
    from tui.messages import DataWritten

    app = make_app(sample_db)
    app.WATCH_INTERVAL = 60  # the test looks itself
    calls: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        home = app.screen
        refresh = home.refresh_data
        home.refresh_data = lambda: (calls.append("home"), refresh())
        other = open_db(sample_db)
        with transaction(other):
            other.execute("UPDATE features SET city = '上海' WHERE user_id = 'u001'")
        other.close()
        app.watch_database()  # a look before the announcement
        await settle(app, pilot)
        assert calls == []
        home.post_message(DataWritten("marks"))
        await settle(app, pilot)
        app.watch_database()
        app.watch_database()
        await settle(app, pilot)
        assert calls == ["home"]
        other = open_db(sample_db)  # now another program: two looks, one reload
        with transaction(other):
            other.execute("UPDATE features SET city = '北京' WHERE user_id = 'u001'")
        other.close()
        app.watch_database()
        app.watch_database()
        await settle(app, pilot)
        assert calls == ["home", "home"]


# ---------------------------------------------------------------- 3. forms keep what was typed


async def open_campaigns(app, pilot):
    await settle(app, pilot)
    await pilot.press("c")
    await settle(app, pilot)
    assert screen_names(app)[-1] == "CampaignsScreen"


async def test_a_bad_start_date_keeps_the_new_campaign_form_open(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_campaigns(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        form = app.screen
        form.query_one("#f-name").value = "spring"
        form.query_one("#f-offer").value = "20% off"
        form.query_one("#f-start").focus()
        await pilot.press(*"2024-13-45", "enter")
        await settle(app, pilot)
        assert app.screen is form
        error = form.query_one("#e-start")
        assert error.display and "'2024-13-45' is not a date like 2024-07-01" in str(error.render())
        assert form.query_one("#f-start").value == "2024-13-45"
        assert form.query_one("#f-name").value == "spring"
        assert app.focused is form.query_one("#f-start")
        await pilot.press(*["backspace"] * 10, *"2024-06-01", "enter")
        await settle(app, pilot)
        assert screen_names(app)[-1] == "CampaignsScreen"
        assert app.screen.highlighted() == "spring"


async def test_a_holdout_of_150_keeps_the_add_form_open(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_campaigns(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        form = app.screen
        form.query_one("#f-source").value = "sh_buyers"
        form.query_one("#f-holdout").value = ""
        form.query_one("#f-holdout").focus()
        await pilot.press(*"150", "enter")
        await settle(app, pilot)
        assert app.screen is form
        error = form.query_one("#e-holdout")
        assert "Holdout 150.0% is out of range" in str(error.render())
        assert form.query_one("#f-holdout").value == "150"
        assert form.query_one("#f-source").value == "sh_buyers"
        conn = open_db(sample_db, readonly=True)
        assert conn.execute("SELECT COUNT(*) FROM campaign_members").fetchone()[0] == 1
        conn.close()
        await pilot.press("backspace", "backspace", "backspace", "1", "0", "enter")
        await settle(app, pilot)
        assert screen_names(app)[-1] == "CampaignsScreen"
        assert not form.is_attached
