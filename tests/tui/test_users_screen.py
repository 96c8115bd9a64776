"""Pilot tests of the users (home) screen on the 60-user sample database."""

from __future__ import annotations

import pytest
from tui_helpers import make_app, settle, shown_ids, text_of

SIZE = (120, 40)


async def test_first_page_and_status(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        ids = shown_ids(app)
        assert ids[:3] == ["u001", "u002", "u003"] and len(ids) == 60
        status = app.screen.query_one("StatusLine").text
        assert "showing 1–60 of 60" in status
        assert "sample.db" in status and "as of 2024-06-30" in status
        assert "features computed 2024-07-01 08:00" in status


async def test_status_says_when_an_import_made_the_features_out_of_date(sample_db):
    from core.store.db import open_db, set_meta

    conn = open_db(sample_db)
    set_meta(conn, "features_stale", "1")  # what an import after the recompute leaves
    conn.close()
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        status = app.screen.query_one("StatusLine").text
        assert status.startswith("showing 1–60 of 60 · features out of date: run userops refresh")


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("en", "2 users signed up after 2024-06-30 are not counted"),
        ("zh", "2 位在 2024-06-30 之后注册的用户未计入"),
    ],
)
async def test_status_says_who_signed_up_after_the_features_date(sample_db, lang, said):
    """After a refresh back to an earlier date the users who signed up later are not in the
    features: the status line says how many (and says nothing when there are none)."""
    from core.store.db import open_db

    app = make_app(sample_db, lang=lang)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "signed up" not in app.screen.query_one("StatusLine").text
        assert "之后注册" not in app.screen.query_one("StatusLine").text
    conn = open_db(sample_db)
    conn.executemany(
        "INSERT INTO users(user_id, signup_at) VALUES (?, ?)",
        [("late1", "2024-07-01 00:00:00"), ("late2", "2024-07-09")],
    )
    conn.commit()
    conn.close()
    app = make_app(sample_db, lang=lang)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        status = app.screen.query_one("StatusLine").text
        assert said in status


async def test_paging_down_end_and_home(sample_db, monkeypatch):
    monkeypatch.setattr("tui.screens.users.PAGE_SIZE", 25)
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert shown_ids(app)[-1] == "u025"
        app.screen.query_one("UserTable").move_cursor(row=24)
        await pilot.press("pagedown")
        await settle(app, pilot)
        assert shown_ids(app)[0] == "u026" and shown_ids(app)[-1] == "u050"
        assert "showing 26–50 of 60" in app.screen.query_one("StatusLine").text
        await pilot.press("G")
        await settle(app, pilot)
        assert shown_ids(app)[-1] == "u060" and len(shown_ids(app)) == 25
        assert "showing 36–60 of 60" in app.screen.query_one("StatusLine").text
        app.screen.query_one("UserTable").move_cursor(row=0)
        await pilot.press("up")
        await settle(app, pilot)
        assert shown_ids(app)[0] == "u011" and shown_ids(app)[-1] == "u035"
        await pilot.press("g")
        await settle(app, pilot)
        assert shown_ids(app)[0] == "u001"


async def test_sort_reverse_and_next_column(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        assert shown_ids(app)[:2] == ["u060", "u059"]
        await pilot.press("s")  # user_id -> name, ascending
        await settle(app, pilot)
        table = app.screen.query_one("UserTable")
        names = [table.get_row_at(i)[1].plain for i in range(table.row_count)]
        assert names == sorted(names)
        assert str(table.ordered_columns[1].label) == "Name ▲"


async def test_search_by_name_and_escape_back(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash", *"王芳", "enter")
        await settle(app, pilot)
        assert shown_ids(app) == ["u010"]
        assert "search “王芳”: 1 matches" in app.screen.query_one("StatusLine").text
        await pilot.press("escape")
        await settle(app, pilot)
        assert len(shown_ids(app)) == 60


async def test_search_by_phone_suffix(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash", *"00042", "enter")
        await settle(app, pilot)
        assert shown_ids(app) == ["u042"]


async def test_filter_counts_while_typing_and_invalid_keeps_result(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f", *"city = '上海'")
        await pilot.pause(0.3)  # the debounce
        await settle(app, pilot)
        count = app.screen.query_one("SegmentCount")
        assert str(count.render()) == "10 / 60 · 16.7%"
        shanghai = ["u006", "u012", "u018", "u024", "u030", "u036", "u042", "u048", "u054", "u060"]
        assert shown_ids(app) == shanghai
        await pilot.press(*" and r_score >= = 4")
        await pilot.pause(0.3)
        await settle(app, pilot)
        text = text_of(app.screen.query_one("#caret"))
        # under the second '=' (character 27), shifted 2 cells by the double-width 上海
        assert text.startswith(" " * 29 + "^ ")
        assert "column 28" in text
        assert shown_ids(app) == shanghai  # the last valid result stays


async def test_enter_opens_profile_and_escape_returns(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "down", "down", "enter")  # u004 陈伟, a recent buyer
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ProfileScreen"
        title = text_of(app.screen.query_one("#title"))
        assert "陈伟" in title and "u004" in title and "buyer" in title
        tags = text_of(app.screen.query_one("#section-tag_dims"))
        assert "night_buyer" in tags and "big_spender" in tags
        await pilot.press("escape")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "UsersScreen"


async def test_red_name_is_shown_literally(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one("UserTable")
        assert table.get_row_at(6)[1].plain == "[red]"
        table.move_cursor(row=6)
        await pilot.press("enter")
        await settle(app, pilot)
        assert text_of(app.screen.query_one("#title")).startswith("[red]")


@pytest.mark.parametrize(("mask", "phone"), [(True, "138****0003"), (False, "13800000003")])
async def test_mask_hides_phone_and_email(sample_db, mask, phone):
    app = make_app(sample_db, mask=mask)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "down", "enter")
        await settle(app, pilot)
        shown = text_of(app.screen.query_one("#section-attributes"))
        assert phone in shown
        assert ("u***@example.com" in shown) is mask


async def test_q_quits(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_order_only_data_hides_empty_columns_and_shows_imported_ones(tmp_path):
    """issue 13, 10: without names and cities (the UCI import) those columns are left out and
    the imported country is shown; the sample database keeps its columns."""
    from tui_helpers import AS_OF

    from core.ingest.importer import import_files
    from core.pipeline import recompute
    from core.store.db import open_db

    orders = tmp_path / "o.csv"
    orders.write_text(
        "user_id,amount,created_at,Country\n"
        "12347,100,2024-06-01 10:00:00,Iceland\n12348,80,2024-05-25 13:13:00,Finland\n"
    )
    db = tmp_path / "retail.db"
    conn = open_db(db, create=True)
    import_files(conn, orders=orders, user_columns={"Country": "country"})
    recompute(conn, AS_OF)
    conn.close()
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one("UserTable")
        keys = [str(c.value) for c in table.columns]
        assert "name" not in keys and "city" not in keys
        assert keys[-2:] == ["country", "tags"]
        assert table.get_row("12347")[-2].plain == "Iceland"
        assert [str(c.label) for c in table.columns.values()][-2] == "country"


async def test_sample_keeps_its_columns(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        keys = [str(c.value) for c in app.screen.query_one("UserTable").columns]
        assert keys[:2] == ["user_id", "name"] and "city" in keys
