"""Fan-facing text of the content feature (Simplified Chinese; compliance reviews it here)."""

NO_ARTICLES = "暂无最新资讯，敬请关注。"
