"""Labels of the UI in Chinese and English. Names of layers, groups and tags come from core."""

from __future__ import annotations

import os

from core.analytics.rfm import GROUPS_BY_KEY
from core.audience.strategies.model import Schedule
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
    "data_to": ("数据至", "data to"),
    "refresh_hint": ("按 F5 刷新", "F5 refreshes"),
    "refreshing": ("正在刷新至", "Refreshing to"),
    "latest_date": ("数据最新日期", "the latest date in the data"),
    "refresh_to": ("刷新至日期 (YYYY-MM-DD)", "Refresh to the date (YYYY-MM-DD)"),
    "app_refresh_ok": ("刷新", "Refresh"),
    "computed": ("特征计算于", "features computed"),
    "stale": (
        "导入后特征已过期：运行 userops refresh",
        "features out of date: run userops refresh",
    ),
    "signed_up_later": (
        "{n} 位在 {day} 之后注册的用户未计入",
        "{n} users signed up after {day} are not counted",
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
    "not_fitted": ("未拟合", "not fitted"),
    "predictions_use": ("预测使用", "Predictions use"),
    "fit_of": ("{d} 的拟合", "fit of {d}"),
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
    "refreshed_incremental": (
        "截至 {d}（增量刷新：重算了 {n} 位用户）",
        "as of {d} (incremental; {n} users recomputed)",
    ),
    "refreshed_full": (
        "截至 {d}（完整重算：{why}；重算了 {n} 位用户）",
        "as of {d} (full recompute: {why}; {n} users recomputed)",
    ),
    "not_on_engine": (
        "{what}还不能在 {engine} 上使用：请在 SQLite 数据库上使用，再用 `userops copy` 复制到 {engine}",
        "{what} does not run on {engine} yet: use it on the SQLite database and `userops copy` "
        "it to {engine} again",
    ),
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
    # l-details (issue 13, items 10, 12, 14): not measured, snapshots, what a campaign can show
    "power_line": (
        "对照组 {control:,} 人 · 目标 {target:,} 人 · 基准转化率 {base} · "
        "最小可检测提升 {mde} 个百分点（双侧 α 0.05，检验力 0.8）",
        "control {control:,} · targets {target:,} · base conversion {base} · "
        "minimum detectable uplift {mde} pp (two-sided α .05, power .8)",
    ),
    "power_control_small": (
        "⚠ 对照组不足 {n} 人：效果报告只会显示“数据不足”",
        '⚠ control under {n}: the effect report will only say "not enough data"',
    ),
    "power_mde_large": (
        "⚠ 对照组太小，看不出现实的效果：转化率至少提升 {mde} 个百分点（相对 {rel}）才能检出",
        "⚠ control too small for any realistic effect: only an uplift of {mde} pp "
        "({rel} relative) or more would show",
    ),
    "power_no_base": (
        "（近30天无人下单或人人下单：没有基准转化率可估算）",
        "(nobody or everybody ordered in the last 30 days: no base conversion to project from)",
    ),
    "power_after": ("标记后", "after marking"),
    "not_measured": ("未计量", "not measured"),
    "no_events": ("数据中没有 {kinds} 事件", "no {kinds} events in this data"),
    "no_attribute": ("没有用户有{column}", "no user has a {column}"),
    "no_time_of_day": ("订单只有日期，没有时刻", "orders carry dates only, no time of day"),
    "no_events_at_all": (
        "登录、浏览、发帖、签到、加购、分享、用券等事件类指标：数据中没有任何事件",
        "logins, views, posts, check-ins, carts, shares, coupon uses: this data has no events",
    ),
    "not_in_data": ("数据中没有", "not in this data"),
    "rule_unmeasured": ("依据的数据未记录", "reads what this data does not record"),
    "snapshot_tag": ("快照", "snapshot"),
    "snapshot_about": (
        "快照 {name}：{of} 在 {as_of} 的成员名单（固定，不随数据变化）",
        "snapshot {name}: the members of {of} as of {as_of}, frozen",
    ),
    "snapshot_kept": (
        "快照是固定名单，这里不能删除",
        "A snapshot is a frozen list: it is not deleted here",
    ),
    "power_base_all": (
        "（全体用户：成员近30天无人下单或人人下单）",
        " (of all users: none or all of the members ordered in 30 days)",
    ),
    # j-layers: the honest MECE check, the rules and tags editors
    "overlap_of": ("{a} 与 {b} 重叠", "overlap of {a} and {b}"),
    "more_overlaps": ("（另有 {n} 处）", " (+{n} more)"),
    "only_catch_all": ("{n:,} 人仅符合兜底规则 {rule}", "{n:,} users only in the catch-all {rule}"),
    "gap_of": ("遗漏 {n:,} 人", "gap of {n:,}"),
    "catch_all_row": ("仅符合兜底规则：{rule}", "only in the catch-all {rule}"),
    "rules_editor": (
        "编辑分层规则（a 新增 · ctrl+t 删除 · ctrl+↑↓ 调整优先级 · ctrl+s 保存）",
        "Edit rules (a add · ctrl+t delete · ctrl+↑↓ priority · ctrl+s save)",
    ),
    "rules_preview": ("试算（未保存）", "preview (not saved)"),
    "pyramid_preview": ("分层金字塔（试算）", "Pyramid (preview)"),
    "rule_key": ("键", "Key"),
    "rule_zh": ("中文名", "Chinese"),
    "rule_en": ("英文名", "English"),
    "rule_name": ("名称", "Name"),
    "rule_rank": ("生命周期", "Rank"),
    "rule_condition": ("条件", "Condition"),
    "rule_hint": (
        "生命周期：1、2…向上；-1、-2…下滑（沉睡、流失）；留空不排列",
        "Rank 1, 2… up the lifecycle; -1, -2… sliding down (dormant, churned)",
    ),
    "problems_sep": ("；", "; "),
    "rules_invalid": ("规则无法保存", "The rules cannot be saved"),
    "save_rules": (
        "保存这 {n} 条分层规则，并重新计算分层和标签？",
        "Save these {n} layer rules and re-apply the layers and tags?",
    ),
    "rules_saved": (
        "已保存 {n} 条分层规则，分层和标签已重新计算",
        "{n} layer rules saved; layers and tags re-applied",
    ),
    "tag_editor": ("编辑标签（ctrl+s 保存 · Esc 关闭）", "Edit tag (ctrl+s save · Esc close)"),
    "tag_name": ("名称", "Name"),
    "tag_now": ("目前 {n:,} 人持有此标签", "held by {n:,} users now"),
    "tag_new": ("新标签", "a new tag"),
    "save_tag": ("保存标签 {name}，并重新计算标签？", "Save the tag {name} and re-apply the tags?"),
    "tag_saved": ("标签 {name} 已保存，标签已重新计算", "Tag {name} saved; tags re-applied"),
    "delete_tag": (
        "删除标签 {name}（所有用户都将失去它）？",
        "Delete the tag {name} (every user loses it)?",
    ),
    "tag_deleted": ("标签 {name} 已删除", "Tag {name} deleted"),
    "tag_invalid": ("标签无法保存", "The tag cannot be saved"),
    # i-navigation: drill-downs, reloads after changes
    "nobody_moved": ("没有用户", "nobody"),
    "changed": ("数据已变更", "Database changed"),
    "changed_outside": (
        "另一个程序修改了数据库：离开输入框后重新载入",
        "Another program changed the database: this screen reloads when you leave the text box",
    ),
}

