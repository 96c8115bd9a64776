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
    # the effect report's methods (core.audience.effect)
    "Newcombe hybrid score interval (Wilson), difference of two proportions": (
        "Newcombe 混合得分区间（Wilson），两个比例之差"
    ),
    "Welch's t interval, difference of two means (unequal variances)": (
        "Welch t 区间，两个均值之差（方差不等）"
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
    for pattern, zh in _COMPILED:
        m = pattern.match(text)
        if m:
            groups = {k: v or "" for k, v in m.groupdict().items()}
            if "what" in groups:
                groups["what"] = _WHAT.get(groups["what"], groups["what"])
            if "e" in groups:
                groups["e"] = _words(groups["e"])
            return zh.format(**groups)
    return text
