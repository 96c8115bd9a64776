"""Every main screen at 80×24 and 160×48, in Chinese and English (issue 13 item 9).

One parametrised list: screen_states.MAIN_SCREENS × SIZES × LANGS. Add a screen to
MAIN_SCREENS (and its State to STATES) and its four snapshots follow. The database is the small
demo of screen_states (400 users, seed 7, a campaign and a saved segment, fixed timestamps).

Update only after looking at snapshot_report.html:
``pytest tests/tui/test_snapshots_sizes.py --snapshot-update``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from screen_states import BY_NAME, MAIN_SCREENS, build_small_demo, demo_app, reach

SIZES = ((80, 24), (160, 48))
LANGS = ("zh", "en")
CASES = [
    pytest.param(name, size, lang, id=f"{name}-{size[0]}x{size[1]}-{lang}")
    for name in MAIN_SCREENS
    for size in SIZES
    for lang in LANGS
]


@pytest.fixture(scope="module")
def built_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_small_demo(tmp_path_factory.mktemp("sizes") / "demo.db")


@pytest.fixture
def small_demo(built_demo: Path, tmp_path: Path) -> Path:
    """A copy per test: the screens only read, but nothing one test does reaches another."""
    return Path(shutil.copy(built_demo, tmp_path / "demo.db"))


@pytest.mark.parametrize(("name", "size", "lang"), CASES)
def test_screen(snap_compare, small_demo, name, size, lang):
    state = BY_NAME[name]

    async def run_before(pilot) -> None:
        await reach(pilot, state)

    app = demo_app(small_demo, lang)
    assert snap_compare(app, terminal_size=size, run_before=run_before)
