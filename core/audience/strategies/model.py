"""What a strategy is: a trigger condition, an action (one offer, offers by layer or RFM group,
or 2+ variants split at random), a holdout, limits, a priority, a schedule and a status.

Everything here is plain data and checks on it; storing is :mod:`.store`, running :mod:`.run`,
the effect :mod:`.report`. docs/strategies.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from core.errors import CoreError

MODES = ("entering", "every_run")
STATUSES = ("active", "paused")
OFFERS_BY = ("layer", "rfm")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WINDOW_DAYS = 7  # effect window after each run (setting ``strategy_window_days``)


class StrategyError(CoreError):
    title = "Strategy"


@dataclass(frozen=True)
class Schedule:
    """When a strategy runs, in data time (the as-of date decides, never the wall clock).

    ``daily``: every refresh date; ``weekdays``: the as-of date's weekday is one of
    ``weekdays`` (0 = Monday); ``every``: the first time, then when at least ``every_days``
    days have passed since the strategy's previous run.
    """

    kind: str = "daily"  # 'daily' | 'weekdays' | 'every'
    weekdays: tuple[int, ...] = ()
    every_days: int = 1

    @classmethod
    def parse(cls, text: str) -> Schedule:
        """``daily``, ``mon,thu`` (weekday names, comma-separated) or ``every:N``."""
        raw = (text or "").strip().lower()
        if raw in ("", "daily"):
            return cls()
        if raw.startswith("every:"):
            number = raw[len("every:") :].strip()
            if not number.isdigit() or int(number) < 1:
                raise StrategyError(
                    f"Schedule {text!r}: every:N needs a whole number of days ≥ 1 (e.g. every:3)."
                )
            return cls("every", (), int(number))
        days = [d.strip() for d in raw.split(",")]
        bad = [d for d in days if d not in WEEKDAYS]
        if bad or not days:
            raise StrategyError(
                f"Schedule {text!r}: unknown weekday {bad[0]!r}; use daily, every:N or "
                f"weekdays among {','.join(WEEKDAYS)} (e.g. mon,thu)."
            )
        return cls("weekdays", tuple(sorted({WEEKDAYS.index(d) for d in days})), 1)

    @property
    def text(self) -> str:
        if self.kind == "weekdays":
            return ",".join(WEEKDAYS[d] for d in self.weekdays)
        if self.kind == "every":
            return f"every:{self.every_days}"
        return "daily"

    def due(self, on: date, last_run: date | None) -> bool:
        """Whether a run on data date ``on`` is scheduled, given the previous run's date."""
        if last_run is not None and on <= last_run:
            return False
        if self.kind == "weekdays":
            return on.weekday() in self.weekdays
        if self.kind == "every":
            return last_run is None or (on - last_run).days >= self.every_days
        return True


@dataclass(frozen=True)
class Variant:
    """One action of a strategy: a channel and an offer text."""

    channel: str
    offer: str

    @classmethod
    def parse(cls, text: str) -> Variant:
        """``CHANNEL:OFFER`` (e.g. ``push:20 元券``)."""
        channel, sep, offer = (text or "").partition(":")
        if not sep or not channel.strip() or not offer.strip():
            raise StrategyError(f"Variant {text!r}: write CHANNEL:OFFER, e.g. push:20 元券.")
        return cls(channel.strip().lower(), offer.strip())


