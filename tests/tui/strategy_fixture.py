"""A sample database with strategies, built through the core API (tests of the Strategies screen).

On the 60-user sample database (as of 2024-06-30): ``shanghai`` (every run, 20 % holdout,
priority 5) and ``buyers`` (entering, no holdout) ran on 2024-06-20; ``big`` (paused) never ran.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from conftest import build_sample_db

from core.audience import strategies as st
from core.store.db import open_db, set_meta

EARLY_DAY = date(2024, 6, 1)
RUN_DAY = date(2024, 6, 20)
AS_OF = date(2024, 6, 30)


def on(conn, day: date) -> None:
    set_meta(conn, "features_as_of", day.isoformat())
    set_meta(conn, "as_of", day.isoformat())


def build_strategies_db(path: Path) -> Path:
    build_sample_db(path)
    conn = open_db(path)
    try:
        on(conn, EARLY_DAY)
        st.save(
            conn,
            st.Strategy(
                name="everyone",
                condition="logins_30d >= 0",
                channel="push",
                offer="hello",
                mode="every_run",
                holdout_pct=50,
                priority=-1,
                seed=37,
            ),
        )
        st.run_strategies(conn, ["everyone"], out_dir=path.parent / "targets", force=True)
        st.pause(conn, "everyone")
        on(conn, RUN_DAY)
        st.save(
            conn,
            st.Strategy(
                name="shanghai",
                condition="city = '上海'",
                channel="sms",
                offer="10 元券",
                mode="every_run",
                holdout_pct=20,
                priority=5,
            ),
        )
        st.save(
            conn,
            st.Strategy(
                name="buyers",
                condition="layer = 'buyer'",
                offer="[bold]coupon",
                holdout_pct=0,
                priority=1,
                schedule=st.Schedule.parse("mon,thu"),
            ),
        )
        st.run_strategies(conn, out_dir=path.parent / "targets", force=True)
        st.save(
            conn,
            st.Strategy(
                name="big",
                condition="monetary > 2000",
                offer="VIP gift",
                status="paused",
            ),
        )
        on(conn, AS_OF)
    finally:
        conn.close()
    return path
