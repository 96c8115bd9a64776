"""The segment builder: type a condition and see its count, share, sentence and first members;
save / delete / snapshot it; pick two saved segments to see how they overlap.

The editor is the users list's live condition (tui.widgets.live_condition: syntax checked at
once, the count and the first members after a pause in typing, stale results dropped), so the
screen only shows what it posts. Writes run in the "write" group on their own connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from core.audience import segments
from core.views import users
from core.views.text import visible
from tui.messages import DataWritten, OpenUsers
from tui.screens import WorkingScreen, reader
from tui.widgets.dialogs import ConfirmModal, Field, FormModal
from tui.widgets.footer import KeysFooter
from tui.widgets.live_condition import COMPLETE_GROUP, COUNT_GROUP, LiveCondition
from tui.widgets.segment_count import SegmentCount
from tui.widgets.segment_parts import offer_label, overlap_condition, preview_cell
from tui.widgets.status_line import StatusLine
from tui.widgets.writes import quoted, writer

PREVIEW_ROWS = 20
PREVIEW_COLUMNS = ("user_id", "name", "layer", "rfm_group", "monetary", "city")


@dataclass
class SegmentsLoaded(Message):
    found: list[tuple[segments.Segment, int | None]]
    total: int
    snapshots: list[segments.Snapshot] = field(default_factory=list)


@dataclass
class OverlapCounted(Message):
    pair: tuple[str, str]
    counts: tuple[int, int, int]


@dataclass
class SegmentWritten(Message):
    """A save, delete or snapshot finished: what to tell the operator."""

    note: str


class SegmentsScreen(WorkingScreen):
    CSS_PATH = "segments.tcss"
    CANCELLABLE = (COUNT_GROUP, COMPLETE_GROUP, "segments.overlap")
    HELP = """
## Segments
Type a condition: the count, the share of all users, the condition in words and the first
members update as you type; a mistake is marked under its column. **ctrl+s** saves it under a
name (saving over a name keeps the earlier definition in the history), **ctrl+n** freezes its
current members as a snapshot. **ctrl+l** goes to the saved list and back. In the list, **Enter** loads a segment, **space** picks it: pick
two to see only A / both / only B, and **Enter** on one of those lists the users; **ctrl+t**
deletes the highlighted segment (after a confirmation).
"""
    HELP_ZH = """
