"""Strategies: IF-THEN rules that pick targets on every refresh, hold out a control group, and
report their effect run by run. A strategy run is a dated campaign run (targets and control in
``campaign_members``), so `targeted within`, the frequency cap and the effect report are the
campaigns'. docs/strategies.md.

* model: :class:`Strategy`, :class:`Schedule`, :class:`Variant`, :func:`check`;
* store: :func:`save`, :func:`get`, :func:`list_all`, :func:`delete`, :func:`pause`,
  :func:`resume`, settings (:func:`out_dir`, :func:`window_days`);
* run: :func:`run_strategies`, :func:`overlaps`, :func:`preview`, the global frequency cap
  (:func:`frequency_cap`, :func:`set_frequency_cap`);
* report: :func:`report`, :func:`summaries`.
"""

from core.audience.strategies.model import (
    DEFAULT_WINDOW_DAYS,
    MODES,
    OFFERS_BY,
    Schedule,
    Strategy,
    StrategyError,
    Variant,
    check,
)
from core.audience.strategies.report import (
    RunEffect,
    RunPoint,
    StrategyReport,
    StrategySummary,
    VariantEffect,
    report,
    summaries,
)
from core.audience.strategies.run import (
    REMOVED_BY,
    OfferCount,
    Overlap,
    Preview,
    RunReport,
    StrategyRun,
    campaign_name,
    frequency_cap,
    overlaps,
    preview,
    run_strategies,
    set_frequency_cap,
    target_file_name,
)
from core.audience.strategies.store import (
    delete,
    get,
    list_all,
    out_dir,
    pause,
    resume,
    save,
    set_out_dir,
    set_window_days,
    window_days,
)

__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "MODES",
    "OFFERS_BY",
    "REMOVED_BY",
    "OfferCount",
    "Overlap",
    "Preview",
    "RunEffect",
    "RunPoint",
    "RunReport",
    "Schedule",
    "Strategy",
    "StrategyError",
    "StrategyReport",
    "StrategyRun",
    "StrategySummary",
    "Variant",
    "VariantEffect",
    "campaign_name",
    "check",
    "delete",
    "frequency_cap",
    "get",
    "list_all",
    "out_dir",
    "overlaps",
    "pause",
    "preview",
    "report",
    "resume",
    "run_strategies",
    "save",
    "set_frequency_cap",
    "set_out_dir",
    "set_window_days",
    "summaries",
    "target_file_name",
    "window_days",
]
