"""Labels of the UI in Chinese and English. Names of layers, groups and tags come from core."""

from __future__ import annotations

import os

from core.analytics.rfm import GROUPS_BY_KEY
from core.query.fields import LABELS as FIELD_LABELS
from core.rules.tags import DEFAULT_TAGS
from core.store.columns import HEADERS as COLUMN_HEADERS
from core.store.event_kinds import KIND_LABELS
from core.views.text import visible
from tui import zh_texts

LANGS = ("zh", "en")
DEFAULT_DESCRIPTIONS = {t.name: t.description for t in DEFAULT_TAGS}

# The words of the UI; a column's header comes from the column registry (COLUMN_HEADERS).
WORDS: dict[str, tuple[str, str]] = {  # key: (zh, en)
    "tags": ("标签", "Tags"),
    "users": ("用户", "users"),
    "timeline": ("订单与事件", "Orders and events"),
    "profile": ("用户画像", "User profile"),
    "of": ("/", "of"),
    "showing": ("显示", "showing"),
    "as_of": ("截至", "as of"),
    "computed": ("特征计算于", "features computed"),
    "stale": (
        "导入后特征已过期：运行 userops recompute",
        "features out of date: run userops recompute",
    ),
    "not_computed": (
        "特征未计算：先运行 userops recompute DB",
        "features not computed: run `userops recompute DB` first",
    ),
    "filter": ("筛选", "Filter"),
    "filter_hint": (
        "条件，如 city = '上海' and r_score >= 4",
        "condition, e.g. city = '上海' and r_score >= 4",
    ),
    "search_hint": ("按ID、姓名或手机号搜索", "search by id, name or phone"),
    "search_results": ("搜索", "search"),
    "matches": ("个结果", "matches"),
    "counting": ("计数中…", "counting…"),
    "attributes": ("基本属性", "Attributes"),
    "layer_rule": ("分层规则", "Layer rule"),
    "placed_by": ("符合规则", "placed by"),
    "not_met": ("未满足的前序规则", "earlier rules not met"),
    "unclassified": ("未分类", "unclassified"),
    "rfm": ("RFM", "RFM"),
    "recency": ("最近一次消费", "recency"),
    "beats": ("优于买家", "at or above buyers"),
    "not_buyer": ("尚未购买", "has not bought yet"),
    "tag_dims": ("标签", "Tags"),
    "basic": ("基础标签", "basic"),
    "behavioural": ("行为标签", "behavioural"),
    "result": ("结果标签", "result"),
    "predictive": ("预测标签", "predictive"),
    "predictions": ("预测", "Predictions"),
    "behaviour": ("行为", "Behaviour"),
    "no_model": ("模型未拟合", "no model output"),
    # f-models: predictions in words
    "alive_unknown": (
        "仅一次购买：无法判断（模型尚无复购节奏可依）",
        "one purchase only: the model cannot tell yet",
    ),
    "over_99": ("高于99%", "over 99%"),
    "one_purchase": ("仅一次购买，信息很少", "one purchase only: little information"),
    "short_history": (
        "首购不足30天，信息很少",
        "first purchase under 30 days ago: little information",
    ),
    "model": ("模型", "model"),
    # f-models: the Models view
    "models_title": ("预测模型", "Models"),
    "fits": ("拟合结果", "Fits"),
    "parameters": ("参数", "parameters"),
    "log_lik": ("对数似然", "log-lik"),
    "calib_bic": ("校准期BIC", "calib. BIC"),
    "holdout_mae": ("验证期MAE", "holdout MAE"),
    "fit_state": ("收敛", "fit"),
    "converged": ("已收敛", "converged"),
    "not_converged": ("未收敛", "NOT converged"),
    "predictions_use": ("预测使用", "Predictions use"),
    "validation_line": (
        "验证：校准期至 {cal}，验证期至 {hold}：实际复购 {n:,} 次",
        "Validation: calibration to {cal}, holdout to {hold}: {n:,} actual repeat purchases",
    ),
    "no_validation": (
        "尚无验证：userops model DB --validate --calibration-end YYYY-MM-DD",
        "No validation yet: userops model DB --validate --calibration-end YYYY-MM-DD",
    ),
    "interval_note": ("括号内为90%区间", "90% intervals in brackets"),
    "activity": ("月度活跃（订单+事件，24个月）", "Monthly activity (orders + events, 24 months)"),
    "orders": ("订单", "Orders"),
    "events": ("事件", "Events"),
    "segments": ("所属分群", "Segments"),
    "campaigns": ("参与活动", "Campaigns"),
    "target": ("目标组", "target"),
    "control": ("对照组", "control"),
    "none": ("无", "none"),
    "days": ("天", "days"),
    "too_small": ("终端太小：请至少调整到 60×16", "Terminal too small: make it at least 60×16"),
    "loading": ("加载中…", "loading…"),
    # the layers, RFM and tags screens
    "layers_title": ("用户分层", "Layers"),
    "pyramid": ("分层金字塔", "Pyramid"),
    "mece": ("MECE检查：规则重叠与遗漏", "MECE: overlapping rules and the gap"),
    "mece_what": ("重叠规则 / 遗漏", "Overlap / gap"),
    "gap": ("遗漏（不符合任何规则）", "gap (no rule matches)"),
    "is_mece": ("规则互斥且完备", "rules are MECE"),
    "not_mece": ("规则有重叠或遗漏", "rules overlap or leave a gap"),
    "count": ("人数", "Users"),
    "total": ("合计", "Total"),
    "transitions": ("分层迁移（行：之前，列：现在）", "Transitions (rows: before, columns: now)"),
    "transitions_since": ("迁移起始日期", "Transitions since"),
    "moved": ("迁移人数", "moved"),
    "not_there": ("（不存在）", "(not there)"),
    "rfm_title": ("RFM分析", "RFM"),
    "rfm_groups": ("RFM八大客户群", "The 8 RFM groups"),
    "rfm_cells": ("RFM 27格（R×F 行，M 列）", "RFM 27 cells (R×F rows, M columns)"),
    "group": ("客户群", "Group"),
    "share": ("占比", "Share"),
    "revenue_share": ("收入占比", "Revenue"),
    "mean_r": ("平均R(天)", "Mean R (d)"),
    "mean_f": ("平均F", "Mean F"),
    "mean_m": ("平均M", "Mean M"),
    "action": ("运营动作", "Typical action"),
    "preview": ("试算", "Preview"),
    "thresholds": ("阈值", "Thresholds"),
    "current": ("当前", "current"),
    "suggested": ("聚类建议", "suggested"),
    "trial": ("试算", "trial"),
    "scatter": ("买家分布", "Buyers"),
    "dimension": ("维度", "Dimension"),
    "method": ("方法", "Method"),
    "value": ("数值", "Value"),
    "save_threshold": ("保存阈值并重新分组？", "Save the threshold and regroup the buyers?"),
    "threshold_saved": ("阈值已保存", "Threshold saved"),
    "confirm_save": ("保存", "Save"),
    "confirm_cancel": ("取消", "Cancel"),
    "tags_title": ("标签体系", "Tags"),
    "tag": ("标签", "Tag"),
    "description": ("说明", "Description"),
    "distribution": ("模型值分布", "Model value distribution"),
    "no_distribution": ("非预测标签：没有模型值", "not a predictive tag: no model value"),
    "without_value": ("无模型值", "without a value"),
    # the segment builder and the campaign screen
    "segments_title": ("用户分群", "Segments"),
    "saved_segments": ("已保存分群", "Saved segments"),
    "segment": ("分群", "Segment"),
    "saved": ("个已保存", "saved"),
    "picked": ("已选", "picked"),
    "overlap": ("重叠（空格选两个）", "Overlap (space picks two)"),
    "part": ("部分", "Part"),
    "only": ("仅", "only"),
    "both": ("两者都在", "both"),
    "preview_members": ("前20名成员", "First members"),
    "campaigns_title": ("活动", "Campaigns"),
    "no_campaigns": ("还没有活动：按 n 新建", "no campaigns yet: n creates one"),
    "campaign": ("活动", "Campaign"),
    "status": ("状态", "Status"),
    "start": ("开始日期", "Start"),
    "targets": ("目标用户", "Targets"),
    "audit": ("操作日志", "Audit log"),
    "effect": ("效果", "Effect"),
    "when": ("时间", "When"),
    "who": ("操作人", "Who"),
    "audit_action": ("操作", "Action"),
    "detail": ("详情", "Detail"),
    "current_campaign": ("当前活动", "current campaign"),
    "mark": ("标记", "Mark"),
    "locked": ("已锁定", "locked"),
    "query_cancelled": ("查询已取消", "query cancelled"),
    "keys_here": ("本页按键", "Keys here"),
    "key": ("按键", "key"),
    "key_action": ("操作", "action"),
    "key_what": ("说明", "what it does"),
}

