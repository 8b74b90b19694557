"""Baseline: a WeRoBot app answering the same keyword (served by gunicorn, 2 sync workers)."""

from __future__ import annotations

import os

from werobot import WeRoBot

robot = WeRoBot(token=os.environ.get("WECHAT_TOKEN", "benchToken"))


@robot.text
def keyword(message, session=None):  # type: ignore[no-untyped-def]
    return "您好，这是关键词自动回复。"


robot.config["SESSION_STORAGE"] = False
application = robot.wsgi
