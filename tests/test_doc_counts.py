"""The counts the docs quote about the demo are the shipped demo.db's (issue 13, item 15).

The numbers are read from the docs and compared with a live count, so after the demo is rebuilt
updating the docs is the only step: a failure names the doc, the quoted number and the real one.
A quote this test cannot find fails too (the sentence or the table row was reworded).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo.db"
LAYERS_DOC = ROOT / "docs" / "layers-and-tags.md"
DEMO_DOC = ROOT / "docs" / "demo.md"

pytestmark = pytest.mark.skipif(not DEMO.exists(), reason="no shipped demo.db in this tree")


@pytest.fixture(scope="module")
def demo() -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{DEMO}?mode=ro", uri=True)
    yield conn
    conn.close()


def number(text: str) -> int:
    return int(text.replace(",", ""))


def one_line(path: Path) -> str:
    """The doc with line breaks as spaces (quotes wrap across lines)."""
    return re.sub(r"\s*\n\s*", " ", path.read_text(encoding="utf-8"))


def found(pattern: str, text: str, doc: Path) -> re.Match:
    match = re.search(pattern, text)
    assert match, f"{doc.name}: the quoted counts ({pattern!r}) are not there any more"
    return match


def as_of(demo: sqlite3.Connection) -> str:
    return demo.execute("SELECT value FROM meta WHERE key = 'as_of'").fetchone()[0]


def test_layer_counts_in_layers_and_tags(demo):
    text = one_line(LAYERS_DOC)
    m = found(
        r"On the ([\d,]+)-user demo \(seed \d+, as of ([\d-]+)\) these give (.+?), gap ([\d,]+)",
        text,
        LAYERS_DOC,
    )
    quoted = {name: number(n) for name, n in re.findall(r"([a-z_]+) ([\d,]+)", m.group(3))}
    assert len(quoted) >= 7, m.group(3)
    live = dict(demo.execute("SELECT layer, count(*) FROM features GROUP BY layer"))
    users = demo.execute("SELECT count(*) FROM features").fetchone()[0]
    assert (number(m.group(1)), m.group(2)) == (users, as_of(demo)), LAYERS_DOC.name
    assert quoted == {k: live.get(k, 0) for k in quoted}, f"{LAYERS_DOC.name}: live {live}"
    assert number(m.group(4)) == live.get("unclassified", 0), f"{LAYERS_DOC.name}: gap"


def _row(text: str, table: str) -> tuple[int, str]:
    m = found(rf"\| {table} \| ([\d,]+) \| ([^|]*)\|", text, DEMO_DOC)
    return number(m.group(1)), m.group(2)


def test_table_counts_in_demo_doc(demo):
    text = DEMO_DOC.read_text(encoding="utf-8")
    cut = demo.execute("SELECT date(?, '+1 day')", (as_of(demo),)).fetchone()[0]
    users, notes = _row(text, "users")
    assert users == demo.execute("SELECT count(*) FROM users").fetchone()[0], "users"
    by, later = demo.execute(
        "SELECT total(signup_at < ?), total(signup_at >= ?) FROM users", (cut, cut)
    ).fetchone()
    quoted = found(
        r"^([\d,]+) signed up by the as-of date.*; then ([\d,]+) sign up in ", notes, DEMO_DOC
    )
    assert (number(quoted.group(1)), number(quoted.group(2))) == (by, later), "users by/after"
    orders, notes = _row(text, "orders")
    up_to, after = demo.execute(
        "SELECT total(created_at < ?), total(created_at >= ?) FROM orders", (cut, cut)
    ).fetchone()
    assert orders == up_to, f"{DEMO_DOC.name}: orders up to the as-of date"
    later = found(r"then ([\d,]+) in ", notes, DEMO_DOC)
    assert number(later.group(1)) == after, f"{DEMO_DOC.name}: orders after the as-of date"
    events, notes = _row(text, "events")
    assert events == demo.execute("SELECT count(*) FROM events").fetchone()[0], "events"
    kinds = {kind: number(n) for kind, n in re.findall(r"([a-z_]+) ([\d,]+)", notes)}
    live = dict(demo.execute("SELECT kind, count(*) FROM events GROUP BY kind"))
    assert kinds == live, f"{DEMO_DOC.name}: events per kind"
    later = found(r"; ([\d,]+) of them after the as-of date", notes, DEMO_DOC)
    after = demo.execute("SELECT count(*) FROM events WHERE created_at >= ?", (cut,)).fetchone()[0]
    assert number(later.group(1)) == after, f"{DEMO_DOC.name}: events after the as-of date"


def test_size_in_demo_doc():
    m = found(r"tags computed: ([\d.]+) MB", one_line(DEMO_DOC), DEMO_DOC)
    assert float(m.group(1)) == round(DEMO.stat().st_size / 1e6, 1), f"{DEMO_DOC.name}: size"