# key: (zh, en). Columns by name (their short header), then the UI's words (no key is both).
LABELS: dict[str, tuple[str, str]] = {**COLUMN_HEADERS, **WORDS, **zh_texts.WORDS}

# The footer's words for each key, by binding id; English is the Binding's own description.
BINDING_LABELS_ZH: dict[str, str] = {
    "app.quit": "退出",
    "app.help": "帮助",
    "app.layers": "分层",
    "app.rfm": "RFM",
    "app.tags": "标签",
    "app.segments": "分群",
    "app.campaigns": "活动",
    "app.models": "模型",
    "models.back": "返回",
    "query.cancel": "取消查询",
    "users.search": "搜索",
    "users.filter": "筛选",
    "users.sort": "排序",
    "users.reverse": "倒序",
    "users.home": "首页",
    "users.end": "末页",
    "users.mark_all": "全部标记",
    "users.back": "返回",
    "users.page_down": "下一页",
    "users.page_up": "上一页",
    "marking.toggle": "标记",
    "marking.undo": "撤销标记",
    "filter.complete": "补全",
    "filter.next": "下一个补全",
    "filter.prev": "上一个补全",
    "profile.back": "返回",
    "profile.page_down": "向下滚动",
    "profile.page_up": "向上滚动",
    "layers.back": "返回",
    "layers.since": "起始日期",
    "layers.reload": "刷新",
    "rfm.back": "返回",
    "rfm.dims": "切换维度",
    "rfm.cells": "27格",
    "rfm.edit": "阈值",
    "rfm.save": "保存",
    "tags.back": "返回",
    "tags.reload": "刷新",
    "segments.back": "返回",
    "segments.save": "保存",
    "segments.delete": "删除",
    "segments.snapshot": "快照",
    "segments.pick": "选择",
    "segments.list": "列表/编辑",
    "campaigns.back": "返回",
    "campaigns.new": "新建",
    "campaigns.add": "添加目标",
    "campaigns.undo": "撤销",
    "campaigns.export": "导出",
    "campaigns.send": "发送",
    "campaigns.unlock": "解锁",
    "campaigns.window": "效果",
    "campaigns.next": "下一页",
    "campaigns.previous": "上一页",
    "help.close": "关闭",
    "confirm.yes": "确定",
    "confirm.no": "取消",
    "form.cancel": "取消",
}


