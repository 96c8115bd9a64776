"""Chinese for the texts whose English is written elsewhere, in one table per kind.

- ``PHRASES``: an English UI text → its Chinese, for texts declared in English where they are
  used: the keys' tooltips, the command palette's titles and help lines, Textual's own key and
  command descriptions. ``Labels.text(english)`` looks them up; a missing phrase stays English
  (tests/tui/test_chinese.py fails on it).
- ``WORDS``: keyed (zh, en) pairs like tui.i18n.WORDS, for the texts of the screens and dialogs
  (merged into tui.i18n.LABELS).
- The Chinese of texts core keeps in English: RFM typical actions, the default tags'
  descriptions, channels, campaign statuses and audit actions, and core's messages (query
  errors, the models' reasons, the effect report's reasons), translated by pattern at the tui
  boundary (``core_message``): core stays free of the UI's languages and its English messages
  stay what the CLI prints.
"""

from __future__ import annotations

import re

PHRASES: dict[str, str] = {
    "Search for commands…": "搜索命令…",  # the palette's prompt
    # tooltips of our keys
    "Add targets from a segment or condition": "从分群或条件添加目标用户",
    "Back (or close the form)": "返回（或关闭表单）",
    "Back to the users list": "返回用户列表",
    "Back to the users": "返回用户列表",
    "Back": "返回",
    "Build, count, save and compare segments": "构建、计数、保存与比较分群",
    "Campaigns: targets, control group, export, effect": "活动：目标用户、对照组、导出、效果",
    "Cancel": "取消",
    "Choose the earlier date of the transitions matrix": "选择迁移矩阵的起始日期",
    "Close the form": "关闭表单",
    "Close the help": "关闭帮助",
    "Confirm": "确定",
    "Count the layers again": "重新统计分层",
    "Count the tags again": "重新统计标签",
    "Create a campaign": "新建活动",
    "Delete the saved segment": "删除已保存的分群",
    "Do not save": "不保存",
    "Effect report window": "效果评估窗口",
    "Export targets to CSV": "导出目标用户为CSV",
    "Filter with a condition, e.g. city = '上海' and r_score >= 4": (
        "按条件筛选，如 city = '上海' and r_score >= 4"
    ),
    "Find users by id, name or phone": "按ID、姓名或手机号查找用户",
    "Freeze the current members as a static list": "把当前成员冻结为静态名单",
    "Go to the saved list, or back to the condition": "转到已保存列表，或回到条件",
    "Highlight the next completion": "高亮下一个补全",
    "Highlight the previous completion": "高亮上一个补全",
    "Insert the highlighted completion": "插入高亮的补全",
    "Jump to the first users": "跳到最前面的用户",
    "Jump to the last users": "跳到最后面的用户",
    "Keys of this screen and a short guide": "本页按键与简要说明",
    "Leave the search results or the filter bar": "离开搜索结果或筛选栏",
    "Leave userops": "退出 userops",
    "Mark / unmark the user as a target of the current campaign": "标记/取消标记为当前活动的目标",
    "Mark as sent: locks the lists": "标记为已发送：锁定名单",
    "Mark every filtered user as a target of the current campaign": (
        "把筛选出的全部用户标记为当前活动的目标"
    ),
    "Next page of targets": "目标用户下一页",
    "Next screenful; at the bottom, the next page of users": "向下一屏；到底部时加载下一页",
    "Pick the highlighted segment (two picked: their overlap)": "选择高亮的分群（选两个：看重叠）",
    "Plot R–F, R–M or F–M": "散点图切换 R–F、R–M、F–M",
    "Predictive models: fits, the model in use, holdout validation charts": (
        "预测模型：拟合结果、当前使用的模型、验证期图表"
    ),
    "Previous page of targets": "目标用户上一页",
    "Previous screenful; at the top, the previous page of users": "向上一屏；到顶部时加载上一页",
    "Reverse the sort direction": "反转排序方向",
    "Save the condition": "保存条件",
    "Save the threshold being previewed and regroup the buyers": "保存试算中的阈值并重新分组",
    "Save the threshold": "保存阈值",
    "Scroll down one screenful": "向下滚动一屏",
    "Scroll up one screenful": "向上滚动一屏",
    "Sort by the next column": "按下一列排序",
    "Stop the query that is still running; the last results stay": "停止仍在运行的查询；保留上次结果",
    "Switch groups / 27 cells": "切换八大客户群 / 27格",
    "Tags by dimension with their users and model values": "按维度列出标签及其用户与模型值",
    "The 8 RFM groups, the scatter of buyers and the thresholds": "RFM八大客户群、买家散点图与阈值",
    "The layer pyramid, overlaps and gaps of the rules, transitions": (
        "分层金字塔、规则的重叠与遗漏、分层迁移"
    ),
    "Try a threshold (preview)": "试算阈值（预览）",
    "Undo the last change of targets": "撤销上一次目标用户的变更",
    "Undo the last change of the current campaign's targets": "撤销当前活动目标用户的上一次变更",
    "Unlock, with a reason": "解锁（需填写原因）",
    # the command palette: titles (area: verb) and help lines
    "layers: Open": "分层：打开",
    "The layer pyramid, MECE report and transitions": "分层金字塔、MECE检查与迁移",
    "rfm: Open": "RFM：打开",
    "The 8 RFM groups, scatter of buyers, thresholds": "RFM八大客户群、买家散点图、阈值",
    "tags: Open": "标签：打开",
    "Tags by dimension, their users and model values": "按维度的标签、用户与模型值",
    "segment: Open builder": "分群：打开分群构建器",
    "campaign: Open": "活动：打开",
    "models: Open": "模型：打开",
    # the refresh (issue 11) and the strategies (issue 16)
    "data: Refresh to the latest date": "数据：刷新到最新日期",
    "data: Refresh to a date…": "数据：刷新到指定日期…",
    "Bring the figures to the latest date in the data (F5)": "把各项数据刷新到数据中的最新日期（F5）",
    "Bring the figures to a date you type": "把各项数据刷新到输入的日期",
    "Refresh the figures to the latest date in the data (userops refresh)": (
        "把各项数据刷新到数据中的最新日期（userops refresh）"
    ),
    "strategy: Open": "策略：打开",
    "strategy: New": "策略：新建",
    "Create a strategy (live count and overlaps)": "新建策略（实时计数与重叠）",
    "strategy: Edit": "策略：编辑",
    "Edit the highlighted strategy": "编辑高亮的策略",
    "strategy: Pause or resume": "策略：暂停或恢复",
    "Pause or resume the highlighted strategy": "暂停或恢复高亮的策略",
    "strategy: Delete": "策略：删除",
    "Delete the highlighted strategy": "删除高亮的策略",
    "strategy: Run now": "策略：立即运行",
    "A dry run of the due strategies, then run": "先试运行到期的策略，再正式运行",
    # the rules and tags editors, the strategies screen (merged after the translation)
    "A dry run of every due strategy, then run it for real when confirmed": "先试运行所有到期的策略，确认后正式运行",
    "Add a layer rule to the draft": "在草稿中新增一条分层规则",
    "Add a tag": "新增标签",
    "Create a strategy": "新建策略",
    "Delete the rule": "删除该规则",
    "Delete the strategy (after a question; its runs stay as campaigns)": "删除策略（先确认；其运行记录作为活动保留）",
    "Delete the tag": "删除该标签",
    "Edit the highlighted tag": "编辑高亮的标签",
    "Edit the layer rules (preview)": "编辑分层规则（预览）",
    "Edit the strategy": "编辑策略",
    "Evaluate the rule earlier": "提前判断该规则",
    "Evaluate the rule later": "推后判断该规则",
    "Pause an active strategy, resume a paused one": "暂停启用中的策略，恢复已暂停的策略",
    "Save the draft rules and re-apply the layers and tags": "保存草稿规则并重新计算分层和标签",
    "Save the tag and re-apply the tags": "保存标签并重新计算标签",
    "Scroll the report to the uplift chart, and back": "把报告滚动到提升图表，再滚回",
    "layers: Edit the rules": "分层：编辑规则",
    "Add, edit, reorder or delete rules with a preview": "新增、编辑、调整顺序或删除规则，带预览",
    "tags: Edit the tag": "标签：编辑标签",
    "Edit the highlighted tag with a live count": "编辑高亮的标签，实时计数",
    "tags: Add a tag": "标签：新增标签",
    "A new tag with a live count": "新标签，实时计数",
    "Leave the search, then clear the filter (a list opened from a screen: back)": (
        "先退出搜索，再清除筛选（从其他界面打开的列表：返回）"
    ),
    "Strategies: runs, control group, uplift, dry run": "策略：运行记录、对照组、提升、试运行",
    "Strategies: IF-THEN rules run on every refresh, with a control group": (
        "策略：每次刷新时执行的“如果…就…”规则，带对照组"
    ),
    "Predictive models, the one in use, holdout validation": "预测模型、当前使用的模型、验证",
    "campaign: Set current": "活动：设为当前活动",
    "Open the campaigns; Enter makes one current": "打开活动列表；Enter 设为当前活动",
    "users: Search": "用户：搜索",
    "users: Filter": "用户：筛选",
    "Filter users with a condition in the segment language": "用分群条件语言筛选用户",
    "users: Sort by next column": "用户：按下一列排序",
    "Sort the table by the next column": "按下一列给表格排序",
    "users: Reverse sort": "用户：反向排序",
    "users: First users": "用户：最前面的用户",
    "Jump to the first page": "跳到第一页",
    "users: Last users": "用户：最后面的用户",
    "Jump to the last page": "跳到最后一页",
    "profile: Back": "用户画像：返回",
    "layers: Transitions since a date": "分层：自某日起的迁移",
    "Type the earlier date of the matrix": "输入迁移矩阵的起始日期",
    "layers: Reload": "分层：刷新",
    "Count the layers, overlaps and gap again": "重新统计分层、重叠与遗漏",
    "rfm: Switch plot dimensions": "RFM：切换散点图维度",
    "rfm: Groups / 27 cells": "RFM：八大客户群 / 27格",
    "Switch between the 8 groups and the 27 cells": "在八大客户群与27格之间切换",
    "rfm: Try a threshold": "RFM：试算阈值",
    "Preview the groups under another threshold": "预览另一阈值下的分组",
    "rfm: Save the threshold": "RFM：保存阈值",
    "Save the previewed threshold and regroup": "保存试算的阈值并重新分组",
    "tags: Reload": "标签：刷新",
    "segment: Save as…": "分群：另存为…",
    "Save the condition as a named segment": "把条件保存为命名分群",
    "segment: Delete": "分群：删除",
    "Delete the highlighted saved segment": "删除高亮的已保存分群",
    "segment: Snapshot": "分群：快照",
    "Freeze the segment's current members": "冻结分群的当前成员",
    "campaign: New": "活动：新建",
    "campaign: Add targets": "活动：添加目标用户",
    "Add targets from a segment with a control group": "从分群添加目标用户并留出对照组",
    "Mark users into the highlighted campaign": "把用户标记到高亮的活动",
    "campaign: Undo": "活动：撤销",
    "Undo the last change of the targets": "撤销上一次目标用户的变更",
    "campaign: Export targets": "活动：导出目标用户",
    "Write the targets (never the control) to CSV": "把目标用户（不含对照组）写入CSV",
    "campaign: Send": "活动：发送",
    "Mark the campaign as sent and lock its lists": "把活动标记为已发送并锁定名单",
    "campaign: Unlock": "活动：解锁",
    "Unlock a sent campaign (the reason is logged)": "解锁已发送的活动（原因会记录在日志）",
    "campaign: Effect report": "活动：效果报告",
    "Targets against control over a window": "在评估窗口内比较目标组与对照组",
    "users: Open profile of": "用户：打开用户画像",
    # error titles (core.errors and the screens)
    "Error": "错误", "Database problem": "数据库问题", "Import failed": "导入失败",
    "Invalid condition": "条件有误", "Not found": "未找到", "Model not fitted": "模型未拟合",
    "Campaign locked": "活动已锁定", "Unexpected error": "意外错误", "Invalid input": "输入有误",
    "Bad threshold": "阈值有误", "Invalid segment": "分群有误", "Bad date": "日期有误",
    "Another as-of date": "数据截至日不同", "Bad histogram": "直方图参数有误", "Campaign": "活动",
    "Cannot write the file": "无法写入文件", "Condition too slow": "条件运行太慢",
    "Demo not built": "演示数据未生成", "Global control": "全局对照组", "Invalid layer": "分层有误",
    "Invalid tag": "标签有误", "No as-of date": "没有数据截至日", "Refresh": "刷新",
    "Snapshot exists": "快照已存在", "Strategy": "策略", "Unknown column": "未知的列",
    "Unknown field": "未知字段", "Transitions": "分层迁移",
    # the effect report's methods (core.audience.effect)
    "Newcombe hybrid score interval (Wilson), difference of two proportions": (
        "Newcombe 混合得分区间（Wilson），两个比例之差"
    ),
    "Welch's t interval, difference of two means (unequal variances)": (
        "Welch t 区间，两个均值之差（方差不等）"
    ),
    "two-proportion z test, alpha 0.05 two-sided, power 0.8: "
    "(z(0.975) + z(0.8)) * sqrt(p(1 - p)(1/n_t + 1/n_c)), p = the pooled conversion": (
        "两比例 z 检验，双侧 alpha 0.05，检验力 0.8："
        "(z(0.975) + z(0.8)) * sqrt(p(1 - p)(1/n_t + 1/n_c))，p = 两组合并的转化率"
    ),
    "Open the profile of the user with this id": "打开该ID用户的画像",
    # Textual's own keys and commands (shown in the footer, the help and the palette)
    "Bottom": "到底部", "Copy selected text": "复制所选文本", "Cursor down": "光标下移",
    "Cursor left": "光标左移", "Cursor right": "光标右移", "Cursor up": "光标上移",
    "Cut selected text": "剪切所选文本", "Delete all to the left": "删除左侧全部",
    "Delete all to the right": "删除右侧全部", "Delete character left": "删除左侧字符",
    "Delete character right": "删除右侧字符", "Delete left to start of word": "向左删除一个词",
    "Delete right to start of word": "向右删除一个词", "Dismiss menu": "关闭菜单",
    "Down": "下", "End": "末尾", "First": "首个", "Focus Next": "下一个焦点",
    "Focus Previous": "上一个焦点", "Go to end": "到末尾", "Go to start": "到开头",
    "Home": "开头", "Last": "最后", "Move cursor left": "光标左移",
    "Move cursor left a word": "光标左移一个词", "Move cursor left a word and select": "向左选择一个词",
    "Move cursor left and select": "向左选择", "Move cursor right a word": "光标右移一个词",
    "Move cursor right a word and select": "向右选择一个词", "Move cursor right and select": "向右选择",
    "Move cursor right or accept the completion suggestion": "光标右移或接受补全建议",
    "Next tab": "下一个标签页", "Page Down": "下一页", "Page Left": "向左翻页",
    "Page Right": "向右翻页", "Page Up": "上一页", "Page down": "下一页", "Page up": "上一页",
    "Paste text from the clipboard": "从剪贴板粘贴", "Press button": "按下按钮",
    "Previous tab": "上一个标签页", "Quit": "退出", "Scroll Down": "向下滚动",
    "Scroll End": "滚到末尾", "Scroll Home": "滚到开头", "Scroll Left": "向左滚动",
    "Scroll Right": "向右滚动", "Scroll Up": "向上滚动", "Select": "选择", "Select all": "全选",
    "Select line end": "选到行尾", "Select line start": "选到行首", "Show menu": "显示菜单",
    "Submit": "提交", "Toggle": "切换", "Top": "到顶部", "Up": "上",
    "Theme": "主题", "Change the current theme": "切换当前主题",
    "Quit the application as soon as possible": "立即退出程序",
    "Keys": "按键", "Show help for the focused widget and a summary of available keys": (
        "显示当前控件的帮助与可用按键"
    ),
    "Maximize": "最大化", "Maximize the focused widget": "最大化当前控件",
    "Minimize": "还原", "Minimize the widget and restore to normal size": "把控件还原为正常大小",
    "Screenshot": "截图", "Save an SVG 'screenshot' of the current screen": "把当前屏幕保存为SVG截图",
    "palette": "命令", "Open the command palette": "打开命令面板",
    "Quit the app and return to the command prompt.": "退出程序并回到命令行。",
}  # fmt: skip

