"""Every message core can raise or return to the UI has Chinese (tui.zh_texts.core_message).

The messages are found in core's source, not listed by hand: the first argument of every call to
a CoreError class (QueryError, CampaignError, StrategyError, InputError, NotFound, …) and of
``src.error(…)`` (an import error at a line), every text assigned to a message name (``reason``,
``warning``, ``msg``, …) and every text returned by a function whose name says it builds a
message (``_warning``, ``_not_enough``, ``describe_fault``, …). Each is rendered with sample
values in place of its ``{…}`` fields and translated; what remains must hold no English word
(the detector of test_chinese), apart from the sample values, the names an operator types and
CLI options. A new message in core, or a reworded one, fails here until it has its Chinese.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from test_chinese import ABBREVIATIONS, QUERY_WORDS, english

from core.query.fields import LABELS as FIELD_LABELS
from core.store.schema import EVENT_KINDS
from tui.zh_texts import core_message

ROOT = Path(__file__).resolve().parents[2]
MESSAGE_NAMES = {"reason", "warning", "why", "problem", "msg", "message", "bad", "hint"}
MESSAGE_FUNCTIONS = re.compile(r"warning|reason|not_enough|describe_fault|explain_sqlite_error")
NUMBER_NAMES = {"n", "count", "line", "pos", "days", "bins", "position", "times", "window_days"}
NUMBER_NAMES |= {"MAX_RULES", "MIN_GROUP_USERS", "n_users"}
# Not for operators: checks of arguments that only a programming mistake reaches (the UI and the
# CLI never pass these), or an unreachable branch. They stay English.
INTERNAL = {
    "x, t_x and T must have the same length",
    "x, t_x or T has missing or infinite values",
    "need 0 <= x and 0 <= t_x <= T for every customer",
    "apply_predictions: 'v7' is not a features table",
    "score_from_fit: 'v7' is not a features table",
    "'v7' cannot hold computed features (use a scratch table name).",
    "Cannot compile v7",
    "not a table name: 'v7'",
    "control_small",  # Power.warning: keys, worded by tui.widgets.power_text
    "mde_large",
    "no_base_rate",
}
# What the sample values and typed names leave in a message
ALLOWED = ABBREVIATIONS | QUERY_WORDS | set(EVENT_KINDS) | {"v"}
# what the operator types or reads as code: schedules, channels, method names, column names
ALLOWED |= set(
    re.findall(
        r"\S+",
        "daily every N mon thu push sms coupon kind unclassified meta Parquet parquet rowid sqlite "
        "mean median fixed score value amount check login DuckDB ClickHouse chDB",  # product names
    )
)
for _name in FIELD_LABELS:
    ALLOWED.update(re.findall(r"[A-Za-z]+", _name))
OPTION = re.compile(r"--[a-z][a-z-]*|`[^`]*`|\b[a-z]+(?:[:=][a-z0-9<>:-]+)+")  # CLI options, code


def error_classes(trees: dict[Path, ast.Module]) -> set[str]:
    bases: dict[str, list[str]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = [getattr(b, "id", getattr(b, "attr", "")) for b in node.bases]
    found, grown = {"CoreError"}, True
    while grown:
        grown = False
        for name, of in bases.items():
            if name not in found and found.intersection(of):
                found.add(name)
                grown = True
    return found


def sample(fv: ast.FormattedValue) -> str:
    e = fv.value
    called = getattr(e.func, "id", "") if isinstance(e, ast.Call) else ""
    if called == "did_you_mean":
        return "; did you mean 'v7'?"
    if called == "quoted":
        return "'v7'"
    if isinstance(e, ast.IfExp):  # {', 30d' if … else ''}: the first branch
        return render(e.body) or ""
    name = e.id if isinstance(e, ast.Name) else getattr(e, "attr", "")
    if name == "hint":
        return ""  # a hint is a message of its own (found where it is assigned)
    if name == "bad":
        return "'v7' works on text"  # one of the checks' messages (each found on its own)
    if name == "what":
        return "layer"  # the closed sets' names (core.query.names._closed_set)
    numeric = fv.format_spec is not None or isinstance(e, ast.BinOp) or called == "len"
    value = "7" if numeric or name in NUMBER_NAMES else "v7"
    return repr(value) if fv.conversion == ord("r") else value


def render(node: ast.AST) -> str | None:
    """A sample of the text ``node`` builds; None when it is not a text built there."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        out = ""
        for v in node.values:
            if isinstance(v, ast.Constant):
                out += v.value
            elif out.endswith("e.g. ") and getattr(v.value, "id", "") == "hint":
                out += '"v7"'  # the example itself
            else:
                out += sample(v)  # type: ignore[arg-type]
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        a, b = render(node.left), render(node.right)
        return None if a is None or b is None else a + b
    return None