def default_lang(environ: dict[str, str] | None = None) -> str:
    """zh when the locale says Chinese (LC_ALL, LC_MESSAGES or LANG start with zh), else en."""
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(var):
            return "zh" if env[var].lower().startswith("zh") else "en"
    return "en"


def binding_description(binding_id: str | None, description: str, lang: str) -> str:
    """What the footer says for a key in ``lang`` (its own English description otherwise)."""
    if lang == "zh" and binding_id in BINDING_LABELS_ZH:
        return BINDING_LABELS_ZH[binding_id]
    if lang == "zh":  # Textual's own keys (no id of ours): by their English description
        return zh_texts.PHRASES.get(description, description)
    return description


class Labels:
    """Label lookup for one language: ``labels("layer")`` → 分层 / Layer."""

    def __init__(self, lang: str, layer_names: dict[str, tuple[str, str]] | None = None) -> None:
        self.lang = lang if lang in LANGS else "en"
        self._i = LANGS.index(self.lang)
        self.layer_names = layer_names or {}

    def __call__(self, key: str) -> str:
        pair = LABELS.get(key)
        return pair[self._i] if pair else key

    def text(self, english: str) -> str:
        """A text declared in English where it is used (a tooltip, a palette entry): its
        Chinese from tui.zh_texts.PHRASES in Chinese, else itself."""
        if self.lang == "zh":
            return zh_texts.PHRASES.get(english, english)
        return english

    def message(self, text: str) -> str:
        """A message of core (an error, a reason): translated by pattern in Chinese."""
        return zh_texts.core_message(text) if self.lang == "zh" else text

    def words(self, key: str, **values: object) -> str:
        """A keyed label with ``{name}`` fields filled in."""
        return self(key).format(**values)

    def kind(self, kind: str | None) -> str:
        """An event kind (login, cart_add, …) by its label; an unknown kind is shown as is."""
        if kind is None:
            return ""
        pair = KIND_LABELS.get(kind)
        return pair[self._i] if pair else visible(kind)

    def _table(self, table: dict[str, str], key: str | None) -> str:
        if key is None:
            return ""
        return table.get(key, visible(key)) if self.lang == "zh" else visible(key)

    def channel(self, key: str | None) -> str:
        return self._table(zh_texts.CHANNELS, key)

    def status(self, key: str | None) -> str:
        return self._table(zh_texts.STATUSES, key)

    def audit_action(self, key: str | None) -> str:
        return self._table(zh_texts.AUDIT_ACTIONS, key)

    def rfm_method(self, key: str | None) -> str:
        return self._table(zh_texts.RFM_METHODS, key)

    def rfm_action(self, key: str | None, english: str) -> str:
        """A group's typical action (English in core.analytics.rfm)."""
        if self.lang == "zh" and key in zh_texts.RFM_ACTIONS:
            return zh_texts.RFM_ACTIONS[key]
        return english

    def tag_description(self, name: str, description: str) -> str:
        """A tag's description: a default tag's still-default English text in Chinese; an
        operator's own description as written."""
        if self.lang == "zh" and DEFAULT_DESCRIPTIONS.get(name) == description:
            return zh_texts.TAG_DESCRIPTIONS.get(name, description)
        return description

    def layer(self, key: str | None) -> str:
        if key is None:
            return ""
        if key == "unclassified":
            return self("unclassified")
        pair = self.layer_names.get(key)  # the operator's names: shown as text
        return visible(pair[self._i] if pair else key)

    def column(self, name: str) -> str:
        """A column's header: the registry's for a built-in column, else its own name (an
        imported attribute named ``group`` is not the UI's word "group")."""
        pair = COLUMN_HEADERS.get(name)
        return pair[self._i] if pair else name

    def field(self, column: str) -> str:
        """A features column by the name the condition language gives it (core.query.fields)."""
        pair = FIELD_LABELS.get(column)
        return pair[self._i] if pair else column

    def group(self, key: str | None) -> str:
        if key is None:
            return ""
        group = GROUPS_BY_KEY.get(key)  # names live with the RFM model, in core
        if group is None:
            return key
        return group.name_zh if self.lang == "zh" else group.name_en
