"""Query kinds, their menu CLICK keys and H5 pages, and the per-fan cache lifetime."""

from __future__ import annotations

from enum import StrEnum


class QueryKind(StrEnum):
    PERSONAL_INFO = "personal_info"
    ASSETS = "assets"
    LIABILITIES = "liabilities"
    POSITIONS = "positions"
    PNL = "pnl"
    ORDERS = "orders"
    FUND_FLOWS = "fund_flows"
    IPO = "ipo"


#: Menu CLICK keys: the same strings as `MenuKey` in app/content/default_menu.py (the menu
#: contract). MENU_ACCOUNT_OVERVIEW answers the assets, plus the debt for a margin account.
OVERVIEW_KEY = "MENU_ACCOUNT_OVERVIEW"
MENU_KEYS: dict[str, QueryKind] = {
    "MENU_PERSONAL_INFO": QueryKind.PERSONAL_INFO,
    "MENU_LIABILITIES": QueryKind.LIABILITIES,
    "MENU_POSITIONS": QueryKind.POSITIONS,
    "MENU_HOLDING_PNL": QueryKind.PNL,
    "MENU_ORDERS": QueryKind.ORDERS,
    "MENU_FUND_FLOWS": QueryKind.FUND_FLOWS,
    "MENU_IPO": QueryKind.IPO,
}

#: Text commands answering the same queries ("持仓", "资产"...).
TEXT_COMMANDS: dict[str, QueryKind] = {
    "个人信息": QueryKind.PERSONAL_INFO,
    "负债": QueryKind.LIABILITIES,
    "持仓": QueryKind.POSITIONS,
    "我的持仓": QueryKind.POSITIONS,
    "盈亏": QueryKind.PNL,
    "委托": QueryKind.ORDERS,
    "当日委托": QueryKind.ORDERS,
    "流水": QueryKind.FUND_FLOWS,
    "资金流水": QueryKind.FUND_FLOWS,
    "新股": QueryKind.IPO,
    "中签": QueryKind.IPO,
}

#: Text commands answering the overview (assets, plus debt for margin accounts).
OVERVIEW_WORDS = ("资产", "我的资产", "账户总览", "查询账户")

#: H5 detail pages: path segment under /h5/account/ → query.
PAGES: dict[str, QueryKind] = {
    "positions": QueryKind.POSITIONS,
    "orders": QueryKind.ORDERS,
    "fund-flows": QueryKind.FUND_FLOWS,
    "ipo": QueryKind.IPO,
}
PAGE_OF: dict[QueryKind, str] = {kind: page for page, kind in PAGES.items()}
H5_PREFIX = "/h5/account"

#: Per-fan cache: short, so figures are never older than this; the reply shows the time.
CACHE_TTL_S = 30
CACHE_PREFIX = "account_center:v1"
#: Fans whose default account this process remembers, to prefetch their cache entries.
HINTS_MAX = 100_000
NEWS_PREVIEW_ROWS = 3