WORDS: dict[str, tuple[str, str]] = {
    "buyers": ("买家", "buyers"),
    "try_first": ("请先按 e 试算一个阈值", "Press e to try a threshold first"),
    "needs_number": ("{dim}：{method} 需要一个数字，收到的是 {raw}", "{dim}: {method} needs a number, got {raw}"),
    "rfm_mean": ("均值", "mean"),
    "scatter_r": ("R：距上次下单天数", "R: days since last order"),
    "scatter_f": ("F：订单数", "F: orders"),
    "scatter_m": ("M：消费金额", "M: amount spent"),
    # dialogs
    "ok": ("确定", "OK"),
    "cancel": ("取消", "Cancel"),
    "create": ("创建", "Create"),
    "add": ("添加", "Add"),
    "export": ("导出", "Export"),
    "unlock": ("解锁", "Unlock"),
    "send": ("发送", "Send"),
    "save": ("保存", "Save"),
    "delete": ("删除", "Delete"),
    "f_name": ("名称", "Name"),
    "f_channel": ("渠道", "Channel"),
    "f_offer": ("权益/优惠", "Offer"),
    "f_start": (
        "开始日期（YYYY-MM-DD；留空：发送当天；数据截至 {as_of}）",
        "Start date (YYYY-MM-DD, empty: the day it is sent; as of {as_of})",
    ),
    "f_source": ("已保存分群或条件（已保存：{hint}）", "Saved segment or a condition (saved: {hint})"),
    "none_saved": ("尚未保存", "none saved yet"),
    "f_holdout": ("对照组（留出比例 %）", "Control group (holdout %)"),
    "f_within": (
        "排除 N 天内已被触达的用户（留空：不限）",
        "Exclude users targeted within N days (empty: no cap)",
    ),
    "f_seed": ("对照组抽样种子", "Seed of the control draw"),
    "f_path": ("CSV 文件", "CSV file"),
    "f_columns": ("列（逗号分隔；user_id 总在第一列）", "Columns (comma separated; user_id always first)"),
    "f_contact": ("包含手机号和邮箱（联系方式）", "Include phone and e-mail (contact details)"),
    "f_reason": ("原因（记入日志）", "Reason (logged)"),
    "f_window": ("效果评估窗口（开始日期后的天数）", "Effect window (days from the start date)"),
    "send_question": (
        "发送活动 {name}？发送后名单锁定，需显式解锁才能修改。",
        "Send campaign {name}? Its lists are locked until explicitly unlocked.",
    ),
    "delete_segment_question": ("删除分群“{name}”？", 'Delete the segment "{name}"?'),
    "current_set": ("当前活动：{name}（空格把用户标记进该活动）", "Current campaign: {name} (space marks users into it)"),
    "nothing_to_save": ("没有可保存的内容", "Nothing to save"),
    "type_valid_first": ("请先输入一个有效的条件。", "Type a valid condition first."),
    "window": ("窗口", "Window"),
    # the effect report
    "converted": ("转化人数", "converted"),
    "conversion": ("转化率", "conversion"),
    "revenue_user": ("人均收入", "revenue / user"),
    "window_incomplete": ("窗口未结束：数据截至 {day}", "window incomplete: data up to {day}"),
    "not_enough": ("数据不足：{reason}。", "Not enough data: {reason}."),
    "uplift_conversion": ("提升（转化率）", "Uplift, conversion"),
    "uplift_revenue": ("提升（人均收入）", "Uplift, revenue per user"),
    "ci95": ("95%置信区间", "95% CI"),
    "method_word": ("方法", "method"),
    # the models view
    "no_validation_stored": ("尚无验证结果", "no validation stored"),
    "chart_tracking": ("验证期累计购买次数", "cumulative holdout purchases"),
    "chart_conditional": ("按校准期复购次数的验证期平均购买", "mean holdout purchases by x"),
    "chart_weeks": ("校准期结束后的周数", "weeks after calibration"),
    "chart_repeats": ("校准期复购次数", "calibration repeat purchases"),
    "actual": ("实际", "actual"),
    # marking, segments, layers, users: notes and questions
    "mark_note": ("{user} 已标记为 {campaign} 的目标", "{user} marked as a target of {campaign}"),
    "unmark_note": ("{user} 已从 {campaign} 取消标记", "{user} unmarked from {campaign}"),
    "undo_note": ("{campaign}：已撤销{action}（{n} 人）", "{campaign}: undid {action} of {n} users"),
    "bulk_note": ("{campaign}：已标记 {n} 人，{k} 人已在名单中", "{campaign}: {n} marked, {k} already in"),
    "no_current": (
        "没有当前活动：打开活动页（c）并在一个活动上按 Enter。",
        "No current campaign: open the campaigns (c) and press Enter on one.",
    ),
    "nothing_to_mark": ("没有可标记的活动", "Nothing to mark into"),
    "locked_note": (
        "活动 {name} {status}：名单已锁定。到活动页按 U 解锁后才能修改。",
        "Campaign {name} is {status}: its lists are locked. Unlock it on the campaign screen (U) to change them.",
    ),
    "campaign_locked": ("活动已锁定", "Campaign locked"),
    "in_control": ("{user} 在 {name} 的对照组中。", "{user} is in the control group of {name}."),
    "mark_all_question": (
        "把全部 {n} 个筛选出的用户标记为 {name} 的目标？",
        "Mark all {n} filtered users as targets of {name}?",
    ),
    "mark_all": ("全部标记", "Mark all"),
    "seg_saved": ("“{name}”已保存 · 历史中有 {n} 个早先版本", '"{name}" saved · {n} earlier version(s) in the history'),
    "seg_deleted": ("“{name}”已删除", '"{name}" deleted'),
    "seg_snapshot": ("快照“{name}”：已冻结 {n} 人", 'snapshot "{name}": {n} users frozen'),
    "not_a_date": ("{text} 不是日期：请写 YYYY-MM-DD", "{text} is not a date: write YYYY-MM-DD"),
    "not_before": ("{day} 不早于数据截至日 {as_of}", "{day} is not before the as-of date {as_of}"),
    "bad_date": ("日期有误", "Bad date"),
    "leave_search": ("请先离开搜索：M 标记的是筛选出的列表。", "Leave the search first: M marks the filtered list."),
    # campaign notes
    "created_note": ("已创建 {name}（{channel}）", "created {name} ({channel})"),
    "added_note": (
        "{campaign}：匹配 {n} 人 · 新增目标 {t} 人 + 对照 {c} 人 · 排除 {x} 人（{a} 人已在名单中，{r} 人近期已触达）",
        "{campaign}: {n} matched · added {t} targets + {c} control · excluded {x} ({a} already in, {r} targeted recently)",
    ),
    "exported_note": ("{campaign}：{n} 个目标用户已写入 {path}", "{campaign}: {n} targets written to {path}"),
    "sent_note": ("{campaign} 已发送，开始日期 {day}：名单已锁定", "{campaign} sent, start date {day}: its lists are locked"),
    "unlocked_note": ("{campaign} 已解锁：{reason}", "{campaign} unlocked: {reason}"),
    "w_start": ("开始日期", "Start date"),
    "w_holdout": ("留出比例", "Holdout"),
    "w_within": ("排除近期已触达", "Exclude targeted within"),
    "w_seed": ("种子", "Seed"),
}  # fmt: skip

