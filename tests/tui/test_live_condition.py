"""Pilot tests of the live-condition component on its own (a bare app holding one), on the
60-user sample database: 10 users live in each of 上海, 北京, … (user i in CITIES[i % 6])."""

from __future__ import annotations

import threading

from textual import on
from textual.app import App, ComposeResult
from tui_helpers import AS_OF, settle

from tui.widgets import query_runner
from tui.widgets.live_condition import COUNT_GROUP, Debounce, LiveCondition

SIZE = (100, 20)


class Harness(App):
    """What a screen sees of the component: the messages that reach it."""

    def __init__(self, db) -> None:
        super().__init__()
        from tui.app import Settings

        self.settings = Settings(db, AS_OF)
        self.seen: list[LiveCondition.Counted | LiveCondition.Invalid] = []

    def compose(self) -> ComposeResult:
        yield LiveCondition(placeholder="condition", preview=3, id="live")

    def on_mount(self) -> None:
        self.live.counter.total = 60
        self.live.input.focus()

    @property
    def live(self) -> LiveCondition:
        return self.query_one(LiveCondition)

    @on(LiveCondition.Counted)
    @on(LiveCondition.Invalid)
    def _seen(self, message) -> None:
        self.seen.append(message)


async def typed(app, pilot, text: str) -> None:
    await pilot.press(*text)
    await pilot.pause(0.3)  # the debounce
    await settle(app, pilot)


def counts(app) -> list[int]:
    return [m.matching for m in app.seen if isinstance(m, LiveCondition.Counted)]


async def test_typing_updates_the_count(sample_db):
    app = Harness(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await typed(app, pilot, "city = '上海'")
        assert str(app.live.counter.render()) == "10 / 60 · 16.7%"
        (counted,) = [m for m in app.seen if isinstance(m, LiveCondition.Counted)]  # one count
        # after the pause, not one per key; the prefixes that do not parse ("city =") were
        # Invalid at once, on the UI thread
        assert "city =" in [m.text for m in app.seen if isinstance(m, LiveCondition.Invalid)]
        assert counted.matching == 10
        assert counted.condition.text == "city = '上海'"
        assert counted.condition.where == 'f."city" = :p0'  # the value is bound, never in the SQL
        assert counted.condition.params == {"p0": "上海"}
        assert [r.user_id for r in counted.preview] == ["u006", "u012", "u018"]
        await typed(app, pilot, " or city = '北京'")
        assert counts(app) == [10, 20]
        assert str(app.live.counter.render()) == "20 / 60 · 33.3%"


async def test_a_stale_result_is_dropped(sample_db):
    app = Harness(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await typed(app, pilot, "city = '上海'")
        counted, seen = app.seen[-1], list(app.seen)
        assert counted.token == app.live.token
        # a result for the text as it was one keystroke ago arrives late
        stale = LiveCondition.Counted(app.live.token - 1, counted.condition, 59, [])
        app.live.post_message(stale)
        app.live.post_message(LiveCondition.Invalid(app.live.token - 1, "city =", 6, "late"))
        await settle(app, pilot)
        assert app.seen == seen  # neither reached the app
        assert str(app.live.counter.render()) == "10 / 60 · 16.7%"
        assert app.live.error is None


async def test_a_count_overtaken_by_typing_never_arrives(sample_db):
    """The first count is held inside its worker until the operator has typed on and the
    second count has arrived; released, it must not replace the newer result."""
    gate, held = threading.Event(), threading.Event()

    def hold_first_count(conn) -> None:
        from textual.worker import get_current_worker

        if get_current_worker().group == COUNT_GROUP and not held.is_set():
            held.set()
            gate.wait(5)

    app = Harness(sample_db)
    query_runner.CONNECTION_HOOKS.append(hold_first_count)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            app.live.input.value = "city = '上海'"  # as if pasted: one change
            # wait without blocking the event loop: a blocking wait here held up the very
            # debounce timer that starts the count, when it had not fired yet (a loaded run)
            for _ in range(100):
                await pilot.pause(0.05)
                if held.is_set():
                    break
            assert held.is_set()  # the first count is running, held
            app.live.input.value = "city in ('上海', '北京')"
            for _ in range(50):
                await pilot.pause(0.05)
                if counts(app):
                    break
            assert counts(app) == [20]
            gate.set()
            await settle(app, pilot)
            assert counts(app) == [20]
            assert str(app.live.counter.render()) == "20 / 60 · 33.3%"
    finally:
        gate.set()
        query_runner.CONNECTION_HOOKS.remove(hold_first_count)


async def test_an_invalid_query_posts_invalid_with_the_column(sample_db):
    app = Harness(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await typed(app, pilot, "city = = 'x'")  # a syntax error: found on the UI thread
        invalid = app.seen[-1]
        assert isinstance(invalid, LiveCondition.Invalid)
        assert (invalid.pos, invalid.column, invalid.text) == (7, 8, "city = = 'x'")
        assert "column 8" in invalid.error
        assert app.live.error == (7, invalid.error)
        assert not app.live.counter.pending
        assert counts(app) == []

        app.live.input.value = "citty = '上海'"  # parses; the compiler refuses the field
        await pilot.pause(0.3)
        await settle(app, pilot)
        invalid = app.seen[-1]
        assert isinstance(invalid, LiveCondition.Invalid)
        assert (invalid.pos, invalid.column) == (0, 1)
        assert invalid.error.startswith("Unknown field 'citty' at column 1; did you mean 'city'")
        assert not app.live.counter.pending and counts(app) == []


async def test_completions_are_offered_for_what_is_typed_only(sample_db):
    app = Harness(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await typed(app, pilot, "cit")
        assert "city" in [s.insert for s in app.live.completions]
        app.live.completions = ()
        app.live.set_condition("city = '上海' or ci")  # set from elsewhere, not typed: no popup
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert app.live.input.has_focus and app.live.completions == ()
        await pilot.press("end")
        await typed(app, pilot, "t")  # typed on: offered again
        assert "city" in [s.insert for s in app.live.completions]


async def test_debounce_runs_only_the_latest_call():
    calls: list[str] = []

    class Bare(App):
        pass

    app = Bare()
    async with app.run_test() as pilot:
        later = Debounce(app, 0.05)
        for text in ("a", "ab", "abc"):
            later.bump()
            later.later(lambda text=text: calls.append(text))
        await pilot.pause(0.2)
        assert calls == ["abc"]
        token = later.bump()
        later.later(lambda: calls.append("never"))
        later.bump()  # a newer request before the pause ends
        await pilot.pause(0.2)
        assert calls == ["abc"] and not later.is_current(token)
