"""Fan-facing Chinese text of alerts: template titles, field wording, command replies."""

from __future__ import annotations

from typing import Final

SIDE: Final = {"buy": "买入", "sell": "卖出"}
ORDER_STATUS: Final = {
    "accepted": "已报",
    "partially_filled": "部分成交",
    "filled": "全部成交",
    "cancelled": "已撤单",
    "rejected": "废单",
}
TRANSFER_DIRECTION: Final = {"in": "银行转证券", "out": "证券转银行"}
TRANSFER_STATUS: Final = {"success": "成功", "processing": "处理中", "failed": "失败"}
FINANCIAL_EVENT: Final = {
    "subscribed": "认购成功",
    "confirmed": "份额确认",
    "redeemed": "赎回到账",
    "matured": "产品到期",
    "income_paid": "收益发放",
}
DIRECTION: Final = {"up": "上涨突破", "down": "下跌跌破"}
CATEGORY_NAMES: Final = {
    "trade": "交易提醒",
    "ipo": "新股提醒",
    "watchlist": "自选股提醒",
    "financial": "理财提醒",
    "marketing": "活动资讯",
}

TEMPLATE_TITLES: Final = {
    "trade_fill": "委托成交通知",
    "order_status": "委托状态通知",
    "fund_transfer": "银证转账通知",
    "ipo_subscription_open": "新股申购提醒",
    "ipo_lottery_result": "新股中签结果通知",
    "ipo_payment_due": "新股缴款提醒",
    "ipo_listing": "新股上市提醒",
    "dividend": "分红派息通知",
    "watchlist_price": "自选股价格提醒",
    "watchlist_percent": "自选股涨跌幅提醒",
    "financial_product": "理财产品通知",
    "security_login": "账户安全提醒",
    "margin_call": "融资融券追保通知",
    "announcement": "服务公告",
    "broadcast": "服务通知",
}

LOTTERY_WON: Final = "中签{quantity}股"
LOTTERY_LOST: Final = "未中签"
LISTING_NOTE: Final = "发行价{price}元"
DIVIDEND_PLAN: Final = "每10股派{cash}元"
LOGIN_NOTE: Final = "若非本人操作请立即修改密码"
MARGIN_NOTE: Final = "请及时追加担保物或偿还负债"
PAYMENT_NOTE: Final = "请确保资金账户余额充足"
NO_PAYMENT: Final = "无需缴款"
NO_AMOUNT: Final = "以实际到账为准"
UNKNOWN_LOCATION: Final = "未知地点"

# Template messages are service notices only (WeChat rule); these words mark advertising.
ADVERTISING_WORDS: Final = (
    "优惠",
    "限时",
    "抢购",
    "秒杀",
    "红包",
    "返现",
    "免费领",
    "折扣",
    "促销",
    "广告",
    "大奖",
    "福利",
)

# Text commands (handlers.py).
WATCH_ADDED: Final = "已将 {code} 加入自选。发送“自选 {code} 高于 1800”可设置价格提醒。"
WATCH_ALERT_SET: Final = "已设置 {code} 提醒：{rule}。"
WATCH_RULE_ABOVE: Final = "价格高于 {price} 元"
WATCH_RULE_BELOW: Final = "价格低于 {price} 元"
WATCH_RULE_PCT: Final = "涨跌幅超过 {pct}%"
WATCH_REMOVED: Final = "已将 {code} 移出自选。"
WATCH_NOT_FOUND: Final = "{code} 不在您的自选中。"
WATCH_FULL: Final = "自选最多 {limit} 只，请先发送“取消自选 代码”移除一些。"
WATCH_LIST_EMPTY: Final = "您还没有自选股。发送“自选 600519”即可添加。"
WATCH_LIST_HEADER: Final = "您的自选："
WATCH_BAD_COMMAND: Final = (
    "格式示例：\n自选 600519\n自选 600519 高于 1800\n自选 600519 低于 1500\n"
    "自选 600519 涨跌 5\n取消自选 600519"
)
SUBSCRIBED: Final = "已开启{name}。"
UNSUBSCRIBED: Final = "已关闭{name}。"
SUBSCRIBE_BAD_COMMAND: Final = (
    "可订阅：交易、新股、自选、理财、活动。例如发送“订阅 新股”或“退订 活动”。"
)
QUIET_SET: Final = "已设置免打扰时段 {start}:00-{end}:00（北京时间），重要安全提醒不受影响。"
QUIET_CLEARED: Final = "已关闭免打扰。"
QUIET_BAD_COMMAND: Final = "格式示例：免打扰 22-8（每天22点至次日8点），或发送“关闭免打扰”。"

# Command words a fan may type for each category.
CATEGORY_WORDS: Final = {
    "交易": "trade",
    "新股": "ipo",
    "自选": "watchlist",
    "理财": "financial",
    "活动": "marketing",
}
