"""Marking users as targets of the current campaign, shared by the users table and the profile.

Marks are keyed by user id (visidata's selection model): after every page, search or write the
screen asks which of the users it shows are targets or control, so paging and sorting never
lose or move a mark. Writes run in the "write" worker group on their own connection; the core
refuses a locked campaign and the error router says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual import on, work
from textual.binding import Binding
from textual.message import Message
from textual.worker import get_current_worker

from core.audience import campaigns as cmp
from core.audience.effect import Power, projected_power
from core.query import Compiled, compile_condition
from core.views import users
from tui.messages import DataWritten
from tui.screens import WorkingScreen, reader
from tui.widgets.dialogs import ConfirmModal
from tui.widgets.power_text import power_text
from tui.widgets.writes import current_campaign, quoted, who, writer


@dataclass
class MarksLoaded(Message):
    campaign: str
    target_ids: set[str]  # of the users asked about
    control_ids: set[str]
    n_targets: int  # of the whole campaign
    n_control: int
    status: str


@dataclass
class MarkAllProjected(Message):
    campaign: str
    condition: str | Compiled
    matching: int
    power: Power


@dataclass
class MarksWritten(Message):
    note: str


@dataclass
class CampaignState:
    """What the screen knows of the current campaign (for the mark column and the status line)."""

    name: str | None = None
    targets: set[str] = field(default_factory=set)
    control: set[str] = field(default_factory=set)
    n_targets: int = 0
    n_control: int = 0
    status: str = ""

    def roles(self) -> dict[str, str]:
        return {**dict.fromkeys(self.control, "control"), **dict.fromkeys(self.targets, "target")}


def among(conn, role: str, campaign: str, ids: list[str], as_of) -> set[str]:
    """Which of ``ids`` have ``role`` in ``campaign`` (through the condition language)."""
    if not ids:
        return set()
    id_list = ", ".join(quoted(i) for i in ids)
    text = f"{role} of campaign {quoted(campaign)} and user_id in ({id_list})"
    compiled = compile_condition(conn, text, as_of=as_of)
    page = users.page(conn, condition=compiled, limit=len(ids))
    return {row.user_id for row in page.rows}


MARK_ACTIONS = ("toggle_mark", "undo_mark", "mark_filtered")


class MarkingScreen(WorkingScreen):
    """A screen whose users can be marked with space; subclasses say which users they show."""

    BINDINGS = [
        Binding(
            "space",
            "toggle_mark",
            "Mark",
            id="marking.toggle",
            tooltip="Mark / unmark the user as a target of the current campaign",
        ),
        Binding(
            "u",
            "undo_mark",
            "Undo mark",
            id="marking.undo",
            tooltip="Undo the last change of the current campaign's targets",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.marking = CampaignState()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MARK_ACTIONS:
            return current_campaign(self.app) is not None  # no campaign chosen: keys hidden
        return super().check_action(action, parameters)

    # what a subclass provides --------------------------------------------------------------

    def shown_user_ids(self) -> list[str]:
        return []

    def highlighted_user_id(self) -> str | None:
        return None

    def marks_changed(self) -> None:
        """The marks or counts changed: redraw the mark column and the status line."""

    # ---------------------------------------------------------------------------------------

    def marking_status(self) -> str:
        m, lab = self.marking, self.app.labels
        if m.name is None:
            return ""
        locked = f" ({lab('locked')})" if m.status and m.status != "draft" else ""
        return (
            f"{m.name}{locked}: {m.n_targets:,} {lab('target')} · {m.n_control:,} {lab('control')}"
        )

    def refresh_marks(self) -> None:
        name = current_campaign(self.app)
        self.refresh_bindings()  # the marking keys show only with a current campaign
        if name is None:
            if self.marking.name is not None:
                self.marking = CampaignState()
                self.marks_changed()
            return
        self.load_marks(name, self.shown_user_ids())

    @work(thread=True, exclusive=True, group="marks", exit_on_error=False)
    def load_marks(self, campaign: str, ids: list[str]) -> None:
        as_of = self.app.settings.as_of
        with reader(self.app.settings.db_path) as conn:
            found = cmp.get_campaign(conn, campaign)
            targets = among(conn, "target", campaign, ids, as_of)
            control = among(conn, "control", campaign, ids, as_of)
            n_targets, n_control = cmp.counts(conn, campaign)
        if not get_current_worker().is_cancelled:
            self.post_message(
                MarksLoaded(campaign, targets, control, n_targets, n_control, found.status)
            )

    @on(MarksLoaded)
    def _marks_loaded(self, message: MarksLoaded) -> None:
        if message.campaign != current_campaign(self.app):
            return
        self.marking = CampaignState(
            message.campaign,
            message.target_ids,
            message.control_ids,
            message.n_targets,
            message.n_control,
            message.status,
        )
        self.marks_changed()

    @work(thread=True, group="write", exit_on_error=False)
    def write_marks(self, what: str, campaign: str, arg: str | Compiled) -> None:
        lab = self.app.labels
        with writer(self.app.settings.db_path) as conn:
            if isinstance(arg, Compiled):  # bulk, a list core built (a transitions cell)
                note = self._mark_condition(conn, campaign, arg)
            elif what == "mark":
                cmp.mark(conn, campaign, [arg], who=who(), source="key")
                note = lab.words("mark_note", user=arg, campaign=campaign)
            elif what == "unmark":
                cmp.unmark(conn, campaign, [arg], who=who(), source="key")
                note = lab.words("unmark_note", user=arg, campaign=campaign)
            elif what == "undo":
                entry = cmp.undo_last(conn, campaign, who())
                note = lab.words("undo_note", campaign=campaign, n=f"{entry.n_users:,}",
                                 action=lab.audit_action(entry.action))  # fmt: skip
            else:
                note = self._mark_condition(conn, campaign, arg)
        self.post_message(MarksWritten(note))

    def _mark_condition(self, conn, campaign: str, condition: str | Compiled) -> str:
        as_of = self.app.settings.as_of
        if isinstance(condition, Compiled):
            compiled, condition = condition, condition.text
        else:
            compiled = compile_condition(conn, condition, as_of=as_of)
        report = cmp.add_from_segment(
            conn,
            campaign,
            compiled,
            holdout_pct=0,
            as_of=as_of,
            who=who(),
            source=f"filter: {condition or 'all users'}",
        )
        n, k = f"{report.added_targets:,}", f"{report.excluded_already_in:,}"
        return self.app.labels.words("bulk_note", campaign=campaign, n=n, k=k)

    @on(MarksWritten)
    def _marks_written(self, message: MarksWritten) -> None:
        self.notify(message.note, markup=False, timeout=3)
        self.post_message(DataWritten("marks"))  # every open list and profile reloads (+ marks)

    def _campaign_to_write(self) -> str | None:
        """The current campaign when it can change; otherwise say why not."""
        name = current_campaign(self.app)
        if name is None:
            self.notify(
                self.app.labels("no_current"),
                title=self.app.labels("nothing_to_mark"),
                markup=False,
            )
            return None
        if self.marking.name == name and self.marking.status not in ("", "draft"):
            lab = self.app.labels
            self.notify(
                lab.words("locked_note", name=name, status=lab.status(self.marking.status)),
                title=lab("campaign_locked"),
                severity="warning",
                markup=False,
            )
            return None
        return name

    def action_toggle_mark(self) -> None:
        user_id = self.highlighted_user_id()
        name = self._campaign_to_write() if user_id else None
        if name is None or user_id is None:
            return
        if user_id in self.marking.control:
            self.notify(self.app.labels.words("in_control", user=user_id, name=name), markup=False)
            return
        self.write_marks("unmark" if user_id in self.marking.targets else "mark", name, user_id)

    def action_undo_mark(self) -> None:
        name = self._campaign_to_write()
        if name is not None:
            self.write_marks("undo", name, "")

    def confirm_mark_all(self, condition: str | Compiled, matching: int) -> None:
        """Bulk: every user matching ``condition`` becomes a target (holdout 0), after a yes.
        The question says what the campaign's groups could show after it (the control size
        and the minimum detectable uplift), worked out first in a worker."""
        name = self._campaign_to_write()
        if name is None:
            return
        self.project_mark_all(name, condition, matching)

    @work(thread=True, exclusive=True, group="marks.power", exit_on_error=False)
    def project_mark_all(self, campaign: str, condition: str | Compiled, matching: int) -> None:
        with reader(self.app.settings.db_path) as conn:
            compiled = (
                condition  # a list core built (a transitions cell)
                if isinstance(condition, Compiled)
                else compile_condition(
                    conn, condition or "user_id is not empty", as_of=self.app.settings.as_of
                )
            )
            power = projected_power(conn, campaign, compiled)
        if not get_current_worker().is_cancelled:
            self.post_message(MarkAllProjected(campaign, condition, matching, power))

    @on(MarkAllProjected)
    def _ask_mark_all(self, message: MarkAllProjected) -> None:
        name, condition = message.campaign, message.condition
        lab = self.app.labels
        question = lab.words("mark_all_question", n=f"{message.matching:,}", name=name)
        question += f"\n\n{lab('power_after')}: {power_text(message.power, lab)}"

        def done(ok: bool | None) -> None:
            if ok:
                self.write_marks("bulk", name, condition)

        self.app.push_screen(ConfirmModal(question, lab("mark_all"), lab("cancel")), done)
