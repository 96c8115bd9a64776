"""The create / edit form of a strategy: the trigger in a LiveCondition (positioned errors,
completion, live count), channel, offer, holdout %, cooldown, max per run, priority, schedule,
mode; under them, who the strategy would target today and its overlap with the other active
strategies (``core.audience.strategies.preview``, in a worker, never on the UI thread).

Saving runs ``store.save`` in a write worker on its own connection; a mistake keeps the form
open with its message under the field. Dismisses with the saved strategy's name (None: closed).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static
from textual.worker import Worker, WorkerState, get_current_worker

from core.audience import segments
from core.audience import strategies as st
from core.errors import QueryError
from core.views.text import visible
from tui.widgets.live_condition import Debounce, LiveCondition
from tui.widgets.query_runner import reader
from tui.widgets.strategy_parts import preview_text
from tui.widgets.writes import writer

PREVIEW_GROUP = "strategy_form.preview"
# field key -> label key; the trigger ("when") is the LiveCondition
TEXT_FIELDS = (
    ("channel", "st_f_channel"),
    ("offer", "st_f_offer"),
    ("holdout", "st_f_holdout"),
    ("cooldown", "st_f_cooldown"),
    ("max", "st_f_max"),
    ("priority", "st_f_priority"),
    ("schedule", "st_f_schedule"),
)
# which field a StrategyError from core.audience.strategies.check is about (by its opening)
ERROR_FIELDS = (
    ("Holdout", "holdout"),
    ("The cooldown", "cooldown"),
    ("The maximum", "max"),
    ("Schedule", "schedule"),
    ("Mode", "mode"),
    ("A strategy needs a name", "name"),
    ("Strategy name", "name"),
)


class FieldError(Exception):
    """A value the form cannot use: which field and why."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def field_of(error: st.StrategyError) -> str:
    text = str(error)
    for opening, key in ERROR_FIELDS:
        if text.startswith(opening):
            return key
    for word in ("channel", "offer"):
        if f"the {word} is empty" in text:
            return word
    return "name" if text.startswith("No strategy") else "offer"


def _whole(values: dict[str, str], key: str, what: str, labels, *, empty: int | None) -> Any:
    raw = values[key].strip()
    if not raw and empty is not None:
        return empty
    if not raw and key == "max":
        return None
    try:
        return int(raw)
    except ValueError:
        raise FieldError(key, labels("st_whole").format(what=what, got=raw)) from None


def build(values: dict[str, str], original: st.Strategy | None, labels) -> st.Strategy:
    """The strategy the form describes (its other settings — offers by group, variants, seed,
    status — kept from ``original``); FieldError names the field of a mistake."""
    raw = values["holdout"].strip()
    try:
        holdout = float(raw) if raw else 10.0
    except ValueError:
        raise FieldError(
            "holdout", labels("st_number").format(what=labels("st_f_holdout"), got=raw)
        ) from None
    try:
        schedule = st.Schedule.parse(values["schedule"])
    except st.StrategyError as exc:
        raise FieldError("schedule", str(exc)) from None
    base = original or st.Strategy(name="", condition="")
    strategy = replace(
        base,
        name=values["name"],
        condition=values["when"],
        channel=values["channel"],
        offer=values["offer"],
        holdout_pct=holdout,
        cooldown_days=_whole(values, "cooldown", labels("st_f_cooldown"), labels, empty=0),
        max_per_run=_whole(values, "max", labels("st_f_max"), labels, empty=None),
        priority=_whole(values, "priority", labels("st_f_priority"), labels, empty=0),
        schedule=schedule,
        mode=values["mode"],
    )
    try:
        return st.check(strategy)
    except st.StrategyError as exc:
        raise FieldError(field_of(exc), str(exc)) from None


