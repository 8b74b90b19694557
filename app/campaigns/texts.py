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