def core_messages() -> dict[str, str]:
    """sample message -> where (file:line)."""
    trees = {f: ast.parse(f.read_text(encoding="utf-8")) for f in (ROOT / "core").rglob("*.py")}
    errors = error_classes(trees)
    found: dict[str, str] = {}

    def add(node: ast.AST, where: str) -> None:
        text = render(node)
        if text and text.strip():
            found.setdefault(text, where)

    for path, tree in sorted(trees.items()):
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call) and node.args:
                fn = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if fn in errors or (fn == "error" and getattr(node.func, "attr", "") == "error"):
                    add(node.args[0], where)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    names = target.elts if isinstance(target, ast.Tuple) else [target]
                    values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
                    for t, v in zip(names, values, strict=False):
                        if getattr(t, "id", getattr(t, "attr", "")) in MESSAGE_NAMES:
                            add(v, where)
            elif isinstance(node, ast.FunctionDef) and MESSAGE_FUNCTIONS.search(node.name):
                for ret in ast.walk(node):
                    if isinstance(ret, ast.Return) and ret.value is not None:
                        parts = ret.value.elts if isinstance(ret.value, ast.Tuple) else [ret.value]
                        for part in parts:
                            add(part, f"{path.relative_to(ROOT)}:{ret.lineno}")
    return found


MESSAGES = core_messages()


def test_the_scan_finds_the_message_families():
    """The scan reaches each kind of message the brief names (not an empty pass)."""
    assert len(MESSAGES) > 180
    where = {w.split(":")[0] for w in MESSAGES.values()}
    for module in (
        "core/audience/campaigns/records.py",
        "core/analytics/rfm.py",
        "core/ingest/importer.py",
        "core/ingest/readers.py",
        "core/query/parser.py",
        "core/query/arith.py",
        "core/query/context.py",
        "core/query/sequences.py",
        "core/audience/strategies/run.py",
        "core/audience/strategies/report.py",
        "core/audience/effect.py",
    ):
        assert module in where, module
    assert "not due on v7 (schedule v7)" in MESSAGES
    assert "the strategy has not run yet" in MESSAGES


@pytest.mark.parametrize("text", sorted(set(MESSAGES) - INTERNAL))
def test_every_core_message_has_chinese(text):
    zh = core_message(text)
    left = english(OPTION.sub(" § ", zh), ALLOWED)
    assert not left, f"{MESSAGES[text]}: {text!r} -> {zh!r} keeps {left}"


COMPOSED = [  # messages put together from pieces, as core really sends them
    (
        "orders.csv, line 3, column 'amount': 'abc' is not a number",
        "orders.csv，第 3 行，列 'amount'：'abc' 不是数字",
    ),
    ("users.csv: no such file", "users.csv：文件不存在"),
    (
        "the target group has 12 users and the control group has 3 users; each group needs at least 30",
        "目标组 12 人，对照组 3 人；每组至少需要 30 人",
    ),
    ("already ran on 2025-11-30: nobody is added", "已于 2025-11-30 运行：不再添加任何人"),
    ("not due on 2025-11-30 (schedule mon,thu)", "2025-11-30 不到运行日（排期 mon,thu）"),
    (
        "No campaign named 'x'. Known: 双11召回, summer.",
        "没有名为 'x' 的活动。已有：双11召回, summer。",
    ),
]


@pytest.mark.parametrize(("text", "zh"), COMPOSED)
def test_composed_messages(text, zh):
    assert core_message(text) == zh


def test_user_values_inside_a_message_stay_as_typed():
    """A value the operator typed is copied into the Chinese untouched, markup included."""
    text = "Campaign '[b]x[/b] and more' has no targets to send to."
    assert core_message(text) == "活动 '[b]x[/b] and more' 没有可发送的目标用户。"


def test_every_error_title_has_chinese():
    """The headline of each error core raises (a class's ``title`` or a ``title=`` argument)."""
    from tui.zh_texts import PHRASES

    titles = set()
    for path in (ROOT / "core").rglob("*.py"):
        titles.update(re.findall(r'\btitle ?= ?"([^"]+)"', path.read_text(encoding="utf-8")))
    assert {"Invalid condition", "Bad threshold", "Invalid layer"} <= titles
    assert sorted(t for t in titles if t not in PHRASES) == []


def test_the_methods_named_in_the_reports_have_chinese():
    from core.audience import effect
    from tui.zh_texts import PHRASES

    for method in (effect.CONVERSION_METHOD, effect.REVENUE_METHOD, effect.MDE_METHOD):
        assert method in PHRASES, method
