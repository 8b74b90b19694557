"""The error a simulated WeChat API call answers with: HTTP 200 + `{errcode, errmsg}`."""

from __future__ import annotations

# errmsg texts as WeChat words them (wechatpy constants / WxJava enums, FACTS §6).
ERRMSG: dict[int, str] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40015: "invalid button type",
    40016: "invalid button size",
    40017: "invalid sub button size",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40020: "invalid button url size",
    40024: "invalid sub button type",
    40025: "invalid sub button name size",
    40026: "invalid sub button key size",
    40027: "invalid sub button url size",
    40029: "invalid code",
    40030: "invalid refresh_token",
    40032: "invalid openid list size",
    40037: "invalid template_id",
    40053: "invalid action info",
    40097: "invalid args",
    40125: "invalid appsecret",
    40163: "code been used",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41009: "missing openid",
    41007: "missing sub buttons",
    42001: "access_token expired",
    42002: "refresh_token expired",
    42003: "code expired",
    43004: "require subscribe",
    44002: "empty post data",
    44003: "empty news data",
    44004: "empty content",
    45008: "article size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit",
    45015: "response out of time limit or subscription is canceled",
    45056: "too many tags",
    45057: "can't delete the tag that has too many fans",
    45059: "fans have too many tags",
    45157: "invalid tag name",
    45158: "tag name too long",
    45159: "invalid tag id",
    46003: "menu no exist",
    46004: "user not exist",
    47001: "data format error",
    47003: "argument invalid!",
    48001: "api unauthorized",
    48006: "forbid to clear quota because of reaching the limit",
    65301: "no such menuid",
    65303: "there is no selfmenu, please create selfmenu first",
    65304: "match rule empty",
    65320: "match rule uses private information",
    76003: "invalid cgi_path",
    76021: "cgi_path not found, please check",
}


class WeChatFault(Exception):
    """Raised by simulator handlers; rendered as WeChat's JSON error body."""

    def __init__(self, errcode: int, detail: str = "") -> None:
        base = ERRMSG.get(errcode, "error")
        self.errcode = errcode
        self.errmsg = f"{base} {detail}".strip()
        super().__init__(f"{errcode}: {self.errmsg}")