# n-strategy-screen: the Strategies screen (tui/screens/strategies.py, tui/widgets/strategy_*)
WORDS.update(
    {
        "strategies_title": ("策略", "Strategies"),
        "st_strategy": ("策略", "Strategy"),
        "st_schedule": ("排期", "Schedule"),
        "st_last_run": ("上次运行", "Last run"),
        "st_uplift": ("最近提升 [95% 区间]", "Latest uplift [95% CI]"),
        "st_uplift_short": ("提升 [95% 区间]", "Uplift [95% CI]"),
        "st_trend": ("各次提升", "Runs"),
        "st_targets": ("目标", "Targets"),
        "st_control": ("对照", "Control"),
        "st_cum_uplift": ("累计提升 [95% 区间]", "Cumulative [95% CI]"),
        "st_active": ("启用", "active"),
        "st_paused": ("已暂停", "paused"),
        "st_no_strategies": ("还没有策略：按 n 新建", "no strategies yet: n creates one"),
        "st_report": ("效果", "Effect"),
        "st_chart": ("提升趋势", "Uplift chart"),
        "st_date": ("日期", "Date"),
        "st_offer": ("权益", "Offer"),
        "st_conv_t": ("目标转化", "Conv. T"),
        "st_conv_c": ("对照转化", "Conv. C"),
        "st_uplift_ci": ("提升（百分点）[95% 区间]", "Uplift pts [95% CI]"),
        "st_mde": ("最小可测（点）", "MDE pts"),
        "st_cumulative": ("累计", "cumulative"),
        "st_open": ("窗口未结束", "window open"),
        "st_window": (
            "效果窗口：每次运行次日起 {n} 天",
            "effect window: {n} days from the day after each run",
        ),
        "st_no_runs": ("尚无运行", "no runs yet"),
        "st_nobody_new": ("无新目标", "nobody new"),  # a run that selected nobody
        "st_warning": ("提醒", "warning"),
        "st_method": ("方法", "method"),
        "st_chart_title": (
            "每次运行的转化提升（百分点）与 95% 区间",
            "Conversion uplift per run (points) with its 95% interval",
        ),
        "st_chart_empty": (
            "单次运行数据不足以度量提升：每次的目标（青）与对照（橙）人数",
            "no run with enough data for an uplift: targets (cyan) and control (orange) per run",
        ),
        "st_new": ("策略：新建", "strategy: New"),
        "st_edit": ("策略：编辑", "strategy: Edit"),
        "st_f_name": ("名称", "Name"),
        "st_f_when": ("触发条件", "Trigger"),
        "st_f_channel": ("渠道", "Channel"),
        "st_f_offer": ("权益/文案", "Offer"),
        "st_f_holdout": ("对照组 %", "Holdout %"),
        "st_f_cooldown": ("冷却天数", "Cooldown days"),
        "st_f_max": ("每次上限", "Max per run"),
        "st_f_priority": ("优先级", "Priority"),
        "st_f_schedule": ("排期", "Schedule"),
        "st_f_mode": ("模式", "Mode"),
        "st_mode_entering": ("仅新进入", "entering"),
        "st_mode_every_run": ("每次全部", "every run"),
        "st_schedule_hint": ("daily、mon,thu 或 every:3", "daily, mon,thu or every:3"),
        "st_max_hint": ("空 = 不限", "empty = no limit"),
        "st_save": ("保存", "Save"),
        "st_cancel": ("取消", "Cancel"),
        "st_counting": ("计算中…", "counting…"),
        "st_preview": (
            "今天：条件命中 {matched:,} · 可触达 {wanted:,} · 将触达 {targets:,} 人，对照 {control:,} 人",
            "today: {matched:,} match · {wanted:,} wanted · {targets:,} would be targeted, {control:,} control",
        ),
        "st_removed": ("移除", "removed"),
        "st_overlaps": ("与其他策略重叠", "overlap with the others"),
        "st_no_overlaps": ("没有其他启用的策略", "no other active strategy"),
        "st_whole": (
            "{what}：请填写整数（得到 {got!r}）",
            "{what}: a whole number, please (got {got!r})",
        ),
        "st_number": (
            "{what}：请填写数字（得到 {got!r}）",
            "{what}: a number, please (got {got!r})",
        ),
        "st_saved": ("已保存策略 {name}", "strategy {name} saved"),
        "st_paused_note": ("已暂停 {name}", "{name} paused"),
        "st_resumed_note": ("已恢复 {name}", "{name} resumed"),
        "st_deleted_note": (
            "已删除 {name}（历史运行作为活动保留）",
            "{name} deleted (its past runs stay as campaigns)",
        ),
        "st_delete_q": (
            "删除策略 {name}？其历史运行作为活动保留。",
            "Delete strategy {name}? Its past runs stay as campaigns.",
        ),
        "st_delete": ("删除", "Delete"),
        "st_dry_title": ("试运行，截至 {d}", "Dry run as of {d}"),
        "st_run": ("正式运行", "Run"),
        "st_run_q": ("按以上结果正式运行？", "Run these for real?"),
        "st_matched": ("命中", "matched"),
        "st_none": ("无", "none"),
        "st_nothing": ("没有启用的策略", "no active strategies"),
        "st_overlap_pairs": (
            "重叠（优先级高者取得这些用户）",
            "overlaps (the higher priority takes them)",
        ),
        "st_ran": (
            "已运行策略 {n} 个：目标 {t:,} 人，对照 {c:,} 人",
            "strategies run: {n}; {t:,} targets, {c:,} control",
        ),
        "st_variant": ("方案", "variant"),
        "st_targets_word": ("目标", "targets"),
        "st_files": ("目标文件在", "target files in"),
        "st_legend_uplift": ("提升", "uplift"),
        "st_legend_ci": ("95% 区间", "95% interval"),
        "rm_not_entering": ("非新进入", "not entering"),
        "rm_global_control": ("全局对照组", "global control"),
        "rm_cooldown": ("冷却期", "cooldown"),
        "rm_frequency_cap": ("频次上限", "frequency cap"),
        "rm_priority": ("优先级", "priority"),
        "rm_max": ("每次上限", "max per run"),
    }
)