# RFM typical actions, by group key (the English lives with the groups in core.analytics.rfm)
RFM_ACTIONS: dict[str, str] = {
    "important_value": "保持满意，VIP服务",
    "important_development": "提升购买频次",
    "important_retention": "趁其流失前挽回：曾经高价值，如今沉默",
    "important_winback": "召回活动",
    "general_value": "提升客单价",
    "general_development": "培育",
    "general_retention": "保持互动",
    "general_winback": "低成本提醒",
    "non_buyer": "促成首购",
}

# The default tags' descriptions (core.rules.tags.DEFAULT_TAGS), by tag name; shown only while
# the stored description is still the default English one (an operator's own text stays).
TAG_DESCRIPTIONS: dict[str, str] = {
    "一线城市": "居住在一线城市",
    "iOS用户": "使用iOS应用",
    "夜猫子": "夜间买家：一半订单在22:00–06:00下单",
    "优惠券用户": "90天内使用优惠券两次",
    "加购未付": "加购后未付款",
    "社区活跃": "30天内发帖两次",
    "高复购": "高复购：五单或以上",
    "偏好美妆": "最爱品类：美妆",
    "高客单": "高客单：平均每单400或以上",
    "流失预警": (
        "流失预警：购买模型认为该买家仍是客户的概率低于30%（流失分层是按最近一次消费的规则："
        "90天无订单；模型需要复购才能判断，所以两者不同）"
    ),
    "高价值潜力": "预测生命周期价值高",
    "近期复购": "预计30天内再次购买",
}

CHANNELS: dict[str, str] = {"push": "推送", "sms": "短信", "coupon": "优惠券", "email": "邮件"}
STATUSES: dict[str, str] = {"draft": "草稿", "sent": "已发送", "closed": "已结束"}
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")  # Monday first, as core's
AUDIT_ACTIONS: dict[str, str] = {
    "create": "创建", "add": "添加", "mark": "标记", "unmark": "取消标记", "undo": "撤销",
    "export": "导出", "send": "发送", "close": "结束", "unlock": "解锁", "remove": "移除",
}  # fmt: skip
RFM_METHODS: dict[str, str] = {
    "mean": "均值",
    "median": "中位数",
    "fixed": "固定值",
    "score": "按得分",
}

