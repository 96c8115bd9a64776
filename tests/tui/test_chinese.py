"""With ``--lang zh`` nothing the operator reads is English.

Every state of screen_states.STATES (each main screen and dialog) is reached in Pilot with the
Chinese labels; what the screen shows, the help of that screen, the command palette's entries
and the toasts shown on the way are scanned for English words. Allowed: the user data of the
database (names, attribute values, tag and campaign names, everything stored), the names an
operator types (fields, functions and words of the condition language, event kinds as written
in a condition), key names, units and a short list of abbreviations (RFM, MECE, CSV, …).

A word is a run of ASCII letters; a finding is two or more words in a row (separated by spaces
or light punctuation), or one word of four letters or more that is not allowed. A label left in
English ("Orders and events", "palette", "Create") fails the test and is named in the message.
"""

from __future__ import annotations

import io
import re
import sqlite3
from pathlib import Path

import pytest
from rich.console import Console
from screen_states import STATES, build_small_demo, demo_app, reach

from core.query.fields import LABELS as FIELD_LABELS
from core.store.columns import HEADERS as COLUMN_HEADERS
from core.store.schema import EVENT_KINDS

SIZE = (200, 60)  # wide and tall: nothing of the screen is cut off or scrolled away


def _words(text: str) -> set[str]:
    return set(text.split())


# Written by the operator or part of a name: allowed in Chinese too.
ABBREVIATIONS = _words(
    # abbreviations and names of methods
    "RFM MECE CSV ID CLV LTV BIC MAE BG NBD MBG Pareto Gamma Newcombe Wilson Welch t YYYY MM DD "
    "SQLite iOS pp CI vs UTF "
    # key names (the footer and the help write keys as Textual names them)
    "ctrl esc Esc Escape Enter Tab Up Down PageUp PageDown space shift Home End home left right "
    "backspace delete pagedown pageup F R M L S T P N U D x e d v "
    # CLI commands and options quoted in hints
    "userops DB alive demo recompute model validate calibration end layers users format csv json "
    "as of lang zh en mask use bgnbd mbgnbd refresh strategy control "
    # the models' parameters, as in the literature
    "alpha beta gamma"
)
# The condition language: words an operator types in a condition (docs/query-language.md).
QUERY_WORDS = _words(
    "and or not in is empty between contains startswith tag segment campaign target control "
    "targeted within did then no count first last orders spent order category value transition "
    "from to days since true false"
)


def allowed_words(db: Path) -> set[str]:
    """User data (every text stored in the database) and the names an operator types."""
    words = set(ABBREVIATIONS) | QUERY_WORDS | set(EVENT_KINDS)
    for name in (*FIELD_LABELS, *COLUMN_HEADERS):
        words.update(re.findall(r"[A-Za-z]+", name))
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            if table in {"tag_rules", "layer_rules", "meta", "models", "model_fits"}:
                continue  # texts the app itself wrote: must be translated, not waved through
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info('{table}')")]
            for col in cols:
                for (v,) in conn.execute(f"SELECT DISTINCT \"{col}\" FROM '{table}' LIMIT 500"):
                    if isinstance(v, str):
                        words.update(re.findall(r"[A-Za-z]+", v))
    finally:
        conn.close()
    return words


WORD = re.compile(r"[A-Za-z]+")
# identifiers the operator types (r_score, logins_30d, cart_add), dates, numbers with units
IDENTIFIER = re.compile(  # file names too (an export's default path: 双十一-targets.csv)
    r"\b[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+\b|\b\d+[A-Za-z]+\b|[A-Za-z]+\(|\S+\.(?:csv|db|md)\b"
)
RUN = re.compile(r"[A-Za-z]+(?:[ ,:;'’/-]{1,3}[A-Za-z]+)*")


def english(text: str, allowed: set[str]) -> list[str]:
    """The English found in ``text``: runs of words holding a word that is not allowed, when
    the run has two words or more or its one word has four letters or more."""
    found = []
    for line in IDENTIFIER.sub(" § ", text).splitlines():
        for run in RUN.finditer(line):
            words = WORD.findall(run.group(0))
            if all(w in allowed for w in words):
                continue
            if len(words) >= 2 or len(words[0]) >= 4:
                found.append(run.group(0))
    return found


def screen_text(app) -> str:
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True,
                      color_system=None, legacy_windows=False)  # fmt: skip
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


def help_text(app) -> str:
    from tui.screens.modals import HelpModal

    screen = app.screen if not isinstance(app.screen, HelpModal) else app.screen_stack[-2]
    return HelpModal(screen).text


def palette_text(app) -> str:
    return "\n".join(f"{cmd.title}\n{cmd.help}" for cmd in app.get_system_commands(app.screen))


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_small_demo(tmp_path_factory.mktemp("zh") / "demo.db")


@pytest.fixture(scope="module")
def allowed(small_demo: Path) -> set[str]:
    return allowed_words(small_demo)


def test_the_detector_finds_an_untranslated_label(allowed):
    """The scan itself: English labels are found, user data and typed names are not."""
    assert english("订单与事件  Orders and events", allowed) == ["Orders and events"]
    assert english("^p palette", allowed) == ["p palette"]
    assert english("按键 Create 取消", allowed) == ["Create"]
    assert english("筛选 city = '上海' and r_score >= 4 · 近30天 登录 次数", allowed) == []
    assert english("RFM分组 · BG/NBD · 2025-11-30 · 30d · count(login, 30d)", allowed) == []


@pytest.mark.parametrize("state", STATES, ids=lambda s: s.name)
async def test_no_english_with_lang_zh(small_demo, allowed, state):
    app = demo_app(small_demo, "zh")
    async with app.run_test(size=SIZE) as pilot:
        await reach(pilot, state)
        parts = {
            "screen": screen_text(app),
            "help": help_text(app),
            "palette": palette_text(app),
            "toasts": "\n".join(f"{n.title}\n{n.message}" for n in app._notifications),
        }
    typed = allowed | set(WORD.findall(state.text))  # what the operator typed is theirs
    found = {where: english(text, typed) for where, text in parts.items()}
    found = {where: sorted(set(words)) for where, words in found.items() if words}
    assert not found, f"English in {state.name} with --lang zh: {found}"


@pytest.mark.parametrize(
    ("typed", "zh"), [("daily", "每天"), ("every:7", "每7天"), ("thu,mon", "周一、周四")]
)
def test_a_strategys_schedule_in_words(typed: str, zh: str) -> None:
    from core.audience.strategies.model import Schedule
    from tui.i18n import Labels

    schedule = Schedule.parse(typed)
    assert Labels("zh").schedule(schedule) == zh
    assert Labels("en").schedule(schedule) == schedule.text  # the syntax one types


async def test_the_command_palette_in_chinese(small_demo, allowed):
    app = demo_app(small_demo, "zh")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        for _ in range(100):  # until it is open and drawn (slower on a loaded machine)
            await pilot.pause(0.05)
            if type(app.screen).__name__ == "CommandPalette" and app.screen.query("CommandList"):
                break
        shown = screen_text(app)
    assert "搜索命令…" in shown  # the prompt said "Search for commands…"
    assert english(shown, allowed) == []
