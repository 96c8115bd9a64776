"""Issue 13 items 4–6 in the app: the honest MECE check, the pyramid in lifecycle order, and the
rules / tags editors (draft, live preview, one save), on the 60-user sample database."""

from __future__ import annotations

from tui_helpers import AS_OF, make_app, settle

from core.rules import layers, tags
from core.store.db import open_db
from tui.widgets.pyramid import Pyramid, Tier, arrange

SIZE = (120, 40)
DEBOUNCE = 0.3  # the preview and the live count wait for a pause in typing


def read(db, fn):
    conn = open_db(db, readonly=True)
    try:
        return fn(conn)
    finally:
        conn.close()


def layer_counts(conn) -> dict[str, int]:
    return dict(conn.execute("SELECT layer, count(*) FROM features GROUP BY layer").fetchall())


async def open_screen(app, pilot, key: str, name: str) -> None:
    await settle(app, pilot)
    await pilot.press(key)
    await settle(app, pilot)
    assert type(app.screen).__name__ == name


async def typed(app, pilot) -> None:
    await pilot.pause(DEBOUNCE)
    await settle(app, pilot)


# ---- item 5: the catch-all --------------------------------------------------------------------


async def test_the_catch_all_is_a_row_of_its_own_and_lists_its_users(sample_db):
    report = read(sample_db, lambda c: layers.mece_report(c, AS_OF))
    assert report.catch_all is not None and report.catch_all.rule == "registered"
    only = report.catch_all.count
    assert only > 0
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(app, pilot, "L", "LayersScreen")
        mece = app.screen.query_one("#mece")
        keys = [row.value for row in mece.rows]
        # no "buyer & registered" and the like: the catch-all's pairs are by design
        assert keys == [f"{o.a}|{o.b}" for o in report.overlaps] + ["catch_all", "gap"]
        assert all("registered" not in k for k in keys[:-2])
        assert mece.get_row("catch_all")[0].plain == "only in the catch-all registered"
        assert mece.get_row("catch_all")[1].plain == f"{only:,}"
        status = app.screen.query_one("StatusLine").text
        assert f"{only:,} users only in the catch-all registered" in status
        assert "rules overlap or leave a gap" not in status
        first = report.overlaps[0]
        assert f"overlap of {first.a} and {first.b}" in status
        mece.move_cursor(row=mece.get_row_index("catch_all"))
        await pilot.press("enter")
        await typed(app, pilot)
        assert type(app.screen).__name__ == "UsersScreen"
        assert app.screen.matching == only


async def test_the_status_says_which_problem_in_chinese(sample_db):
    app = make_app(sample_db, lang="zh")
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(app, pilot, "L", "LayersScreen")
        status = app.screen.query_one("StatusLine").text
        assert "人仅符合兜底规则 注册用户" in status and "重叠" in status


# ---- item 6: the pyramid in lifecycle order --------------------------------------------------


def test_arrange_puts_the_climb_top_down_and_the_slide_beside():
    tiers = tuple(
        Tier(name, 1, 0.1, rank)
        for name, rank in (
            ("new", 1),
            ("churned", -2),
            ("loyal", 5),
            ("buyer", 4),
            ("active", 3),
            ("dormant", -1),
            ("registered", 2),
            ("mine", None),
            ("unclassified", None),
        )
    )
    climb, down = arrange(tiers)
    assert [tiers[i].name for i in climb] == [
        "loyal",
        "buyer",
        "active",
        "registered",
        "new",
        "mine",
        "unclassified",
    ]
    assert [tiers[i].name for i in down] == ["dormant", "churned"]
    plain = tuple(Tier(t.name, 1, 0.1) for t in tiers)  # no ranks: the rule order
    assert arrange(plain) == (list(range(9)), [])


def ranked(db) -> None:
    conn = open_db(db)
    for key, rank in (("buyer", 4), ("active", 3), ("churned", -2), ("registered", 2)):
        rule = next(r for r in layers.list_rules(conn) if r.key == key)
        layers.set_rule(
            conn, key, rule.name_zh, rule.name_en, rule.condition, lifecycle=rank, as_of=AS_OF
        )
    conn.close()