# Core's English messages → Chinese, by pattern. A message is split at "; " and each piece
# translated by the first pattern matching all of it (named groups are copied in; ``what`` and
# ``e`` are translated words); a piece no pattern knows stays English.
MESSAGES: tuple[tuple[str, str], ...] = (
    (r"Saving changes in the app does not run on (?P<e>\S+) yet: run it on the SQLite database "
     r"and `userops copy` it to \S+ again \(docs/engines\.md says what runs where\)",
     "在 {e} 上还不能在应用里保存修改：请在 SQLite 数据库上修改，再用 `userops copy` 复制到 {e}"
     "（docs/engines.md 说明各引擎支持什么）"),
    (r"No layer history on (?P<d>\S+): transitions from or to a date that was not recomputed "
     r"do not run on (?P<e>\S+) yet \(on SQLite and DuckDB they are computed\)",
     "{d} 没有分层历史：在 {e} 上还不能看未重算日期的分层迁移（SQLite 和 DuckDB 上会现算）"),
    (r"Unknown field (?P<f>.+) at column (?P<c>\d+)", "未知字段 {f}（第 {c} 列）"),
    (r"did you mean (?P<g>.+)\?", "是否想输入 {g}？"),
    (r"Unknown (?P<what>event kind|tag|campaign|segment|layer|RFM group|group|value) (?P<v>.+) "
     r"at column (?P<c>\d+)", "未知{what} {v}（第 {c} 列）"),
    (r"No user has (?P<f>\S+) (?P<v>.+) \(column (?P<c>\d+)\)", "没有用户的 {f} 为 {v}（第 {c} 列）"),
    (r"The condition is empty: write e\.g\. (?P<x>.+)", "条件为空：例如写 {x}"),
    (r"The condition ends too early: expected (?P<e>.+)", "条件不完整：此处应为 {e}"),
    (r"Unexpected (?P<t>.+?) at column (?P<c>\d+): expected (?P<e>.+)",
     "第 {c} 列出现意外的 {t}：此处应为 {e}"),
    (r"text values are quoted, e\.g\. (?P<h>.+)", "文本值要加引号，如 {h}"),
    (r"Unterminated quoted value starting at column (?P<c>\d+)", "第 {c} 列开始的引号没有闭合"),
    (r"Unterminated backquoted field name starting at column (?P<c>\d+)",
     "第 {c} 列开始的反引号字段名没有闭合"),
    (r"(?P<v>\S+) is not a valid date \(column (?P<c>\d+)\)", "{v} 不是有效日期（第 {c} 列）"),
    # the campaign forms' checks (tui.widgets.campaign_parts; the field's name comes translated)
    (r"(?P<w>.+): (?P<v>.+) is not a whole number", "{w}：{v} 不是整数"),
    (r"(?P<w>.+): (?P<v>.+) is not a number", "{w}：{v} 不是数字"),
    (r"(?P<w>.+): (?P<v>.+) is not a date like 2024-07-01", "{w}：{v} 不是 2024-07-01 这样的日期"),
    # the models' reasons (core.analytics.predict, core.analytics.validation)
    (r"lowest BIC on the whole history \(no holdout validation recorded\)",
     "全部历史上BIC最低（尚无验证期记录）"),
    (r"BG/NBD is left out of automatic choices: it calls every one-time buyer certainly alive "
     r"\(use --use bgnbd to choose it\)",
     "自动选择不考虑 BG/NBD：它把每个只买过一次的买家都判为确定存活（可用 --use bgnbd 指定）"),
    (r"the only purchase model fitted", "唯一拟合成功的购买模型"),
    (r"the only fit that converged to a usable maximum \(the others did not\)",
     "唯一收敛到可用最大值的拟合（其余未收敛）"),
    (r"no purchase model could be fitted", "没有购买模型能拟合"),
    (r"no purchase model could be fitted on the calibration period", "校准期内没有购买模型能拟合"),
    (r"lowest per-customer error on the holdout (?P<p>\S+): MAE (?P<m>[\d.]+) \(others: (?P<o>.+)\)",
     "验证期 {p} 上人均误差最低：MAE {m}（其他：{o}）"),
    (r"lowest per-customer error on the holdout (?P<p>\S+): MAE (?P<m>[\d.]+)",
     "验证期 {p} 上人均误差最低：MAE {m}"),
    (r"(?P<m>.+) \(the recorded choice\) could not be fitted", "{m}（记录的选择）无法拟合"),
    # the effect report's reasons (core.audience.effect)
    (r"the window starts on (?P<d>\S+), after the data's as-of date (?P<a>\S+): there are no "
     r"orders to compare yet", "窗口从 {d} 开始，晚于数据截至日 {a}：尚无订单可比较"),
    (r"the target group has (?P<n>\d+) users and the control group has (?P<k>\d+) users",
     "目标组 {n} 人，对照组 {k} 人"),
    (r"the (?P<what>target|control) group has (?P<n>\d+) users", "{what}组 {n} 人"),
    (r"each group needs at least (?P<n>\d+)", "每组至少需要 {n} 人"),
    (r"no member of either group ordered in the window", "窗口内两组都没有人下单"),
    # a strategy run that selected nobody (core.audience.strategies.report)
    (r"nobody new: everyone who matched had matched at the previous run",
     "无新目标：符合条件的人上次运行时都已符合"),
    (r"nobody new: the limits removed everyone who matched", "无新目标：符合条件的人都被限制条件排除"),
    (r"nobody new: nobody matched the condition", "无新目标：没有人符合条件"),
)  # fmt: skip
_WHAT = {"event kind": "事件类型", "tag": "标签", "campaign": "活动", "segment": "分群",
         "layer": "分层", "RFM group": "RFM分组", "group": "客户群", "value": "值",
         "target": "目标", "control": "对照"}  # fmt: skip
# the words of "expected …" lists (core.query.parser.TERMINAL_WORDS and friends)
EXPECTED: dict[str, str] = {
    "a field": "字段", "a number": "数字", 'a quoted value ("…")': '带引号的值（"…"）',
    "a date (2024-06-01)": "日期（2024-06-01）", "an operator": "运算符", "a value": "值",
    "the end": "结尾", "an event kind": "事件类型", "a closing quote": "闭合引号",
    "a tag name": "标签名", "a campaign name": "活动名", "a duration (30d)": "时长（30d）",
    "a range (-59d..-30d)": "区间（-59d..-30d）", "a comparison": "比较运算符",
    'a quoted text value ("…")': '带引号的文本值（"…"）', "a relative date (-30d)": "相对日期（-30d）",
}  # fmt: skip
_COMPILED = [(re.compile(p + r"\Z", re.S), zh) for p, zh in MESSAGES]


def _words(text: str) -> str:
    """An "expected …" list: 'a field, a number or ")"' → '字段、数字 或 ")"'."""
    parts = re.split(r", | or ", text)
    shown = [EXPECTED.get(p, p) for p in parts]
    return shown[0] if len(shown) == 1 else "、".join(shown[:-1]) + " 或 " + shown[-1]


def core_message(text: str) -> str:
    """A message of core in Chinese, piece by piece; pieces no pattern knows stay English."""
    return "；".join(_piece(p) for p in text.split("; "))


def _piece(text: str) -> str:
    m = _WHERE.match(text)
    if m and (m["line"] or m["col"] or re.search(r"[./\\]", m["file"])):
        # a place (an import error's file, line and column; a path), then the message
        rest = core_message(m["rest"])
        if rest != m["rest"]:
            where = m["file"]
            if m["line"]:
                where += f"，第 {m['line']} 行"
            if m["col"]:
                where += f"，列 {m['col']}"
            return f"{where}：{rest}"
    for pattern, zh in _COMPILED:
        m = pattern.match(text)
        if m:
            groups = {k: v or "" for k, v in m.groupdict().items()}
            if "what" in groups:
                groups["what"] = _WHAT.get(groups["what"], groups["what"])
            if "e" in groups:
                groups["e"] = _words(groups["e"])
            return zh.format(**groups)
    for pattern, zh in _TEMPLATES:
        m = pattern.match(text)
        if m:
            values = {k: VALUE_WORDS.get(v, v) for k, v in m.groupdict().items()}
            if "x" in values:  # an "expected …" list
                values["x"] = _words(values["x"])
            return zh.format(**values)
    m = _AT_COLUMN.match(text)
    if m and _piece(m["x"]) != m["x"]:  # "<a check's message> (column 7)"
        return f"{_piece(m['x'])}（第 {m['c']} 列）"
    return text


