"""Fan-facing text of the lottery (Simplified Chinese; compliance reviews it here)."""

from __future__ import annotations

DRAW_MESSAGES = {
    "won": "恭喜您获得「{prize}」！奖品将在资格确认后发放。",
    "lost": "很遗憾，本次未中奖，感谢您的参与。",
    "sold_out": "本次活动奖品已全部发放完毕，感谢您的关注。",
    "already_won": "您已在本次活动中获奖，每位客户限领一次。",
    "refused": "抱歉，您暂不符合本次活动的参与条件。",
}
REVIEW_MESSAGE = "恭喜您获得「{prize}」！奖品将在审核通过后发放。"

# Why a draw did not happen, by `constants.Refusal`. Risk control and the blacklist get the
# same neutral sentence: a fan is never told they are suspected of anything.
BLOCKED = "根据活动规则，您本次暂时无法参与抽奖。如有疑问，请联系客服95500。"
REFUSAL_MESSAGES = {
    "not_started": "活动尚未开始，请在活动开始后再来参与。",
    "ended": "活动已结束，感谢您的关注。",
    "closed": "活动已关闭，感谢您的关注。",
    "blacklisted": BLOCKED,
    "not_bound": "本活动仅限已绑定证券账户的客户参与，请先绑定账户。",
    "no_account_in_window": "本活动仅限活动期间新开立证券账户的客户参与。",
    "no_first_trade": "本活动需完成首笔交易后参与，交易确认后即可抽奖。",
    "person_limit": "您今日的抽奖次数已用完，欢迎明天再来。",
    "scene_limit": "当前参与人数较多，请稍后再试。",
    "risk": BLOCKED,
    "unavailable": "系统繁忙，请稍后再试。",
}

# -- the campaign page (/h5/campaigns/{code}) ------------------------------------------------

PAGE_TITLE = "活动抽奖"
NOT_FOUND = "未找到该活动，请从公众号菜单或活动链接重新进入。"
BUSY = "正在为您抽奖，请勿重复点击。"
UNAVAILABLE = "系统繁忙，请稍后再试。"
DRAW_BUTTON = "抽奖"
BIND_LINK = "去绑定账户"
WINDOW = "{start} 至 {end}（北京时间）"
DATETIME = "{d:%Y}年{d.month}月{d.day}日 {d:%H:%M}"

RULE_TEXTS = {
    "bound_customer": "已在本公众号绑定证券账户的客户",
    "account_opened_in_window": "在活动期间内新开立证券账户",
    "first_trade": "已完成首笔交易",
}
RULE_EVERYONE = "本公众号的所有用户均可参与"
RULE_PER_DAY = "每人每天最多抽奖{n}次"
RULE_ONE_PRIZE = "每位客户限中奖一次（同一客户的多个微信号、证券账户或手机号视为同一人）"
RULE_ODDS = "每次抽奖的中奖机会为{percent}%，奖品发完即止"
RULE_WHILE_STOCKS_LAST = "奖品数量有限，发完即止"
RULE_NO_FOLLOW = "参与及中奖均与是否关注、分享无关"

# Payout rule (deferred payout).
CONVERSION_ACTIONS = {
    "app_activated": "激活App",
    "account_opened": "开立证券账户",
    "first_trade": "完成首笔交易",
}
PAYOUT_AFTER_ACTION = "奖品将在确认您{action}后发放"
PAYOUT_AFTER_ACTION_HOLD = "奖品将在确认您{action}{hours}小时后发放"
PAYOUT_HOLD = "奖品将在中奖{hours}小时后发放"
PAYOUT_SOON = "奖品将在中奖确认后发放"

# Prizes: the published quantity, and what is left only roughly (exact counts would tell
# bonus hunters how fast others win and when to strike).
PRIZE_VALUE = "价值¥{value}"
PRIZE_QUANTITY = "共{n}份"
PRIZE_DAILY_LIMIT = "每日限{n}份"
STOCK_PLENTY = "充足"
STOCK_SOME = "较少"
STOCK_FEW = "即将发完"
STOCK_NONE = "已发完"

# The fan's own status.
STATUS_ELIGIBLE = "您符合参与条件"
STATUS_DRAWS_LEFT = "今日还可抽奖{n}次"
STATUS_LAST_LOST = "您上次抽奖未中奖，欢迎再试一次。"
STATUS_NOT_ELIGIBLE = "您暂不符合参与条件"
STATUS_NOT_OPEN = "活动未开放"
STATUS_SOLD_OUT = "奖品已全部发放完毕"
STATUS_WON = "您已中奖：{prize}"
AWARD_STATUS = {
    "review": "奖品正在审核中，审核通过后发放。",
    "deferred": "{payout}。",
    "payable": "领奖资格已确认，奖品正在安排发放。",
    "paid": "奖品已发放。",
    "void": "经审核，您本次的中奖资格未能确认。如有疑问，请联系客服95500。",
}

# Draw outcome headlines.
OUTCOME_TITLES = {
    "won": "恭喜中奖",
    "review": "恭喜中奖",
    "lost": "未中奖",
    "sold_out": "奖品已发完",
    "already_won": "已参与",
    "not_eligible": "暂不符合条件",
    "not_open": "活动未开放",
    "rate_limited": "请稍后再试",
    "blocked": "暂时无法参与",
    "busy": "正在抽奖",
    "unavailable": "系统繁忙",
}
WON_MESSAGE = "恭喜您获得「{prize}」！{payout}。"