async def test_the_pyramid_draws_the_lifecycle_not_the_priority(sample_db):
    ranked(sample_db)
    report = read(sample_db, lambda c: layers.mece_report(c, AS_OF))
    count = {p.key: p.count for p in report.pyramid}
    for size, beside in (((160, 48), True), ((60, 24), False)):
        app = make_app(sample_db)
        async with app.run_test(size=size) as pilot:
            await open_screen(app, pilot, "L", "LayersScreen")
            pyramid = app.screen.query_one(Pyramid)
            assert pyramid.beside(pyramid.size.width) is beside
            lines = pyramid.render().plain.splitlines()
            names = [line.split()[0] for line in lines]
            if beside:  # churned, a sliding-down state, beside the top of the climb
                assert [line.split("│")[0].split()[0] for line in lines] == [
                    "buyer",
                    "active",
                    "registered",
                    "unclassified",
                ]
                right = lines[0].split("│")[1].split()
                assert right[:2] == ["↘", "churned"] and right[-2] == f"{count['churned']:,}"
            else:  # below the climb
                assert names == ["buyer", "active", "registered", "unclassified", "↘"]
                assert lines[-1].split()[:2] == ["↘", "churned"]
                assert lines[-1].split()[-2] == f"{count['churned']:,}"
            assert all(len(line) <= pyramid.size.width for line in lines)


# ---- item 4: the layer rules editor ----------------------------------------------------------


async def test_edit_a_rule_previews_then_saves_in_one_go(sample_db):
    before = read(sample_db, layers.list_rules)
    draft = [
        layers.LayerRule(0, r.key, r.name_zh, r.name_en, r.condition, r.lifecycle)
        if r.key != "churned"
        else layers.LayerRule(0, r.key, r.name_zh, r.name_en, "recency_days > 150", r.lifecycle)
        for r in before
    ]
    expected = read(sample_db, lambda c: layers.mece_report(c, AS_OF, draft))
    old = read(sample_db, lambda c: layers.mece_report(c, AS_OF))
    assert expected.pyramid != old.pyramid  # the change moves users
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(app, pilot, "L", "LayersScreen")
        await pilot.press("e")
        await settle(app, pilot)
        rules = app.screen.query_one("#rules")
        assert rules.has_focus and rules.row_count == 4
        await pilot.press("down", "down", "enter")  # churned: edit its condition
        field = app.screen.query_one("#rule-condition").input
        assert field.has_focus and field.value == "recency_days > 60"
        await pilot.press(*["backspace"] * 2, "1", "5", "0")
        await typed(app, pilot)
        tiers = app.screen.query_one(Pyramid).tiers
        assert [t.count for t in tiers] == [p.count for p in expected.pyramid]
        counter = app.screen.query_one("#rule-condition").counter
        assert counter.matching == expected.matches["churned"]
        assert read(sample_db, layers.list_rules) == before  # the preview wrote nothing
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ConfirmSave"
        await pilot.press("y")
        await settle(app, pilot)
        assert not app.screen.has_class("-editing")
        saved = read(sample_db, layers.list_rules)
        assert [r.condition for r in saved if r.key == "churned"] == ["recency_days > 150"]
        # re-applied in the worker: the stored layers are the previewed pyramid
        counts = read(sample_db, layer_counts)
        assert {p.key: p.count for p in expected.pyramid if p.count} == counts
        assert [t.count for t in app.screen.query_one(Pyramid).tiers] == [
            p.count for p in expected.pyramid
        ]


