"""The whole-history sequence (``did A then [no] B within N``) reads the A rows per user of
``users`` on SQLite (core/query/sequences.py ``_whole_history``): right only while every user
with an order or an event is in ``users``. The import creates them first, on its small path and
on the large first-import path (built beside and swapped in): orders and events of users no
users file names, counted against the definition worked out by hand."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from core.audience import segments
from core.ingest import importer
from core.ingest.importer import import_files
from core.pipeline import recompute
from core.store.db import open_db

AS_OF = date(2024, 3, 10)


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """u1 (in the users file) and 40 users only the orders and events name: n00..n39. Every
    n<i> adds to cart on 2024-03-0<1 + i % 5> at 10:00; n<i> with i % 4 == 0 orders 2 hours
    later, i % 4 == 1 two days later, the others never; u1 adds to cart and orders 1 hour later.
    """
    users = tmp_path / "u.csv"
    users.write_text("user_id,name\nu1,Ann\n")
    orders, events = ["order_id,user_id,amount,created_at"], ["user_id,kind,created_at,value"]
    for i in range(40):
        day = 1 + i % 5
        events.append(f"n{i:02d},cart_add,2024-03-0{day} 10:00:00,")
        events.append(f"n{i:02d},login,2024-03-0{day} 09:00:00,")
        if i % 4 == 0:
            orders.append(f"o{i:02d},n{i:02d},10,2024-03-0{day} 12:00:00")
        elif i % 4 == 1:
            orders.append(f"o{i:02d},n{i:02d},10,2024-03-0{day + 2} 10:00:00")
    events.append("u1,cart_add,2024-03-02 08:00:00,")
    orders.append("ou1,u1,10,2024-03-02 09:00:00")
    (tmp_path / "o.csv").write_text("\n".join(orders) + "\n")
    (tmp_path / "e.csv").write_text("\n".join(events) + "\n")
    return users, tmp_path / "o.csv", tmp_path / "e.csv"


@pytest.mark.parametrize("path", ["small", "large"])
def test_users_of_imported_orders_and_events_are_found(tmp_path, monkeypatch, path) -> None:
    if path == "large":  # these files take the build-beside-and-swap path
        monkeypatch.setattr(importer, "LARGE_ROWS", 10)
        monkeypatch.setattr(importer, "CHUNK_ROWS", 7)
        monkeypatch.setattr(importer, "CHUNK_PAUSE", 0)
        monkeypatch.setattr(importer, "CHUNK_SECONDS", 0)
    users, orders, events = _files(tmp_path)
    conn = open_db(tmp_path / "s.db", create=True)
    report = import_files(conn, users=users, orders=orders, events=events)
    assert report.users_created == 41
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    recompute(conn, as_of=AS_OF)

    def count(text: str) -> int:
        return segments.count(conn, segments.condition_for(conn, text, as_of=AS_OF))

    # ordered within a day of the cart: n00, n04, …, n36 (10) and u1
    assert count("did cart_add then order within 1d") == 11
    # within 3 days also i % 4 == 1 (10 more)
    assert count("did cart_add then order within 3d") == 21
    # the carts with no order in the day after: i % 4 in (1, 2, 3), 30 users
    assert count("did cart_add then no order within 1d") == 30
    # orders followed by no login in the day after: every ordering user (no login after)
    assert count("did order then no login within 1d") == 21
    # a login followed by a cart within 1d: the 40 n users (u1 has no login)
    assert count("did login then cart_add within 1d") == 40
    conn.close()