class StrategyForm(ModalScreen[str | None]):
    DEFAULT_CSS = """
    StrategyForm { align: center middle; }
    StrategyForm > Vertical {
        width: 100%; max-width: 110; height: auto; max-height: 100%; border: thick $primary;
        background: $surface; padding: 0 1; overflow-y: auto;
    }
    StrategyForm .row { height: auto; }
    StrategyForm .cell { width: 1fr; height: auto; }
    StrategyForm .line { height: 1; }
    StrategyForm Label { width: 15; color: $text-muted; }
    StrategyForm Input, StrategyForm Input:focus { border: none; height: 1; padding: 0 1; width: 1fr; }
    StrategyForm LiveCondition { width: 1fr; }
    StrategyForm SegmentCount { width: 1fr; }  /* its text grows after the first layout */
    StrategyForm Select { width: 1fr; height: 1; }
    StrategyForm Select > SelectCurrent { border: none; height: 1; padding: 0 1; }
    StrategyForm .error { height: auto; color: $error; padding: 0 0 0 15; display: none; }
    StrategyForm .error.-shown { display: block; }
    StrategyForm #preview { height: auto; color: $accent; margin-top: 1; }
    StrategyForm #buttons { height: auto; align-horizontal: right; }
    StrategyForm Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="strategy_form.cancel", tooltip="Close the form"),
        Binding(
            "ctrl+s",
            "save",
            "Save",
            id="strategy_form.save",
            tooltip="Save the strategy (the form stays open on a mistake)",
            priority=True,
        ),
    ]

    @dataclass
    class Previewed(Message):
        token: int
        preview: st.Preview | None
        total: int

    @dataclass
    class Saved(Message):
        name: str

    @dataclass
    class Refused(Message):
        key: str
        message: str
        pos: int | None = None  # the trigger's column of a QueryError

    def __init__(self, original: st.Strategy | None = None) -> None:
        super().__init__()
        self.original = original
        self.requests = Debounce(self)

    # ---------------------------------------------------------------- layout

    def _field(self, key: str, label: str, widget) -> ComposeResult:
        with Vertical(classes="cell"):
            with Horizontal(classes="line"):
                yield Label(label)
                yield widget
            yield Static("", id=f"e-{key}", classes="error", markup=False)

    def compose(self) -> ComposeResult:
        lab = cast(Any, self.app).labels
        s = self.original
        values = {
            "channel": s.channel if s else "push",
            "offer": s.offer if s else "",
            "holdout": f"{s.holdout_pct:g}" if s else "10",
            "cooldown": str(s.cooldown_days) if s else "0",
            "max": str(s.max_per_run) if s and s.max_per_run is not None else "",
            "priority": str(s.priority) if s else "0",
            "schedule": s.schedule.text if s else "daily",
        }
        hints = {"schedule": lab("st_schedule_hint"), "max": lab("st_max_hint")}
        with Vertical() as box:
            title = lab("st_edit") if s else lab("st_new")
            box.border_title = Content(visible(f"{title} {s.name}" if s else title))
            name = Input(s.name if s else "", id="f-name", disabled=s is not None)
            yield from self._field("name", lab("st_f_name"), name)
            with Vertical(classes="cell"), Horizontal(classes="row"):
                yield Label(lab("st_f_when"))
                yield LiveCondition(placeholder=lab("filter_hint"), id="f-when")
            pairs = [TEXT_FIELDS[i : i + 2] for i in range(0, len(TEXT_FIELDS), 2)]
            for pair in pairs:
                with Horizontal(classes="row"):
                    for key, label in pair:
                        widget = Input(values[key], placeholder=hints.get(key, ""), id=f"f-{key}")
                        yield from self._field(key, lab(label), widget)
                    if len(pair) == 1:
                        modes = [(lab(f"st_mode_{m}"), m) for m in st.MODES]
                        mode = Select(
                            modes, value=s.mode if s else "entering", allow_blank=False, id="f-mode"
                        )
                        yield from self._field("mode", lab("st_f_mode"), mode)
            yield Static("", id="preview", markup=False)
            with Horizontal(id="buttons"):
                yield Button(lab("st_save"), variant="primary", id="ok")
                yield Button(lab("st_cancel"), id="cancel")

    def on_mount(self) -> None:
        if not self.query(LiveCondition):  # opened while the app quits: nothing was composed
            return
        editor = self.query_one(LiveCondition)
        if self.original is not None:
            editor.set_condition(self.original.condition)
            editor.input.focus()
        else:
            self.query_one("#f-name", Input).focus()
        self.count_total()
        self.ask_preview()

    @work(thread=True, exclusive=True, group="strategy_form.total", exit_on_error=False)
    def count_total(self) -> None:
        with reader(cast(Any, self.app).settings.db_path) as conn:
            total = segments.total_users(conn)
        self.post_message(self.Previewed(-1, None, total))

    # ---------------------------------------------------------------- values

    def values(self) -> dict[str, str]:
        out = {key: self.query_one(f"#f-{key}", Input).value for key, _ in TEXT_FIELDS}
        out["name"] = self.query_one("#f-name", Input).value
        out["when"] = self.query_one(LiveCondition).input.value
        out["mode"] = str(self.query_one("#f-mode", Select).value)
        return out

    def show_error(self, key: str | None, message: str = "") -> None:
        """The message under field ``key`` (None clears every field's)."""
        for error in self.query(".error"):
            shown = key is not None and error.id == f"e-{key}"
            message = cast(Any, self.app).labels.message(message)  # core's, in the UI's language
            cast(Static, error).update(Text(visible(message)) if shown else "")
            error.set_class(shown, "-shown")

    def strategy(self) -> st.Strategy | None:
        """The form's strategy, or None after showing why not."""
        labels = cast(Any, self.app).labels
        try:
            found = build(self.values(), self.original, labels)
        except FieldError as exc:
            self.show_error(exc.key, str(exc))
            return None
        self.show_error(None)
        return found

    # ---------------------------------------------------------------- live preview

    @on(Input.Changed)
    @on(LiveCondition.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        self.ask_preview()

    def ask_preview(self) -> None:
        token = self.requests.bump()
        self.requests.later(lambda: self._preview_now(token))

    def _preview_now(self, token: int) -> None:
        values = self.values()
        if not values["when"].strip():
            self.query_one("#preview", Static).update("")
            return
        labels = cast(Any, self.app).labels
        # name, channel and offer do not change who is targeted: placeholders while they are
        # being typed (saving checks them)
        typed = {k: values[k] or "·" for k in ("name", "channel", "offer")}
        try:
            found = build({**values, **typed}, self.original, labels)
        except FieldError as exc:
            self.show_error(exc.key, str(exc))
            return
        self.show_error(None)
        self.query_one("#preview", Static).update(labels("st_counting"))
        self.count_preview(token, found)

    @work(thread=True, exclusive=True, group=PREVIEW_GROUP, exit_on_error=False)
    def count_preview(self, token: int, strategy: st.Strategy) -> None:
        with reader(cast(Any, self.app).settings.db_path) as conn:
            total = segments.total_users(conn)
            try:
                found: st.Preview | None = st.preview(conn, strategy)
            except QueryError:  # the trigger shows its own error at its column
                found = None
        if not get_current_worker().is_cancelled:
            self.post_message(self.Previewed(token, found, total))

    @on(Previewed)
    def _previewed(self, message: Previewed) -> None:
        self.query_one(LiveCondition).counter.total = message.total
        if not self.requests.is_current(message.token):
            return
        panel = self.query_one("#preview", Static)
        if message.preview is None:
            panel.update("")
        else:
            panel.update(preview_text(message.preview, cast(Any, self.app).labels))

    # ---------------------------------------------------------------- saving

    def action_save(self) -> None:
        found = self.strategy()
        if found is not None:
            self.save(found)

    @work(thread=True, group="write", exit_on_error=False)
    def save(self, strategy: st.Strategy) -> None:
        with writer(cast(Any, self.app).settings.db_path) as conn:
            try:
                saved = st.save(conn, strategy)
            except QueryError as exc:
                self.post_message(self.Refused("when", str(exc), exc.pos))
                return
            except st.StrategyError as exc:
                self.post_message(self.Refused(field_of(exc), str(exc)))
                return
        self.post_message(self.Saved(saved.name))

    @on(Saved)
    def _saved(self, message: Saved) -> None:
        self.dismiss(message.name)

    @on(Refused)
    def _refused(self, message: Refused) -> None:
        if message.key == "when":
            editor = self.query_one(LiveCondition)
            editor.error = (message.pos or 0, cast(Any, self.app).labels.message(message.message))
            editor.input.focus()
            return
        self.show_error(message.key, message.message)
        self.query_one(f"#f-{message.key}").focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    @on(LiveCondition.Accepted)
    def _accepted(self) -> None:
        pass  # Enter in the trigger closes its completions; ctrl+s or the button saves

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.action_save()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            cast(Any, self.app).report_worker_error(event.worker.error)