# Core's other messages, as templates: the English exactly as core writes it with a ``{name}``
# for each value (copied into the Chinese untouched), one piece between "; " each.
# tests/tui/test_zh_core_messages.py finds every message in core's source and fails on one
# that no pattern or template turns into Chinese.
TEMPLATES: tuple[tuple[str, str], ...] = (
    # the predictive models (core.analytics.models, predict, validation)
    ("only {n} customer(s) with orders", "只有 {n} 位有订单的客户"),
    ("{m} needs at least {k} repeat buyers", "{m} 至少需要 {k} 位复购买家"),
    ("only {n} customer(s) bought again after their first purchase day",
     "只有 {n} 位客户在首次购买当天之后再次购买"),
    ("every customer has the same purchase history", "每位客户的购买历史都相同"),
    ("the data cannot tell the model's parameters apart", "数据无法区分模型的参数"),
    ("{m}: the fit gave non-finite parameters or likelihood", "{m}：拟合得到非有限的参数或似然"),
    ("{m}: parameter(s) {p} ran to the edge of the search range", "{m}：参数 {p} 到达了搜索范围的边界"),
    ("the data cannot identify the model (too little variety among customers)",
     "数据无法识别该模型（客户之间差异太小）"),
    ("{m}: parameter(s) {p} ran toward the edge of the search range, where the likelihood cannot "
     "be evaluated (stopped at {a})", "{m}：参数 {p} 朝搜索范围的边界移动，进入了无法计算似然的区域（停在 {a}）"),
    ("{m}: the likelihood could not be evaluated at any point the fit tried",
     "{m}：拟合尝试过的每个点都无法计算似然"),
    ("only {n} repeat buyer(s) with a positive spend", "只有 {n} 位消费金额为正的复购买家"),
    ("every repeat buyer has the same mean spend", "每位复购买家的平均消费都相同"),
    ("nothing to fit", "无可拟合"),
    ("Gamma-Gamma: q = {q} <= 1, so the fitted spend distribution has no finite mean (spend too "
     "heavy-tailed)", "Gamma-Gamma：q = {q} <= 1，拟合的消费分布没有有限均值（消费分布尾部过重）"),
    ("unknown model {m}", "未知模型 {m}"),
    ("choose one of {k}", "请从 {k} 中选择"),
    ("the holdout end {h} must come after the calibration end {c}", "验证期结束 {h} 必须晚于校准期结束 {c}"),
    # RFM thresholds (core.analytics.rfm)
    ("unknown RFM dimension {d}: use r, f or m", "未知的RFM维度 {d}：请用 r、f 或 m"),
    ("{s}: unknown method {m}: use mean, median, fixed:<value> or score:<1-5>",
     "{s}：未知方法 {m}：请用 mean、median、fixed:<值> 或 score:<1-5>"),
    ("{s}: method {m} needs a number, e.g. {e}:3", "{s}：方法 {m} 需要一个数字，如 {e}:3"),
    ("{s}: score cut must be a whole number 1-5, got {n}", "{s}：得分切点必须是 1–5 的整数，而不是 {n}"),
    ("{s}: expected DIM=METHOD, e.g. r=median or f=fixed:3",
     "{s}：应写成 维度=方法，如 r=median 或 f=fixed:3"),
    # campaigns (core.audience.campaigns, effect, global_control)
    ("Unknown export column(s): {c}. Known: {k}.", "未知的导出列：{c}。已有：{k}。"),
    ("{c} hold personal data: ask for them explicitly (--include-personal, also --include-contact",
     "{c} 含个人信息：需明确要求（--include-personal，或 --include-contact"),
    ("or --mask to write them masked).", "或用 --mask 脱敏写出）。"),
    ("Campaign {n}: nothing to undo.", "活动 {n}：没有可撤销的操作。"),
    ("Holdout {p}% is out of range: use 0 up to (not including) 100.",
     "留出比例 {p}% 超出范围：请用 0 到 100（不含 100）。"),
    ("Global control {p}% is out of range: use 0 up to (not including) 100.",
     "全局对照组 {p}% 超出范围：请用 0 到 100（不含 100）。"),
    ("--exclude-targeted-within must be at least 1 day.", "--exclude-targeted-within 至少为 1 天。"),
    ("No user ids given.", "没有给出用户ID。"),
    ("Unknown user id(s): {u}. Nothing was changed.", "未知的用户ID：{u}。未做任何修改。"),
    ("Cannot {a} {u} in campaign {c}: in the control group, which must stay untouched to measure "
     "the effect. Nothing was changed.",
     "无法在活动 {c} 中{a} {u}：该用户在对照组中，对照组必须保持不被触达才能评估效果。未做任何修改。"),
    ("Cannot mark {u} in campaign {c}: in the global control group, which no campaign or strategy "
     "targets. Nothing was changed.",
     "无法在活动 {c} 中标记 {u}：该用户在全局对照组中，任何活动和策略都不触达它。未做任何修改。"),
    ("A campaign needs a name.", "活动需要名称。"),
    ("Campaign {n}: the channel is empty (e.g. {e}).", "活动 {n}：渠道为空（如 {e}）。"),
    ("No campaign named {n}. Known: {k}.", "没有名为 {n} 的活动。已有：{k}。"),
    ("No campaign named {n}.", "没有名为 {n} 的活动。"),
    ("Unknown status {s}", "未知状态 {s}"),
    ("use one of {k}.", "请用 {k} 之一。"),
    ("only a draft campaign can be sent.", "只有草稿状态的活动才能发送。"),
    ("only a sent campaign can be closed.", "只有已发送的活动才能结束。"),
    ("only a {s} campaign can be {a}.", "只有{s}的活动才能{a}。"),  # other states, if any
    ("Campaign {n} is {s}: its lists are locked. Unlock it (with a reason) to change them.",
     "活动 {n} {s}：名单已锁定。解锁（需填写原因）后才能修改。"),
    ("A campaign named {n} already exists.", "名为 {n} 的活动已存在。"),
    ("Campaign {n} is already a draft (not locked).", "活动 {n} 已是草稿（未锁定）。"),
    ("Unlocking campaign {n} needs a reason (it is logged).", "解锁活动 {n} 需要填写原因（会记入日志）。"),
    ("Campaign {n} has no start date: give an as-of date to send.",
     "活动 {n} 没有开始日期：发送时请给出数据截至日。"),
    ("Campaign {n} has no targets to send to.", "活动 {n} 没有可发送的目标用户。"),
    ("The window must be at least 1 day (got {n}).", "窗口至少为 1 天（当前为 {n}）。"),
    ("Campaign {n} has no start date yet: send it (or create it with a start date).",
     "活动 {n} 尚无开始日期：请先发送（或创建时给出开始日期）。"),
    ("The database has no orders and no as-of date: nothing to measure.",
     "数据库中没有订单，也没有数据截至日：无可评估。"),
    # segments (core.audience.segments)
    ("A segment needs a name", "分群需要名称"),
    ('No segment named "{n}"', "没有名为“{n}”的分群"),
    ('A snapshot named "{n}" already exists', "名为“{n}”的快照已存在"),
    ("choose another name", "请换一个名称"),
    ("The count ran longer than the time limit of {n} s and was stopped (setting {s}, or "
     "--time-limit)", "计数超过 {n} 秒的时间限制，已停止（设置 {s}，或 --time-limit）"),
    # strategies (core.audience.strategies)
    ("A strategy needs a name.", "策略需要名称。"),
    ("Strategy name {n}: no / \\ or leading dot (it names files).",
     "策略名 {n}：不能含 / \\，也不能以点开头（它用于文件名）。"),
    ("Mode {m}: use one of {k}.", "模式 {m}：请用 {k} 之一。"),
    ("Status {s}: use one of {k}.", "状态 {s}：请用 {k} 之一。"),
    ("The cooldown is a number of days ≥ 0.", "冷却期是不小于 0 的天数。"),
    ("The maximum per run is at least 1 user.", "每次运行的上限至少为 1 人。"),
    ("Strategy {n}: the channel is empty (e.g. push, sms, coupon).",
     "策略 {n}：渠道为空（如 push、sms、coupon）。"),
    ("Strategy {n}: variants come two or more (or none).", "策略 {n}：方案要么两个或以上，要么没有。"),
    ("Strategy {n}: use variants or offers by group, not both.",
     "策略 {n}：方案与按分组的权益只能二选一。"),
    ("Offers by {b}: use layer or rfm.", "按 {b} 分配权益：请用 layer 或 rfm。"),
    ("Strategy {n}: offers by {b} need a table.", "策略 {n}：按 {b} 分配权益需要一张对照表。"),
    ("Strategy {n}: the offer is empty.", "策略 {n}：权益为空。"),
    ("Schedule {s}: unknown weekday {d}", "排期 {s}：未知的星期 {d}"),
    ("use daily, every:N or weekdays among {k} (e.g. mon,thu).",
     "请用 daily、every:N 或 {k} 中的星期（如 mon,thu）。"),
    ("Variant {v}: write CHANNEL:OFFER, e.g. push:20 元券.", "方案 {v}：请写 渠道:权益，如 push:20 元券。"),
    ("Schedule {s}: every:N needs a whole number of days ≥ 1 (e.g. every:3).",
     "排期 {s}：every:N 需要不小于 1 的整数天数（如 every:3）。"),
    ("the strategy has not run yet", "该策略尚未运行"),
    ("The database has no as-of date: nothing to measure.", "数据库没有数据截至日：无可评估。"),
    ("The features are not computed yet: run `userops refresh DB` first (strategies run on the "
     "database's as-of date).", "特征尚未计算：请先运行 `userops refresh DB`（策略在数据库的数据截至日运行）。"),
    ("A campaign named {n} already exists: rename it to run {s}.",
     "名为 {n} 的活动已存在：请改名后再运行 {s}。"),
    ("The frequency cap is K times in N days, both at least 1 (e.g. 2/7).",
     "频次上限是 N 天内 K 次，两者都至少为 1（如 2/7）。"),
    ("Cannot create the target-file folder {p}: {e}.", "无法创建目标文件夹 {p}：{e}。"),
    ("Another run or another write holds the database: no strategy ran. Try again when it has "
     "finished (a second run of the same date adds nobody).",
     "另一次运行或写入占用着数据库：没有策略运行。请在其结束后重试（同一日期再次运行不会重复添加）。"),
    ("already ran on {d}: nobody is added", "已于 {d} 运行：不再添加任何人"),
    ("last ran on {d}, after {a}: a strategy does not run in the past",
     "上次运行于 {d}，晚于 {a}：策略不会在过去的日期运行"),
    ("not due on {d} (schedule {s})", "{d} 不到运行日（排期 {s}）"),
    ("No strategy named {n}. Known: {k}.", "没有名为 {n} 的策略。已有：{k}。"),
    ("No strategy named {n}. There are no strategies yet.", "没有名为 {n} 的策略。目前还没有策略。"),
    ("No strategy named {n}.", "没有名为 {n} 的策略。"),
    ("The target-file folder is empty.", "目标文件夹为空。"),
    ("{p} is a file, not a folder: target files need a folder.", "{p} 是文件而不是文件夹：目标文件需要一个文件夹。"),
    ("The effect window must be at least 1 day (got {n}).", "效果评估窗口至少为 1 天（当前为 {n}）。"),
    ("The database has no as-of date yet: import data and refresh first.",
     "数据库尚无数据截至日：请先导入数据并刷新。"),
    ("Offers by {b}: unknown group {g}", "按 {b} 分配权益：未知分组 {g}"),
    ("known: {k}.", "已有：{k}。"),
    ("no holdout (0 %): without a control group the effect cannot be measured",
     "没有留出（0%）：没有对照组就无法评估效果"),
    ("the holdout is too small to measure: {n} control users over all runs, at least {k} are "
     "needed", "留出太小，无法评估：所有运行合计对照组 {n} 人，至少需要 {k} 人"),
    ("the holdout is too small to measure: only an uplift of {u} points or more (the control "
     "converts at {b} %: a tripling) could be detected",
     "留出太小，无法评估：只能检测到 {u} 个百分点或更大的提升（对照组转化率 {b}%：相当于翻三倍）"),
    ("raise the holdout", "请提高留出比例"),
    # the demo and the import (core.ingest)
    ("--users must be at least 1, got {n}", "--users 至少为 1，而不是 {n}"),
    ("the database already holds {n} users", "数据库中已有 {n} 位用户"),
    ("build the demo in a new file", "请在新文件中生成演示数据"),
    ("--returns must be one of {k}, not {v}", "--returns 必须是 {k} 之一，而不是 {v}"),
    ("user_id is empty", "user_id 为空"),
    ("kind is empty", "kind 为空"),
    ("order_id is empty", "order_id 为空"),
    ("not a usable attribute name (no control characters, backquotes or commas, no spaces at "
     "either end, not rowid or sqlite_…)",
     "不是可用的属性名（不能含控制字符、反引号或逗号，两端不能有空格，不能是 rowid 或 sqlite_…）"),
    ("rename it with --map", "请用 --map 改名"),
    ("rename it with --map {a}={b}", "请用 --map {a}={b} 改名"),
    ("clashes with the existing attribute {a} (names ignore case)", "与已有属性 {a} 冲突（名称不区分大小写）"),
    ("not a well-formed CSV file ({e})", "不是格式正确的CSV文件（{e}）"),
    ("not UTF-8 text", "不是UTF-8文本"),
    ("not UTF-8 text (byte {b})", "不是UTF-8文本（字节 {b}）"),
    ("save the file as UTF-8", "请把文件另存为UTF-8"),
    ("save the file as UTF-8 (a BOM is fine)", "请把文件另存为UTF-8（带BOM也可以）"),
    ("the file has a header but no rows", "文件只有表头，没有数据行"),
    ("a quoted field is not closed: it runs to the end of the file", "有一个引号字段没有闭合：一直延续到文件末尾"),
    ("{v} is not a date (expected 2024-06-01, 2024-06-01 08:26:00, 2024-06-01T08:26:00 or with an "
     "offset, 2024-06-01T08:26:00+08:00)",
     "{v} 不是日期（应为 2024-06-01、2024-06-01 08:26:00、2024-06-01T08:26:00 或带时差的 "
     "2024-06-01T08:26:00+08:00）"),
    ("{v} has a UTC offset, and no time zone to convert it to was given",
     "{v} 带UTC时差，但没有给出要换算到的时区"),
    ("{v} is not a number", "{v} 不是数字"),
    ("{v} is beyond ±{m}, the largest amount accepted (--max-amount)",
     "{v} 超出 ±{m}，即可接受的最大金额（--max-amount）"),
    ("{w} {k} appears twice with different {c}: {a} on line {l}, {b} here",
     "{w} {k} 出现两次且 {c} 不同：第 {l} 行为 {a}，此处为 {b}"),
    ("unknown file type: expected .csv, .csv.gz or .parquet", "未知的文件类型：应为 .csv、.csv.gz 或 .parquet"),
    ("no such file", "文件不存在"),
    ("two columns are named {n} in the header", "表头中有两列都叫 {n}"),
    ("rename one", "请改名其中一列"),
    ("two columns would be named {n}", "会有两列都叫 {n}"),
    ("check --map", "请检查 --map"),
    ("not a readable Parquet file ({e})", "不是可读取的Parquet文件（{e}）"),
    ("timestamps with a time zone ({z}), and no time zone to convert them to was given",
     "时间带时区（{z}），但没有给出要换算到的时区"),
    ("required column is missing", "缺少必需的列"),
    ("required column is missing (did you mean {g}?)", "缺少必需的列（是否想输入 {g}？）"),
    ("required column is missing Known: {k}.", "缺少必需的列。已有：{k}。"),
    ("columns found: {c}", "找到的列：{c}"),
    ("{v} is after {d}, the latest date accepted (one year after today unless set with "
     "--latest-date)", "{v} 晚于 {d}，即可接受的最晚日期（默认今天起一年，可用 --latest-date 设置）"),
    ("a date this far ahead is usually a placeholder: pass --allow-future-dates if it is meant",
     "这么远的未来日期通常是占位值：若确实如此，请加 --allow-future-dates"),
    ("the file is empty (no header line)", "文件为空（没有表头行）"),
    ("cannot read the file ({e})", "无法读取文件（{e}）"),
    ("{n} fields, but the header has {k}", "有 {n} 个字段，但表头有 {k} 个"),
    ("{n} fields, but the header has {k} Known: {x}.", "有 {n} 个字段，但表头有 {k} 个。已有：{x}。"),
    # the recompute and the refresh (core.pipeline, core.refresh)
    ("No as-of date: the database has none stored (import data first) and none was given.",
     "没有数据截至日：数据库中没有保存（请先导入数据），也没有给出。"),
    ("Recompute refused, previous features kept: the data or the rules changed while it ran (an "
     "import or a rule edit, twice)", "重新计算被拒绝，保留原有特征：运行期间数据或规则发生了变化（导入或规则编辑，两次）"),
    ("run it again when they are done.", "请在其完成后再运行。"),
    ("Recompute failed, previous features kept: {e}", "重新计算失败，保留原有特征：{e}"),
    ("No data to refresh: import orders or events first.", "没有可刷新的数据：请先导入订单或事件。"),
    ("Refresh failed, previous features kept: {e}", "刷新失败，保留原有特征：{e}"),
    # the condition language: calculations, behaviour, windows, sizes (core.query)
    ("{v} works on text, not on a calculation (column {c})", "{v} 只能用于文本，不能用于计算（第 {c} 列）"),
    ("{f}(…) is {w}: calculations take count, orders, spent and number fields (column {c})",
     "{f}(…) 是{w}：计算只能用 count、orders、spent 和数值字段（第 {c} 列）"),
    ("Only numbers take part in a calculation: {v} at column {c}", "只有数字能参与计算：第 {c} 列的 {v}"),
    ("{v} is not a number: only number fields take part in a calculation (column {c})",
     "{v} 不是数字：只有数值字段能参与计算（第 {c} 列）"),
    ("Unknown behaviour {b} at column {c}", "未知行为 {b}（第 {c} 列）"),
    ("{f}(…) takes no filter (column {c})", "{f}(…) 不接受筛选（第 {c} 列）"),
    ("{f}(…) is a number: compare it with = != < <= > >= in between (column {c})",
     "{f}(…) 是数字：请用 = != < <= > >= in between 比较（第 {c} 列）"),
    ("Unknown property {p} of {k} at column {c}", "{k} 没有属性 {p}（第 {c} 列）"),
    ("did you mean {g}? (events have value, orders have amount)",
     "是否想输入 {g}？（事件有 value，订单有 amount）"),
    ("value is text: filter it with = != in, not {o} (column {c})",
     "value 是文本：请用 = != in 筛选，而不是 {o}（第 {c} 列）"),
    ("last(…) takes one event kind, e.g. last(login)", "last(…) 只接受一个事件类型，如 last(login)"),
    ("first(…) takes one event kind, e.g. first(login)", "first(…) 只接受一个事件类型，如 first(login)"),
    ("{f}(…) needs an event kind first, e.g. {e}", "{f}(…) 需要先写事件类型，如 {e}"),
    ("{f}(…): expected a window like 30d or -59d..-30d at column {c}",
     "{f}(…)：第 {c} 列应为 30d 或 -59d..-30d 这样的时间窗"),
    ("Expected a number at column {c}, not {v}", "第 {c} 列应为数字，而不是 {v}"),
    ('A tag name is quoted: tag "夜猫子" (column {c})', '标签名要加引号：tag "夜猫子"（第 {c} 列）'),
    ("{a} is compared with {b} at column {c}, not {v}", "{a} 要与{b}比较（第 {c} 列），而不是 {v}"),
    ("{f} is {w} field: expected {x} at column {c}, not {v}",
     "{f} 是{w}字段：第 {c} 列应为{x}，而不是 {v}"),
    ("{f} is a date: expected {x} at column {c}, not {v}", "{f} 是日期：第 {c} 列应为{x}，而不是 {v}"),
    ("{o} works on text", "{o} 只能用于文本"),
    ("{f} is {w} field", "{f} 是{w}字段"),
    ("{f} is {w} field (column {c})", "{f} 是{w}字段（第 {c} 列）"),
    ("{f} is text: compare it with = != in contains startswith, not {o}",
     "{f} 是文本：请用 = != in contains startswith 比较，而不是 {o}"),
    ("{f} is text: compare it with = != in contains startswith, not {o} (column {c})",
     "{f} 是文本：请用 = != in contains startswith 比较，而不是 {o}（第 {c} 列）"),
    ('Segment "{n}" refers to itself ({p})', "分群“{n}”引用了自身（{p}）"),
    ("The condition is too complex for SQLite ({e}): fewer nested parentheses or terms, or split "
     "it into saved segments", "条件对SQLite来说太复杂（{e}）：请减少嵌套括号或条件项，或拆成已保存的分群"),
    ("{v} reaches before year 1", "{v} 早于公元1年"),
    ("The range {r} at column {c} ends before it starts", "第 {c} 列的区间 {r} 结束早于开始"),
    ("The condition holds bytes that are not valid UTF-8 at column {c}", "条件在第 {c} 列含有无效的UTF-8字节"),
    ("The condition is longer than {n} characters (column {c}): save a snapshot or a tag for long "
     "lists", "条件超过 {n} 个字符（第 {c} 列）：长名单请保存为快照或标签"),
    ("The number at column {c} has more than {n} digits", "第 {c} 列的数字超过 {n} 位"),
    ("The condition nests more than {n} levels deep at column {c}", "条件在第 {c} 列嵌套超过 {n} 层"),
    ("A list holds more than {n} values (column {c}): save a snapshot or a tag for long lists",
     "列表超过 {n} 个值（第 {c} 列）：长名单请保存为快照或标签"),
    ("{v} at column {c} reaches more than 100 years back", "第 {c} 列的 {v} 回溯超过100年"),
    ("{f}(…) takes one filter, last (column {c})", "{f}(…) 只接受一个筛选，且放在最后（第 {c} 列）"),
    ("The condition has more than {n} terms (column {c}): save a snapshot or a tag for long lists",
     "条件超过 {n} 项（第 {c} 列）：长名单请保存为快照或标签"),
    ("A name is quoted", "名称要加引号"),
    # layers and tags (core.rules)
    ("`{f}` cannot be used here: {w}", "`{f}` 不能用在这里：{w}"),
    ("tags cannot be used here: {w}", "这里不能用标签：{w}"),
    ("layers are computed before tags, from the other features", "分层在标签之前、由其他特征计算"),
    ("no layer {k} (layers: {n})", "没有分层 {k}（分层：{n}）"),
    ("layer {k}: lifecycle rank {r}: use 1, 2, … for the climb (1 = the first stage), -1, -2, … "
     "for the states users slide down into, or none",
     "分层 {k}：生命周期序号 {r}：上升阶段用 1、2、…（1 = 第一阶段），下滑状态用 -1、-2、…，或留空"),
    ("layer key {k}: use lowercase letters, digits and _ (not 'unclassified')",
     "分层键 {k}：请用小写字母、数字和 _（不能是 'unclassified'）"),
    ("layer {k}: both names (--zh and --en) are needed", "分层 {k}：中英文名称（--zh 和 --en）都需要"),
    ("at most {n} layers (the report keeps one bit per rule)", "最多 {n} 个分层（报告为每条规则保留一位）"),
    ("position {n}: positions start at 1", "位置 {n}：位置从 1 开始"),
    ("layer key {k} is used twice", "分层键 {k} 用了两次"),
    ("layer {k}: both names are needed", "分层 {k}：中英文名称都需要"),
    ("layer {k}: {e} — fix it with `userops layer set`", "分层 {k}：{e} — 请用 `userops layer set` 修正"),
    ("no tag {n} (see `userops tags DB`)", "没有标签 {n}（见 `userops tags DB`）"),
    ("tag name {n}: 1-{k} characters, no quotes or line breaks", "标签名 {n}：1–{k} 个字符，不能含引号或换行"),
    ("tag {n}: dimension {d} is not one of {k}", "标签 {n}：维度 {d} 不是 {k} 之一"),
    ("a tag named {n} exists already", "名为 {n} 的标签已存在"),
    ("{c} is not a model output ({k})", "{c} 不是模型输出（{k}）"),
    ("bins must be at least 1, got {n}", "分箱数至少为 1，而不是 {n}"),
    ("tag {n}: {e} — fix it with `userops tag set` or delete it",
     "标签 {n}：{e} — 请用 `userops tag set` 修正或删除它"),
    ("paused: resume it to run", "已暂停：恢复后才会运行"),
    # generic shapes last: the specific messages above match first
    ("Campaign {n} is {s}", "活动 {n} 为{s}"),
    ("{m} needs at least {k}", "{m} 至少需要 {k}"),
    # the database (core.store)
    ("The features are computed as of {a}, not {b}: run `userops refresh DB --as-of {c}` first (or "
     "drop --as-of).", "特征按 {a} 计算，而不是 {b}：请先运行 `userops refresh DB --as-of {c}`（或去掉 --as-of）。"),
    ("{p}: no such file", "{p}：文件不存在"),
    ("{p}: is a directory, not a database file", "{p}：是文件夹，不是数据库文件"),
    ("{p}: a SQLite file, but not a userops database (no schema)", "{p}：是SQLite文件，但不是 userops 数据库（没有表结构）"),
    ("Database error in the second reader: {e}", "第二个读取连接出错：{e}"),
    ("{p}: cannot create the schema ({e})", "{p}：无法创建表结构（{e}）"),
    ("The second reader stopped without an answer.", "第二个读取连接没有应答就停止了。"),
    ("{p}: made by an older userops (schema {v})", "{p}：由旧版 userops 生成（表结构版本 {v}）"),
    ("upgrading it to schema {v} needs write access ({e})", "升级到表结构版本 {v} 需要写权限（{e}）"),
    ("upgrading it to schema {v} failed, nothing changed ({e})",
     "升级到表结构版本 {v} 失败，未做任何改动（{e}）"),
    ("{p}: exists already", "{p}：已存在"),
    ("pass --force to replace it", "加 --force 可覆盖"),
    ("{p}: is the database itself", "{p}：就是数据库本身"),
    ("cannot write {p}: {e}", "无法写入 {p}：{e}"),
    ("nothing was written there", "那里没有写入任何内容"),
    ("{p}: the copy is not sound ({v}): run userops check", "{p}：副本不完好（{v}）：请运行 userops check"),
    ("--personal {c}: no such user column. Known: {k}.", "--personal {c}：没有这个用户列。已有：{k}。"),
    ("This database has schema version {v}", "该数据库的表结构版本为 {v}"),
    ("this userops understands up to {v}. Upgrade userops.", "当前 userops 最高只支持 {v}。请升级 userops。"),
    ("meta.schema_version is {v}, not a number: the database was edited by hand or is damaged",
     "meta.schema_version 为 {v}，不是数字：数据库被手工修改过或已损坏"),
    ("{d} failed: {e}", "{d}失败：{e}"),
    ("{p}: locked by another process (it is writing, or holds the database exclusively)",
     "{p}：被另一个进程锁定（它正在写入，或独占着数据库）"),
    ("try again when it is done ({e})", "请在其完成后重试（{e}）"),
    ("{p}: read-only (the file or its folder cannot be written) ({e})", "{p}：只读（文件或其所在文件夹不可写）（{e}）"),
    ("{p}: not a SQLite database ({e})", "{p}：不是SQLite数据库（{e}）"),
    ("{p}: the database is damaged ({e})", "{p}：数据库已损坏（{e}）"),
    ("`userops check` says where", "`userops check` 会指出位置"),
    ("{p}: disk error, e.g. a full disk or a file-size limit ({e})", "{p}：磁盘错误，如磁盘已满或文件大小受限（{e}）"),
    ("{p}: database error ({e})", "{p}：数据库错误（{e}）"),
    ("The database is locked by another program", "数据库被另一个程序锁定"),
    ("try again in a moment.", "请稍后重试。"),
    ("The database is read-only: cannot save changes.", "数据库只读：无法保存修改。"),
    ("Database error: {e}", "数据库错误：{e}"),
    ("no user with id {u}", "没有ID为 {u} 的用户"),
    ("cannot sort by {c}", "无法按 {c} 排序"),
    ("sortable columns: {k}", "可排序的列：{k}"),
    ("its limit with one dropout rate for everyone (s, β -> ∞) cannot be fitted either: {e}",
     "其极限（所有人同一流失率，s、β -> ∞）也无法拟合：{e}"),
    # engines and copies (core.store.engines, duck, copy)
    ("{p}: ClickHouse is not supported yet", "{p}：暂不支持 ClickHouse"),
    ("SQLite and DuckDB are (docs/engines.md): copy the database to DuckDB with "
     "`userops copy DB duckdb:///FILE`",
     "支持 SQLite 和 DuckDB（见 docs/engines.md）：用 `userops copy DB duckdb:///FILE` 把数据库复制到 DuckDB"),
    ("{p}: a ClickHouse URL reads clickhouse://user@host:port/database",
     "{p}：ClickHouse 的地址写作 `clickhouse://user@host:port/database`"),
    ("{p}: a {e} URL takes three slashes and a relative path ({a}) or four and an absolute one "
     "({b})", "{p}：{e} 地址用三个斜杠接相对路径（`{a}`），或四个斜杠接绝对路径（`{b}`）"),
    ("{p}: unknown engine {e}: use a path or sqlite:///FILE (SQLite), duckdb:///FILE (DuckDB), "
     "chdb:///DIR (chDB), clickhouse://user@host:port/db (ClickHouse)",
     "{p}：未知的引擎 {e}：请用路径或 `sqlite:///FILE`（SQLite）、`duckdb:///FILE`（DuckDB）、"
     "`chdb:///DIR`（chDB）、`clickhouse://user@host:port/db`（ClickHouse）"),
    ("{p}: locked by another process (DuckDB lets one process write a file, or several read it)",
     "{p}：被另一个进程锁定（DuckDB 允许一个进程写入文件，或多个进程读取）"),
    # the app on a DuckDB file another program has open (tui.widgets.query_runner)
    ("{p}: opened read-only, the app cannot save changes to it: another program has it open "
     "(DuckDB lets one process write a file, or several read it)",
     "{p}：以只读方式打开，应用无法保存修改：另一个程序打开着它（DuckDB 允许一个进程写入文件，或多个进程读取）"),
    ("close that program, then open the app again ({e})", "请关闭那个程序，再重新打开应用（{e}）"),
    ("{p}: opened read-only, the app cannot save changes to it ({e})",
     "{p}：以只读方式打开，应用无法保存修改（{e}）"),
    ("{p}: not a DuckDB database ({e})", "{p}：不是 DuckDB 数据库（{e}）"),
    ("{p}: a DuckDB file, not a SQLite file: name it {u}",
     "{p}：是 DuckDB 文件，不是 SQLite 文件：请写作 `{u}`"),
    ("{p}: a DuckDB file, but not a userops database (no schema)",
     "{p}：是 DuckDB 文件，但不是 userops 数据库（没有表结构）"),
    ("{p}: a DuckDB database of schema {v}", "{p}：表结构版本为 {v} 的 DuckDB 数据库"),
    ("this userops reads schema {v} and does not migrate DuckDB databases yet: copy the SQLite "
     "database to it again (`userops copy SRC DST --force`)",
     "本版 userops 读取表结构版本 {v}，暂不升级 DuckDB 数据库：请把 SQLite 数据库重新复制过去"
     "（`userops copy SRC DST --force`）"),
    # ClickHouse and chDB (core.store.clickhouse, copy)
    ("{p}: no such directory", "{p}：文件夹不存在"),
    ("{p}: is a file", "{p}：是文件"),
    ("a chDB database is a directory", "chDB 数据库是一个文件夹"),
    ("{p}: not a chDB directory (it has no metadata folder)",
     "{p}：不是 chDB 文件夹（里面没有 `metadata` 文件夹）"),
    ("{p}: a {e} database, but not a userops database (no schema)",
     "{p}：是 {e} 数据库，但不是 userops 数据库（没有表结构）"),
    ("{p}: a ClickHouse database of schema {v}", "{p}：表结构版本为 {v} 的 ClickHouse 数据库"),
    ("this userops reads schema {v} and does not migrate ClickHouse databases yet: copy the "
     "SQLite database to it again (`userops copy SRC DST --force`)",
     "本版 userops 读取表结构版本 {v}，暂不升级 ClickHouse 数据库：请把 SQLite 数据库重新复制过去"
     "（`userops copy SRC DST --force`）"),
    ("{p}: held by another process (chDB lets one process open a directory)",
     "{p}：被另一个进程占用（chDB 一个文件夹只允许一个进程打开）"),
    ("{p}: cannot connect ({e})", "{p}：无法连接（{e}）"),
    ("try again when it is done", "请在其完成后重试"),
    ("{p}: chDB is not installed: {e}", "{p}：未安装 chDB：{e}"),
    ("{p}: clickhouse-connect is not installed: {e}", "{p}：未安装 `clickhouse-connect`：{e}"),
    ("{p}: chDB opens one directory per process", "{p}：chDB 每个进程只能打开一个文件夹"),
    ("copy chDB to chDB through a DuckDB or SQLite file",
     "chDB 之间的复制请经由一个 DuckDB 或 SQLite 文件"),
    ("{p}: copying to a ClickHouse server is not supported yet",
     "{p}：暂不支持复制到 ClickHouse 服务器"),
    ("copy to a chDB directory (chdb:///DIR) or read from the server (docs/engines.md)",
     "请复制到 chDB 文件夹（`chdb:///DIR`），或从服务器读取（见 docs/engines.md）"),
    ("column {c} cannot be empty there but holds NULL", "列 {c} 在那里不能为空，却有空值（`NULL`）"),
    ("{p}: exists", "{p}：已存在"),
    ("pass --force to replace it", "加 --force 可替换它"),
    ("{p}: the destination is the source", "{p}：目标就是源数据库"),
    ("{p}: no such folder {f}", "{p}：没有文件夹 {f}"),
    ("{p}: cannot write it ({e})", "{p}：无法写入（{e}）"),
    ("{p}: cannot copy table {t} ({e})", "{p}：无法复制表 {t}（{e}）"),
    ("{p}: cannot copy it ({e})", "{p}：无法复制（{e}）"),
    ("{p}: permission denied (the file or its folder) ({e})", "{p}：没有权限（文件或其所在文件夹）（{e}）"),
    ("column {c} is {t} but holds {v} ({e})", "列 {c} 的类型是 {t}，却有值 {v}（{e}）"),
    ("{p}: schema {v}", "{p}：表结构版本 {v}"),
    ("copy reads schema {v}: open it once with this userops (e.g. `userops check`) to upgrade it",
     "复制读取表结构版本 {v}：请先用本版 userops 打开一次（如 `userops check`）以升级"),
    # the import's final copy (core.ingest.importer) and the language on another engine
    ("Import refused, nothing imported: the database was upgraded (schema {a} to {b}) by another "
     "userops while this import was being prepared", "导入被拒绝，未导入任何内容：准备导入期间，"
     "另一个 userops 升级了数据库（表结构 {a} → {b}）"),
    ("run it again with that version.", "请用那个版本重新运行。"),
    # the large first import's swap (core.ingest.importer)
    ("Import refused, nothing imported: the {t} table changed while this import was being "
     "prepared", "导入被拒绝，未导入任何内容：准备导入期间 {t} 表的结构变了"),
    ("run it again.", "请重新运行。"),
    ("Import refused, nothing imported: the indexes of {t} could not be renamed.",
     "导入被拒绝，未导入任何内容：无法重命名 {t} 的索引。"),
    ("The condition is too complex for {d} ({e}): fewer nested parentheses or terms, or split it "
     "into saved segments", "条件对 {d} 来说过于复杂（{e}）：请减少嵌套括号或条件项，或拆成已保存的分群"),
)  # fmt: skip
# the words core puts into its messages as values: field types, campaign states and actions
VALUE_WORDS: dict[str, str] = {
    "a number": "数字", "a text": "文本", "a date": "日期", "number": "数字", "text": "文本",
    "date": "日期", "draft": "草稿", "sent": "已发送", "closed": "已结束", "send": "发送",
    "close": "结束", "mark": "标记", "unmark": "取消标记",
}  # fmt: skip


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    out = [re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts)]
    return re.compile("".join(out) + r"\Z", re.S)


_TEMPLATES = [(_template_regex(en), zh) for en, zh in TEMPLATES]
# an import error's place: "orders.csv, line 3, column 'amount': …"; a path: "demo.db: …"
_WHERE = re.compile(
    r"(?P<file>[^\s,:][^,:]*?)(?:, line (?P<line>\d+))?(?:, column (?P<col>'[^']*'))?: (?P<rest>.+)\Z",
    re.S,
)
_AT_COLUMN = re.compile(r"(?P<x>.+) \(column (?P<c>\d+)\)\Z", re.S)