async def test_add_reorder_delete_then_save(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(app, pilot, "L", "LayersScreen")
        await pilot.press("e")
        await settle(app, pilot)
        await pilot.press("a")  # a new rule at the end, its key field focused
        assert app.screen.query_one("#rule-key").has_focus
        await pilot.press(*["backspace"] * 10, *"vip", "tab", *"贵宾", "tab", *"vip", "tab", "6")
        field = app.screen.query_one("#rule-condition").input
        field.focus()
        await pilot.press(*"frequency >= 8")
        await typed(app, pilot)
        assert app.screen.draft_error == ""
        app.screen.query_one("#rules").focus()
        await pilot.press("ctrl+up", "ctrl+up", "ctrl+up", "ctrl+up")  # first: evaluated first
        await pilot.press("down", "down", "ctrl+t")  # delete active (now third)
        await typed(app, pilot)
        draft = app.screen.query_one("LayerEditor").draft
        assert [(r.key, r.lifecycle) for r in draft] == [
            ("vip", 6),
            ("buyer", None),
            ("churned", None),
            ("registered", None),
        ]
        expected = read(sample_db, lambda c: layers.mece_report(c, AS_OF, draft))
        assert [t.count for t in app.screen.query_one(Pyramid).tiers] == [
            p.count for p in expected.pyramid
        ]
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        saved = read(sample_db, layers.list_rules)
        assert [(r.position, r.key, r.name_zh, r.lifecycle) for r in saved] == [
            (1, "vip", "贵宾", 6),
            (2, "buyer", "购买用户", None),
            (3, "churned", "流失用户", None),
            (4, "registered", "注册用户", None),
        ]
        assert "active" not in read(sample_db, layer_counts)


async def test_a_rule_that_cannot_be_saved_shows_where_and_saves_nothing(sample_db):
    before = read(sample_db, layers.list_rules)
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(app, pilot, "L", "LayersScreen")
        await pilot.press("e")
        await settle(app, pilot)
        await pilot.press("enter")  # buyer
        await pilot.press(*' and layer = "active"')
        await typed(app, pilot)
        editor = app.screen.query_one("#rule-condition")
        assert editor.error is not None
        pos, message = editor.error
        assert pos == len("orders_30d > 0 and ") and "`layer` cannot be used" in message
        assert "layer 'buyer'" in app.screen.draft_error
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "LayersScreen"  # refused, no confirmation
        assert any("layer 'buyer'" in n.message for n in app._notifications)
        await pilot.press("escape")  # drops the draft
        await settle(app, pilot)
        assert not app.screen.has_class("-editing")
        assert app.screen.query_one("#rule-condition").input.value  # hidden, not lost on screen
    assert read(sample_db, layers.list_rules) == before


# ---- item 4: the tag form --------------------------------------------------------------------


async def test_edit_a_tag_with_a_live_count_then_save(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(app, pilot, "T", "TagsScreen")
        table = app.screen.query_one("#tags")
        table.move_cursor(row=table.get_row_index("big_spender"))
        await pilot.press("e")
        await settle(app, pilot)
        field = app.screen.query_one("#tag-condition").input
        assert field.has_focus and field.value == "monetary > 1000"
        await pilot.press("end", "0")  # monetary > 10000: nobody
        await typed(app, pilot)
        assert app.screen.query_one("#tag-condition").counter.matching == 0
        await pilot.press("backspace")
        await pilot.press(*["backspace"] * 4, *"2000")
        await typed(app, pilot)
        holders = read(
            sample_db,
            lambda c: c.execute("SELECT count(*) FROM features WHERE monetary > 2000").fetchone()[
                0
            ],
        )
        assert holders > 0
        assert app.screen.query_one("#tag-condition").counter.matching == holders
        name = app.screen.query_one("#tag-name")
        name.value = "very_big"  # a rename
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert not app.screen.has_class("-editing")
        saved = {t.name: t for t in read(sample_db, tags.list_tags)}
        assert "big_spender" not in saved and saved["very_big"].condition == "monetary > 2000"
        assert saved["very_big"].dimension == "result"
        counts = {t.name: n for t, n in read(sample_db, tags.tag_counts)}
        assert counts["very_big"] == holders
        assert app.screen.holders["very_big"] == holders


async def test_a_new_tag_that_cannot_be_saved_keeps_the_form(sample_db):
    before = read(sample_db, tags.list_tags)
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(app, pilot, "T", "TagsScreen")
        await pilot.press("a")
        await settle(app, pilot)
        assert app.screen.query_one("#tag-name").has_focus
        await pilot.press(*"twice")
        app.screen.query_one("#tag-condition").input.focus()
        await pilot.press(*'tag "shanghai"')
        await typed(app, pilot)
        pos, message = app.screen.query_one("#tag-condition").error
        assert pos == 0 and "tags cannot be used here" in message
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert app.screen.has_class("-editing")  # the form stays, with the reason
        assert "tags cannot be used here" in str(app.screen.query_one("#tag-error").render())
    assert read(sample_db, tags.list_tags) == before


async def test_delete_a_tag_after_confirming(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(app, pilot, "T", "TagsScreen")
        table = app.screen.query_one("#tags")
        table.move_cursor(row=table.get_row_index("shanghai"))
        await pilot.press("ctrl+t")
        await settle(app, pilot)
        await pilot.press("n")  # no: nothing happens
        await settle(app, pilot)
        assert "shanghai" in {t.name for t in read(sample_db, tags.list_tags)}
        await pilot.press("delete")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert "shanghai" not in {t.name for t in read(sample_db, tags.list_tags)}
        assert "shanghai" not in app.screen.rules