# key: (zh, en). Columns by name (their short header), then the UI's words (no key is both).
LABELS: dict[str, tuple[str, str]] = {**COLUMN_HEADERS, **WORDS, **zh_texts.WORDS}

# The footer's words for each key, by binding id; English is the Binding's own description.
BINDING_LABELS_ZH: dict[str, str] = {
    "app.quit": "退出",
    "app.refresh": "刷新",
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
    "layers.edit": "编辑规则",  # j-layers
    "layers.add": "新增",  # j-layers
    "layers.delete": "删除",  # j-layers
    "layers.up": "上移",  # j-layers
    "layers.down": "下移",  # j-layers
    "layers.save": "保存",  # j-layers
    "rfm.back": "返回",
    "rfm.dims": "切换维度",
    "rfm.cells": "27格",
    "rfm.edit": "阈值",
    "rfm.save": "保存",
    "tags.back": "返回",
    "tags.reload": "刷新",
    "tags.edit": "编辑",  # j-layers
    "tags.add": "新增",  # j-layers
    "tags.delete": "删除",  # j-layers
    "tags.save": "保存",  # j-layers
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


# n-strategy-screen
BINDING_LABELS_ZH.update(
    {
        "app.strategies": "策略",
        "strategies.back": "返回",
        "strategies.new": "新建",
        "strategies.edit": "编辑",
        "strategies.pause": "暂停/恢复",
        "strategies.delete": "删除",
        "strategies.run": "立即运行",
        "strategies.view": "图表",
        "strategy_form.save": "保存",
        "strategy_form.cancel": "取消",
    }
)


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

    def schedule(self, schedule: Schedule) -> str:
        """When a strategy runs, in words (the form keeps the syntax one types: daily, mon,thu,
        every:3)."""
        if self.lang != "zh":
            return schedule.text
        if schedule.kind == "every":
            return f"每{schedule.every_days}天"
        if schedule.kind == "weekdays":
            return "、".join(zh_texts.WEEKDAYS[d] for d in schedule.weekdays)
        return "每天"

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