## 分群
输入条件：人数、占全部用户的比例、条件的文字描述和前几名成员随输入更新；错误标在所在列下方。
**ctrl+s** 以名称保存（覆盖同名时旧定义保留在历史中），**ctrl+n** 把当前成员冻结为快照。
**ctrl+l** 在已保存列表与条件之间切换。在列表中 **Enter** 载入分群，**space** 选择：选两个可看
仅A / 两者都在 / 仅B，在其中一项上按 **Enter** 列出其用户；**ctrl+t** 删除高亮的分群（需确认）。
"""  # HELP in Chinese: change both
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="segments.back", tooltip="Back"),
        Binding("ctrl+s", "save", "Save", id="segments.save", tooltip="Save the condition"),
        Binding(  # not ctrl+d: the condition Input deletes a character with it
            "ctrl+t", "delete", "Delete", id="segments.delete", tooltip="Delete the saved segment"
        ),
        Binding(
            "ctrl+n",
            "snapshot",
            "Snapshot",
            id="segments.snapshot",
            tooltip="Freeze the current members as a static list",
        ),
        Binding(
            "space",
            "pick",
            "Pick",
            id="segments.pick",
            tooltip="Pick the highlighted segment (two picked: their overlap)",
        ),
        Binding(  # one key both ways: ctrl+e would move the Input's cursor to the end instead
            "ctrl+l",
            "toggle_list",
            "List/edit",
            id="segments.list",
            tooltip="Go to the saved list, or back to the condition",
        ),
    ]
    PALETTE = (
        ("segment: Save as…", "Save the condition as a named segment", "save"),
        ("segment: Delete", "Delete the highlighted saved segment", "delete"),
        ("segment: Snapshot", "Freeze the segment's current members", "snapshot"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.condition = ""  # the text of the last count that arrived
        self.loaded: str | None = None  # the saved segment whose condition is in the editor
        self.saved: dict[str, tuple[segments.Segment, int | None]] = {}
        # snapshots, listed after the segments (a name already used by a segment is not)
        self.snapshots: dict[str, segments.Snapshot] = {}
        self.picked: list[str] = []
        self.overlap: tuple[str, str] | None = None

    def compose(self) -> ComposeResult:
        lab = self.app.labels
        with Horizontal(id="main"):
            with Vertical(id="side"):
                saved: DataTable[object] = DataTable(
                    id="saved", cursor_type="row", zebra_stripes=True
                )
                saved.border_title = lab("saved_segments")
                yield saved
                overlap: DataTable[object] = DataTable(id="overlap", cursor_type="row")
                overlap.border_title = lab("overlap")
                yield overlap
            with Vertical(id="builder"):
                yield LiveCondition(
                    placeholder=lab("filter_hint"),
                    preview=PREVIEW_ROWS,
                    offer=offer_label,
                    id="editor",
                )
                yield Static("", id="human", markup=False)
                yield Static("", id="about", markup=False)
                preview: DataTable[object] = DataTable(
                    id="preview", zebra_stripes=True, cursor_type="none"
                )
                preview.border_title = lab("preview_members")
                yield preview
        yield StatusLine(id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.editor.input.focus()
        self.refresh_status()
        self.load_segments()

    def refresh_data(self) -> None:
        self.load_segments()

    @property
    def editor(self) -> LiveCondition:
        return self.query_one(LiveCondition)

    # ---------------------------------------------------------------- workers (threads)

    @work(thread=True, exclusive=True, group="segments.load", exit_on_error=False)
    def load_segments(self) -> None:
        with reader(self.app.settings.db_path) as conn:
            found = segments.list_segments(conn, self.app.settings.as_of)
            total = segments.total_users(conn)
            snapshots = segments.list_snapshots(conn)
        self.post_message(SegmentsLoaded(found, total, snapshots))

    @work(thread=True, exclusive=True, group="segments.overlap", exit_on_error=False)
    def count_overlap(self, a: str, b: str) -> None:
        with reader(self.app.settings.db_path) as conn:
            counts = segments.compare(conn, a, b, as_of=self.app.settings.as_of)
        self.post_message(OverlapCounted((a, b), counts))

    @work(thread=True, exclusive=False, group="write", exit_on_error=False)
    def write(self, what: str, name: str, text: str = "", description: str = "") -> None:
        as_of, lab = self.app.settings.as_of, self.app.labels
        with writer(self.app.settings.db_path) as conn:
            if what == "save":
                segments.save(conn, name, text, description, as_of=as_of)
                n = len(segments.history(conn, name))
                note = lab.words("seg_saved", name=name, n=n)
            elif what == "delete":
                segments.delete(conn, name)
                note = lab.words("seg_deleted", name=name)
            else:
                snap = segments.snapshot(conn, name, as_of=as_of)
                note = lab.words("seg_snapshot", name=snap.name, n=f"{snap.members:,}")
        self.post_message(SegmentWritten(note))

    # ---------------------------------------------------------------- typing

    @on(LiveCondition.Counted)
    def _counted(self, message: LiveCondition.Counted) -> None:
        # the editor drops stale counts and shows this one: the rest of the builder follows
        self.condition = message.condition.text
        self.query_one("#human", Static).update(
            visible(message.condition.human(self.app.labels.lang), keep="\n")
        )
        self._show_preview(message.preview)
        self.refresh_status()

    def _show_preview(self, rows: list[users.UserRow]) -> None:
        lab, table = self.app.labels, self.query_one("#preview", DataTable)
        table.clear(columns=True)
        for column in PREVIEW_COLUMNS:
            table.add_column(lab(column), key=column)
        for row in rows:
            table.add_row(*(preview_cell(row, c, lab) for c in PREVIEW_COLUMNS), key=row.user_id)

    # ---------------------------------------------------------------- the saved list

    @on(SegmentsLoaded)
    def _loaded(self, message: SegmentsLoaded) -> None:
        self.saved = {seg.name: (seg, n) for seg, n in message.found}
        self.snapshots = {s.name: s for s in message.snapshots if s.name not in self.saved}
        self.query_one(SegmentCount).total = message.total
        self.picked = [p for p in self.picked if p in self.saved or p in self.snapshots]
        self._fill_list()
        self.refresh_status()

    def _fill_list(self) -> None:
        lab, table = self.app.labels, self.query_one("#saved", DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        table.add_column("", key="pick")
        table.add_column(lab("segment"), key="name")
        table.add_column(lab("count"), key="count")
        for name, (_, n) in self.saved.items():
            pick = "AB"[self.picked.index(name)] if name in self.picked else ""
            shown = "?" if n is None else f"{n:,}"  # ? = no longer compiles
            table.add_row(pick, Text(visible(name)), Text(shown, justify="right"), key=name)
        for name, snap in self.snapshots.items():
            pick = "AB"[self.picked.index(name)] if name in self.picked else ""
            title = Text(visible(name))
            title.append(f" ({lab('snapshot_tag')})", style="dim")
            table.add_row(pick, title, Text(f"{snap.members:,}", justify="right"), key=name)
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1), animate=False)

    def highlighted(self) -> str | None:
        table = self.query_one("#saved", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    @on(DataTable.RowSelected, "#saved")
    def _load_segment(self, message: DataTable.RowSelected) -> None:
        name = str(message.row_key.value)
        if name in self.snapshots:  # a frozen list: the editor gets its members as a condition
            snap = self.snapshots[name]
            self.loaded = None
            self.editor.input.value = f"in segment {quoted(name)}"
            about = self.app.labels("snapshot_about").format(
                name=visible(name), of=visible(snap.segment or snap.query), as_of=snap.as_of
            )
            self.query_one("#about", Static).update(about)
            self.editor.input.focus()
            return
        seg, _ = self.saved[name]
        self.loaded = seg.name
        self.editor.input.value = seg.query  # counts as if typed
        about = f"{visible(seg.name)}: {visible(seg.description)}".rstrip(": ")
        self.query_one("#about", Static).update(about)
        self.editor.input.focus()

    def action_pick(self) -> None:
        name = self.highlighted()
        if name is None or not self.query_one("#saved").has_focus:
            return
        if name in self.picked:
            self.picked.remove(name)
        else:
            self.picked = [*self.picked, name][-2:]
        self._fill_list()
        self.query_one("#overlap", DataTable).clear(columns=True)
        if len(self.picked) == 2:
            self.count_overlap(*self.picked)

    @on(OverlapCounted)
    def _overlap(self, message: OverlapCounted) -> None:
        if list(message.pair) != self.picked:
            return
        a, b = message.pair
        lab, table = self.app.labels, self.query_one("#overlap", DataTable)
        table.clear(columns=True)
        table.add_column(lab("part"), key="part")
        table.add_column(lab("count"), key="count")
        parts = (f"{lab('only')} A", lab("both"), f"{lab('only')} B")
        for key, part, n in zip(("only_a", "both", "only_b"), parts, message.counts, strict=True):
            table.add_row(part, Text(f"{n:,}", justify="right"), key=key)
        self.overlap = (a, b)

    @on(DataTable.RowSelected, "#overlap")
    def _open_part(self, message: DataTable.RowSelected) -> None:
        if self.overlap is not None:
            part = str(message.row_key.value)
            a, b = (visible(name) for name in self.overlap)
            title = {"only_a": f"{a} − {b}", "both": f"{a} ∩ {b}", "only_b": f"{b} − {a}"}[part]
            self.post_message(OpenUsers(overlap_condition(*self.overlap, part), title))

    # ---------------------------------------------------------------- save / delete / snapshot

    def action_save(self) -> None:
        text = self.editor.input.value.strip()
        if not text or self.editor.error is not None:
            lab = self.app.labels
            self.notify(lab("type_valid_first"), title=lab("nothing_to_save"), markup=False)
            return
        seg = self.saved.get(self.loaded or "")
        fields = [
            Field("name", self.app.labels("segment"), self.loaded or ""),
            Field("description", self.app.labels("description"), seg[0].description if seg else ""),
        ]

        def done(values: dict | None) -> None:
            if values and values["name"].strip():
                self.loaded = values["name"].strip()
                self.write("save", self.loaded, text, values["description"])

        lab = self.app.labels
        title = lab.text("segment: Save as…")
        self.app.push_screen(FormModal(title, fields, lab("save"), lab("cancel")), done)

    def action_delete(self) -> None:
        name = self.highlighted()
        if name is None:
            return
        if name in self.snapshots:
            self.notify(self.app.labels("snapshot_kept"), markup=False)
            return

        def done(ok: bool | None) -> None:
            if ok:
                self.write("delete", name)

        lab = self.app.labels
        question = lab.words("delete_segment_question", name=name)
        self.app.push_screen(ConfirmModal(question, lab("delete"), lab("cancel")), done)

    def action_snapshot(self) -> None:
        focused_list = self.query_one("#saved").has_focus
        name = self.highlighted() if focused_list else (self.loaded or self.condition)
        if name:
            self.write("snapshot", name)

    @on(SegmentWritten)
    def _written(self, message: SegmentWritten) -> None:
        self.notify(message.note, markup=False)
        self.post_message(DataWritten("segments"))  # every open screen reloads, this one too

    def query_cancelled(self) -> None:
        self.query_one(SegmentCount).pending = False  # the last count and preview stay

    def action_toggle_list(self) -> None:
        saved = self.query_one("#saved")
        if saved.has_focus:
            self.editor.input.focus()
        else:
            saved.focus()

    def refresh_status(self) -> None:
        lab, settings = self.app.labels, self.app.settings
        parts = [lab("segments_title"), Path(settings.db_path).name]
        parts.append(self.app.as_of_label())
        parts.append(f"{len(self.saved)} {lab('saved')}")
        if self.picked:
            parts.append(f"{lab('picked')}: {' · '.join(self.picked)}")
        self.query_one(StatusLine).text = " · ".join(parts)
