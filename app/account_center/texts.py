"""Fan-facing Chinese text of the account center (replies and H5 pages)."""

from __future__ import annotations

UPDATED_AT = "数据更新于 {time}"
ACCOUNT_LINE = "当前账户：{account}"
MORE_ACCOUNTS = "（共绑定{count}个账户，可在“绑定账户”中切换默认账户）"

TITLES = {
    "personal_info": "个人信息",
    "assets": "资产总览",
    "liabilities": "融资融券负债",
    "positions": "我的持仓",
    "pnl": "持仓盈亏",
    "orders": "当日委托",
    "fund_flows": "当日资金流水",
    "ipo": "新股申购",
}

PERSONAL_INFO = (
    "姓名：{name}\n手机：{phone}\n证件号：{id_no}\n风险等级：{risk}（{risk_name}），"
    "有效期至{risk_expires}\n开户营业部：{branch}\n开户日期：{opened}"
)
RISK_NAMES = {"C1": "保守型", "C2": "谨慎型", "C3": "稳健型", "C4": "积极型", "C5": "激进型"}
RISK_EXPIRED = "\n⚠ 风险测评已过期，请在App中重新测评。"
PROFESSIONAL = "\n投资者类别：专业投资者"

ASSETS = (
    "总资产：{total}\n持仓市值：{market_value}\n资金余额：{cash}\n可用资金：{available}\n"
    "可取资金：{withdrawable}\n冻结资金：{frozen}"
)
LIABILITIES_CASH = "当前为普通账户，没有融资融券负债。"
LIABILITIES = (
    "总负债：{total}\n融资负债：{financing}\n融券负债：{lending}\n应付利息：{interest}\n"
    "授信额度：{limit}\n可用额度：{available}\n维持担保比例：{ratio}"
)
RATIO_NONE = "无负债"
RATIO_WARNING = "\n⚠ 维持担保比例低于{line}，请关注追保风险。"

PNL = (
    "持仓市值：{market_value}\n持仓成本：{cost}\n持仓盈亏：{pnl}（{ratio}）\n当日盈亏：{today}\n"
    "持仓数量：{count}只"
)
PNL_EMPTY = "当前没有持仓，暂无持仓盈亏。"

POSITIONS_TITLE = "我的持仓（{count}只） 市值{market_value}"
POSITION_ROW = "{name} {code} {pnl}（{ratio}）"
POSITIONS_EMPTY = "当前账户没有持仓。"

ORDERS_TITLE = "当日委托（{count}笔）"
ORDER_ROW = "{time} {side}{name} {quantity}股 @{price} {status}"
ORDERS_EMPTY = "今日暂无委托。"

FUND_FLOWS_TITLE = "当日资金流水（{count}笔）"
FUND_FLOW_ROW = "{time} {description} {amount}"
FUND_FLOWS_EMPTY = "今日暂无资金变动。"

IPO_TITLE = "新股申购（{count}条）"
IPO_TITLE_WON = "🎉 新股中签，请按时缴款"
IPO_ROW = "{name} {code} {status}"
IPO_WON_ROW = "{name} 中签{won}股，应缴{amount}，请于{due}前确保可用资金充足"
IPO_EMPTY = "近期没有新股申购记录。"
TAP_FOR_DETAIL = "点击查看明细"

SIDES = {"buy": "买入", "sell": "卖出"}
ORDER_STATUSES = {
    "pending": "未报",
    "reported": "已报",
    "partially_filled": "部成",
    "filled": "已成",
    "partially_cancelled": "部撤",
    "cancelled": "已撤",
    "rejected": "废单",
}
IPO_STATUSES = {
    "applied": "待公布",
    "won": "已中签",
    "lost": "未中签",
    "paid": "已缴款",
    "forfeited": "放弃认购",
}
FLOW_KINDS = {
    "deposit": "银证转入",
    "withdrawal": "银证转出",
    "buy": "证券买入",
    "sell": "证券卖出",
    "fee": "费用",
    "dividend": "红利",
    "interest": "利息",
    "ipo_payment": "新股缴款",
    "other": "其他",
}

# Answered at the webhook's time budget when the counter is slow; the result follows as a
# customer-service message.
QUERYING = "正在查询，请稍候…结果将稍后发送给您。"

# Failures: polite, never an error page.
MAINTENANCE = "证券柜台系统正在例行维护（每日约23:30至次日00:30），暂时无法查询，请稍后再试。"
MAINTENANCE_UNTIL = "证券柜台系统正在例行维护，预计{until}恢复，届时再来查询吧。"
UNAVAILABLE = "证券柜台系统繁忙，暂时无法查询，请稍后再试。给您带来不便，敬请谅解。"
ACCOUNT_GONE = "该账户暂时无法查询（可能已销户或变更），请在“绑定账户”中解绑后重新绑定。"
NOT_BOUND_PAGE = "您尚未绑定证券账户，绑定后即可查询。"
BIND_LINK = "去绑定账户"
NOT_FOUND_PAGE = "未找到该账户，请从公众号菜单重新进入。"
SESSION_EXPIRED = "登录已过期，请从公众号菜单重新进入。"

# H5 table headers.
COLUMNS = {
    "positions": ["证券", "持仓/可用", "成本/现价", "市值", "盈亏"],
    "orders": ["时间", "证券", "方向", "委托价/量", "成交", "状态"],
    "fund_flows": ["时间", "摘要", "发生金额", "余额"],
    "ipo": ["证券", "申购日", "发行价", "申购数量", "状态", "中签/缴款"],
}
SWITCH_ACCOUNT = "切换账户"
