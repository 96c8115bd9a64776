"""Every key of the app is documented, described and unshadowed.

Collected from the classes themselves (the merged BINDINGS of the app, every screen and every
widget of ours), so a new key cannot be added without its id, description, tooltip, a line in
tui/help.md and no clash with the app-wide keys.
"""

from __future__ import annotations

import re
from pathlib import Path

from textual.binding import Binding
from textual.screen import ModalScreen

import tui
from tui.app import ANALYTICS, UserOpsApp
from tui.screens.modals import HelpModal, key_label
from tui.screens.profile import ProfileScreen
from tui.screens.strategies import RunConfirm
from tui.screens.users import UsersScreen
from tui.widgets.dialogs import ConfirmModal, FormModal
from tui.widgets.query_input import QueryInput
from tui.widgets.rfm_parts import ConfirmSave
from tui.widgets.strategy_form import StrategyForm
from tui.widgets.user_table import UserTable

ROOT = Path(tui.__file__).parent
SCREENS = [UsersScreen, ProfileScreen, *ANALYTICS.values()]
MODALS = [HelpModal, ConfirmModal, FormModal, ConfirmSave, StrategyForm, RunConfirm]
WIDGETS = [QueryInput, UserTable]


def own_bindings(cls) -> list[Binding]:
    """The bindings a userops class declares, its userops base classes included."""
    found = []
    for klass in cls.__mro__:
        if klass.__module__.startswith("tui.") and "BINDINGS" in vars(klass):
            found += [b for b in klass.BINDINGS if isinstance(b, Binding)]
    return found


def keys_of(binding: Binding) -> list[str]:
    return [k.strip() for k in binding.key.split(",")]


def test_every_binding_has_id_description_and_tooltip():
    for cls in [UserOpsApp, *SCREENS, *MODALS, *WIDGETS]:
        for b in own_bindings(cls):
            assert b.id and b.description and b.tooltip, (cls.__name__, b.key)


def test_the_classes_declare_what_we_expect():  # the collection itself can fail
    keys = {k for b in own_bindings(UsersScreen) for k in keys_of(b)}
    assert {"slash", "f", "space", "u", "ctrl+x"} <= keys
    assert len(own_bindings(UserOpsApp)) == 10  # + P, the Models view (issue 15); + f5 refresh
    # + A, the Strategies screen (issue 16)


def test_no_screen_key_shadows_an_app_key():
    app_keys = {k for b in own_bindings(UserOpsApp) for k in keys_of(b)}
    for cls in [*SCREENS, *WIDGETS]:
        clash = {k for b in own_bindings(cls) for k in keys_of(b)} & app_keys
        assert not clash, (cls.__name__, clash)
    assert all(issubclass(m, ModalScreen) for m in MODALS)  # the app's keys are off in modals


def test_same_action_same_key_everywhere():
    """Bindings of one action share a key (a modal may add one: ``n`` also says no)."""
    keys_for: dict[str, set[str]] = {}
    for cls in [UserOpsApp, *SCREENS, *MODALS, *WIDGETS]:
        for b in own_bindings(cls):
            action = b.action.removeprefix("app.")
            if action in ("dismiss", "back", "pop_screen", "answer(False)", "cancel"):
                action = "back"  # leaving a screen or a modal
            shared = keys_for.setdefault(action, set(keys_of(b))) & set(keys_of(b))
            assert shared, (cls.__name__, action, b.key, keys_for[action])
            keys_for[action] = shared
    assert keys_for["back"] == {"escape"}


def test_every_key_is_in_the_help_guide():
    guide = (ROOT / "help.md").read_text(encoding="utf-8")
    written = set(re.findall(r"`([^`]+)`", guide))
    for cls in [UserOpsApp, *SCREENS, *MODALS, *WIDGETS]:
        for b in own_bindings(cls):
            for key in keys_of(b):
                assert key_label(key) in written, (cls.__name__, key)


def test_every_screen_key_is_in_the_readme_table():
    readme = (ROOT.parent / "README.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip(): line.split("|")[2].strip()
        for line in readme.splitlines()
        if line.startswith("| ") and line.count("|") >= 4
    }
    screen_rows = {"layers": "Layers", "rfm": "RFM", "tags": "Tags"}
    screen_rows |= {"segments": "Segments", "campaigns": "Campaigns", "models": "Models"}
    screen_rows |= {"strategies": "Strategies"}
    for b in own_bindings(UserOpsApp):
        opened = re.fullmatch(r"analytics\('(\w+)'\)", b.action)
        if opened:
            assert rows[screen_rows[opened.group(1)]] == f"`{b.key}`", b.key
    assert rows["Profile"] == "Enter"  # opened from the users table


def test_every_binding_has_a_chinese_description():
    from tui.i18n import BINDING_LABELS_ZH

    for cls in [UserOpsApp, *SCREENS, *MODALS, *WIDGETS]:
        for b in own_bindings(cls):
            assert BINDING_LABELS_ZH.get(b.id), (cls.__name__, b.id)


async def test_footer_and_help_follow_the_language(sample_db):
    from tui_helpers import make_app, settle

    app = make_app(sample_db, lang="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        shown = {a.binding.description for a in app.screen.active_bindings.values()}
        assert {"搜索", "筛选", "排序", "分层", "活动", "退出"} <= shown
        assert "Search" not in shown
        footer_keys = {k.description for k in app.screen.query("FooterKey")}
        assert {"搜索", "筛选", "帮助"} <= footer_keys
        await pilot.press("question_mark")
        await settle(app, pilot)
        text = app.screen.text
        assert "### 本页按键" in text and "| `/` | 搜索 |" in text

    app = make_app(sample_db, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert "Search" in {k.description for k in app.screen.query("FooterKey")}