@dataclass(frozen=True)
class Strategy:
    """IF ``condition`` THEN ``channel`` + ``offer`` (or per-group offers, or variants).

    * ``mode``: ``entering`` (default) targets only users who match now and did not match at
      the strategy's previous run; ``every_run`` targets everyone who matches.
    * ``offers_by`` ``layer`` / ``rfm`` with ``offers`` {layer key or RFM group key: offer}: the
      offer of a target's group; ``offer`` for groups not in the table.
    * ``variants``: 2+ actions; each target draws one at random (seeded, stored per user).
    * ``holdout_pct``: seeded share of the selected users kept as control (stored per user).
    * ``cooldown_days``: a user selected by this strategy is not selected again by it within
      that many days (0: no cooldown). ``max_per_run``: at most that many targets per run.
    * ``priority``: on one run, a user several strategies select goes to the highest (ties:
      the name first in alphabetical order).
    * ``include_contact``: the run's target file carries phone and e-mail.
    """

    name: str
    condition: str
    channel: str = "push"
    offer: str = ""
    mode: str = "entering"
    offers_by: str | None = None
    offers: dict[str, str] = field(default_factory=dict)
    variants: tuple[Variant, ...] = ()
    holdout_pct: float = 10.0
    seed: int = 0
    cooldown_days: int = 0
    max_per_run: int | None = None
    priority: int = 0
    schedule: Schedule = Schedule()
    status: str = "active"
    include_contact: bool = False
    created_at: str = ""
    updated_at: str = ""

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def arms(self) -> tuple[Variant, ...]:
        """The actions a target can get by draw: the variants, else the one action."""
        return self.variants or (Variant(self.channel, self.offer),)

    @property
    def action_text(self) -> str:
        """The action in a few words: ``push: 20 元券``, ``sms: by layer``, ``2 variants``."""
        if len(self.variants) > 1:
            return f"{len(self.variants)} variants"
        if self.offers_by:
            return f"{self.channel}: by {self.offers_by}"
        return f"{self.channel}: {self.offer}"

    def offer_for(self, variant: int, group: str | None) -> Variant:
        """The action a target gets: its drawn variant, or its group's offer."""
        if self.variants:
            return self.variants[variant]
        if self.offers_by and group is not None and group in self.offers:
            return Variant(self.channel, self.offers[group])
        return Variant(self.channel, self.offer)


def check(strategy: Strategy) -> Strategy:
    """Normalise and check a strategy's fields (not its condition: :func:`.store.save` compiles
    it); raise :class:`StrategyError` naming the field."""
    name = strategy.name.strip()
    if not name:
        raise StrategyError("A strategy needs a name.")
    if any(ch in name for ch in "/\\\0") or name.startswith("."):
        raise StrategyError(f"Strategy name {name!r}: no / \\ or leading dot (it names files).")
    if strategy.mode not in MODES:
        raise StrategyError(f"Mode {strategy.mode!r}: use one of {', '.join(MODES)}.")
    if strategy.status not in STATUSES:
        raise StrategyError(f"Status {strategy.status!r}: use one of {', '.join(STATUSES)}.")
    if not 0 <= strategy.holdout_pct < 100:
        raise StrategyError(
            f"Holdout {strategy.holdout_pct}% is out of range: use 0 up to (not including) 100."
        )
    if strategy.cooldown_days < 0:
        raise StrategyError("The cooldown is a number of days ≥ 0.")
    if strategy.max_per_run is not None and strategy.max_per_run < 1:
        raise StrategyError("The maximum per run is at least 1 user.")
    channel = strategy.channel.strip().lower()
    if not channel:
        raise StrategyError(f"Strategy {name!r}: the channel is empty (e.g. push, sms, coupon).")
    if len(strategy.variants) == 1:
        raise StrategyError(f"Strategy {name!r}: variants come two or more (or none).")
    if strategy.variants and strategy.offers_by:
        raise StrategyError(f"Strategy {name!r}: use variants or offers by group, not both.")
    if strategy.offers_by is not None and strategy.offers_by not in OFFERS_BY:
        raise StrategyError(f"Offers by {strategy.offers_by!r}: use layer or rfm.")
    if strategy.offers_by and not strategy.offers:
        raise StrategyError(f"Strategy {name!r}: offers by {strategy.offers_by} need a table.")
    if not strategy.variants and not strategy.offer.strip() and not strategy.offers_by:
        raise StrategyError(f"Strategy {name!r}: the offer is empty.")
    return Strategy(
        **{**strategy.__dict__, "name": name, "channel": channel, "offer": strategy.offer.strip()}
    )
