"""Async client for the WeChat service-account API: every outbound call goes through here.

Calls carry the shared access token (app.wechat.token), turn errcodes into typed errors
(app.wechat.errors) and, on a token error, refresh once and retry the call once. API facts:
/work/shared/wechat/FACTS.md §5.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import orjson
from prometheus_client import Counter

from app.core.config import REAL_WECHAT_API, Settings
from app.core.redis import Redis
from app.core.time import Clock, SystemClock
from app.wechat.errors import (
    ErrorKind,
    InvalidRequestError,
    WeChatApiError,
    WeChatTransportError,
    redact,
)
from app.wechat.token import CredentialTiming, IssuedCredential, SharedCredential
from app.wechat.transport import (
    AiohttpTransport,
    HttpxTransport,
    RawResponse,
    Transport,
    TransportFailure,
)

log = logging.getLogger(__name__)

OAUTH_BASE_URL = "https://open.weixin.qq.com"
QRCODE_IMAGE_URL = "https://mp.weixin.qq.com/cgi-bin/showqrcode"
BATCH_USER_INFO_MAX = 100  # FACTS §5.5
TAG_MEMBERS_MAX = 50
QR_SCENE_STR_MAX = 64
QR_TEMP_MAX_EXPIRE_S = 2_592_000  # 30 days
QUOTA_PATH = "/cgi-bin/openapi/quota/get"

WECHAT_API_CALLS = Counter(
    "wxbroker_wechat_api_calls_total", "WeChat API calls by path and outcome", ["path", "outcome"]
)

JsonDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ApiQuota:
    """One API's daily call quota as WeChat counts it (getApiQuota)."""

    daily_limit: int
    used: int
    remain: int


@dataclass(frozen=True, slots=True)
class WeChatClientConfig:
    app_id: str
    app_secret: str
    base_url: str  # https://api.weixin.qq.com, or the simulator's /_sim/wechat
    use_stable_token: bool = True
    timeout_s: float = 5.0
    oauth_base_url: str = OAUTH_BASE_URL

    @classmethod
    def from_settings(cls, settings: Settings) -> WeChatClientConfig:
        base_url = settings.effective_wechat_api_base_url
        return cls(
            app_id=settings.wechat_app_id,
            app_secret=settings.wechat_app_secret.get_secret_value(),
            base_url=base_url,
            use_stable_token=settings.wechat_use_stable_token,
            timeout_s=settings.wechat_http_timeout_s,
            # The simulator serves the OAuth page next to the API; WeChat serves it elsewhere.
            oauth_base_url=OAUTH_BASE_URL if base_url == REAL_WECHAT_API else base_url,
        )


def text_message(content: str) -> JsonDict:
    """Customer-service text body (without `touser`)."""
    return {"msgtype": "text", "text": {"content": content}}


def news_message(articles: Sequence[Mapping[str, str]]) -> JsonDict:
    """Customer-service news body: one article with title, description, url, picurl."""
    items = [
        {k: a[k] for k in ("title", "description", "url", "picurl") if a.get(k)} for a in articles
    ]
    return {"msgtype": "news", "news": {"articles": items}}


def miniprogram_page_message(
    *, title: str, appid: str, pagepath: str, thumb_media_id: str
) -> JsonDict:
    """Customer-service mini-program card body."""
    page = {"title": title, "appid": appid, "pagepath": pagepath, "thumb_media_id": thumb_media_id}
    return {"msgtype": "miniprogrampage", "miniprogrampage": page}


class WeChatClient:
    """The one WeChat API client of a process (stored on `app.state.wechat`)."""

    def __init__(
        self,
        config: WeChatClientConfig,
        *,
        redis: Redis,
        transport: Transport,
        send_transport: Transport | None = None,
        clock: Clock | None = None,
        timing: CredentialTiming | None = None,
    ) -> None:
        self.config = config
        self._base = config.base_url.rstrip("/")
        self._transport = transport
        self._send_transport = send_transport or transport  # hot path: template and CS sends
        self._clock = clock or SystemClock()
        self._token_urls: dict[tuple[str, str], str] = {}
        kind = "stable_token" if config.use_stable_token else "access_token"
        prefix = f"wechat:{config.app_id}"
        self.access_token = SharedCredential(
            key=f"{prefix}:{kind}",
            redis=redis,
            fetch=self._fetch_access_token,
            clock=self._clock,
            timing=timing,
        )
        self.jsapi_ticket = SharedCredential(
            key=f"{prefix}:jsapi_ticket",
            redis=redis,
            fetch=self._fetch_jsapi_ticket,
            clock=self._clock,
            timing=timing,
        )

    async def aclose(self) -> None:
        await self._send_transport.aclose()
        if self._send_transport is not self._transport:
            await self._transport.aclose()

    # -- credentials ---------------------------------------------------------------------

    async def get_access_token(self) -> str:
        """The shared access token (Redis), fetching it if nobody has."""
        return await self.access_token.get()

    async def _fetch_access_token(self) -> IssuedCredential:
        """getStableAccessToken or getAccessToken.

        https://developers.weixin.qq.com/doc/service/api/base/api_getstableaccesstoken.html
        """
        cfg = self.config
        if cfg.use_stable_token:
            body = {
                "grant_type": "client_credential",
                "appid": cfg.app_id,
                "secret": cfg.app_secret,
                "force_refresh": False,
            }
            data = await self._public("POST", "/cgi-bin/stable_token", body=body)
        else:
            params = {"grant_type": "client_credential", "appid": cfg.app_id}
            params["secret"] = cfg.app_secret
            data = await self._public("GET", "/cgi-bin/token", params=params)
        return _issued(data, "access_token", "/cgi-bin/token")

    async def _fetch_jsapi_ticket(self) -> IssuedCredential:
        """JS-SDK ticket (FACTS §5.8).

        https://developers.weixin.qq.com/doc/service/api/webdev/jssdk
        """
        data = await self._call("GET", "/cgi-bin/ticket/getticket", params={"type": "jsapi"})
        return _issued(data, "ticket", "/cgi-bin/ticket/getticket")

    # -- template messages ---------------------------------------------------------------

    async def send_template(
        self,
        *,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        url: str | None = None,
        miniprogram: Mapping[str, str] | None = None,
        client_msg_id: str | None = None,
    ) -> int:
        """Send a template message, return its msgid; WeChat drops a repeated client_msg_id.

        https://developers.weixin.qq.com/doc/service/api/notify/template/api_sendtemplatemessage.html
        """
        body: JsonDict = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
        }
        if url:
            body["url"] = url
        if miniprogram:
            body["miniprogram"] = dict(miniprogram)
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        path = "/cgi-bin/message/template/send"
        result = await self._call("POST", path, body=body, hot=True)
        return int(_field(result, "msgid", path))

    async def list_templates(self) -> list[JsonDict]:
        """Templates of this account.

        https://developers.weixin.qq.com/doc/service/api/notify/template/api_getallprivatetemplate.html
        """
        path = "/cgi-bin/template/get_all_private_template"
        result = await self._call("GET", path)
        return list(result.get("template_list", []))

    # -- API management ------------------------------------------------------------------

    async def get_api_quota(self, cgi_path: str) -> ApiQuota:
        """Today's quota of one API (`cgi_path` like "/cgi-bin/message/template/send").

        Read-only; 76021 (unknown path) is permanent, 76022 (token of another account) is
        configuration.
        https://developers.weixin.qq.com/doc/service/en/api/apimanage/api_getapiquota.html
        """
        if not cgi_path.startswith("/") or "://" in cgi_path or len(cgi_path) > 256:
            # WeChat answers 76003 to a full URL or a path without its leading "/".
            raise InvalidRequestError("cgi_path must be a path such as /cgi-bin/token")
        result = await self._call("POST", QUOTA_PATH, body={"cgi_path": cgi_path})
        quota = _field(result, "quota", QUOTA_PATH)
        try:
            return ApiQuota(
                daily_limit=int(quota["daily_limit"]),
                used=int(quota["used"]),
                remain=int(quota["remain"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise WeChatTransportError(QUOTA_PATH, "quota lacks daily_limit/used/remain") from exc

    # -- customer-service messages -------------------------------------------------------

    async def send_custom_message(self, *, openid: str, message: Mapping[str, Any]) -> None:
        """Send a customer-service message (48 h window); `message` has no `touser`.

        https://developers.weixin.qq.com/doc/service/api/customer/message/api_sendcustommessage.html
        """
        body = {**message, "touser": openid}
        await self._call("POST", "/cgi-bin/message/custom/send", body=body, hot=True)

    async def send_text(self, *, openid: str, content: str) -> None:
        """Customer-service text.

        https://developers.weixin.qq.com/doc/service/api/customer/message/api_sendcustommessage.html
        """
        await self.send_custom_message(openid=openid, message=text_message(content))

    async def send_news(self, *, openid: str, articles: Sequence[Mapping[str, str]]) -> None:
        """Customer-service news card.

        https://developers.weixin.qq.com/doc/service/api/customer/message/api_sendcustommessage.html
        """
        await self.send_custom_message(openid=openid, message=news_message(articles))

    async def send_miniprogram_page(
        self, *, openid: str, title: str, appid: str, pagepath: str, thumb_media_id: str
    ) -> None:
        """Customer-service mini-program card.

        https://developers.weixin.qq.com/doc/service/api/customer/message/api_sendcustommessage.html
        """
        message = miniprogram_page_message(
            title=title, appid=appid, pagepath=pagepath, thumb_media_id=thumb_media_id
        )
        await self.send_custom_message(openid=openid, message=message)

    # -- menus ---------------------------------------------------------------------------

    async def create_menu(self, menu: Mapping[str, Any]) -> None:
        """Replace the default menu.

        https://developers.weixin.qq.com/doc/service/api/custommenu/api_createcustommenu.html
        """
        await self._call("POST", "/cgi-bin/menu/create", body=dict(menu))

    async def get_menu(self) -> JsonDict:
        """Default menu and conditional menus.

        https://developers.weixin.qq.com/doc/service/api/custommenu/api_getmenu.html
        """
        return await self._call("GET", "/cgi-bin/menu/get")

    async def get_current_menu_info(self) -> JsonDict:
        """Menu as currently shown, console-made included.

        https://developers.weixin.qq.com/doc/service/api/custommenu/api_getcurrentselfmenuinfo.html
        """
        return await self._call("GET", "/cgi-bin/get_current_selfmenu_info")

    async def delete_menu(self) -> None:
        """Delete the default and all conditional menus.

        https://developers.weixin.qq.com/doc/service/api/custommenu/api_deletemenu.html
        """
        await self._call("GET", "/cgi-bin/menu/delete")

    async def add_conditional_menu(self, menu: Mapping[str, Any]) -> str:
        """Add a menu shown to fans matching `matchrule`; returns its menuid.

        https://developers.weixin.qq.com/doc/service/api/custommenu/api_addconditionalmenu.html
        """
        path = "/cgi-bin/menu/addconditional"
        result = await self._call("POST", path, body=dict(menu))
        return str(_field(result, "menuid", path))

    async def delete_conditional_menu(self, menuid: str) -> None:
        """Delete one conditional menu.

        https://developers.weixin.qq.com/doc/service/api/custommenu/api_deleteconditionalmenu.html
        """
        await self._call("POST", "/cgi-bin/menu/delconditional", body={"menuid": menuid})

    async def try_match_menu(self, user_id: str) -> JsonDict:
        """The menu a given fan would see.

        https://developers.weixin.qq.com/doc/service/api/custommenu/api_trymatchmenu.html
        """
        return await self._call("POST", "/cgi-bin/menu/trymatch", body={"user_id": user_id})

    # -- users and tags ------------------------------------------------------------------

    async def get_user_info(self, openid: str, *, lang: str = "zh_CN") -> JsonDict:
        """One fan's info (subscribe, unionid, tags, qr scene).

        https://developers.weixin.qq.com/doc/service/api/usermanage/userinfo/api_userinfo.html
        """
        params = {"openid": openid, "lang": lang}
        return await self._call("GET", "/cgi-bin/user/info", params=params)

    async def batch_get_user_info(
        self, openids: Sequence[str], *, lang: str = "zh_CN"
    ) -> list[JsonDict]:
        """Info for many fans, 100 per call.

        https://developers.weixin.qq.com/doc/service/api/usermanage/userinfo/api_batchuserinfo.html
        """
        users: list[JsonDict] = []
        for chunk in _chunks(openids, BATCH_USER_INFO_MAX):
            body = {"user_list": [{"openid": openid, "lang": lang} for openid in chunk]}
            result = await self._call("POST", "/cgi-bin/user/info/batchget", body=body)
            users.extend(result.get("user_info_list", []))
        return users

    async def create_tag(self, name: str) -> JsonDict:
        """Create a fan tag; returns `{id, name}`.

        https://developers.weixin.qq.com/doc/service/api/usermanage/tag/api_createtag.html
        """
        path = "/cgi-bin/tags/create"
        result = await self._call("POST", path, body={"tag": {"name": name}})
        return dict(_field(result, "tag", path))

    async def get_tags(self) -> list[JsonDict]:
        """All tags with fan counts.

        https://developers.weixin.qq.com/doc/service/api/usermanage/tag/api_gettags.html
        """
        return list((await self._call("GET", "/cgi-bin/tags/get")).get("tags", []))

    async def tag_users(self, tag_id: int, openids: Sequence[str]) -> None:
        """Tag fans, 50 per call.

        https://developers.weixin.qq.com/doc/service/api/usermanage/tag/api_batchtagging.html
        """
        for chunk in _chunks(openids, TAG_MEMBERS_MAX):
            body = {"openid_list": list(chunk), "tagid": tag_id}
            await self._call("POST", "/cgi-bin/tags/members/batchtagging", body=body)

    async def untag_users(self, tag_id: int, openids: Sequence[str]) -> None:
        """Untag fans, 50 per call.

        https://developers.weixin.qq.com/doc/service/api/usermanage/tag/api_batchuntagging.html
        """
        for chunk in _chunks(openids, TAG_MEMBERS_MAX):
            body = {"openid_list": list(chunk), "tagid": tag_id}
            await self._call("POST", "/cgi-bin/tags/members/batchuntagging", body=body)

    # -- QR codes ------------------------------------------------------------------------

    async def create_qrcode(self, *, scene_str: str, expire_seconds: int | None) -> JsonDict:
        """Parametric QR code; `expire_seconds=None` makes a permanent one.

        Returns `{ticket, expire_seconds?, url}`.
        https://developers.weixin.qq.com/doc/service/api/qrcode/qrcodes/api_createqrcode.html
        """
        if not 1 <= len(scene_str) <= QR_SCENE_STR_MAX:
            raise InvalidRequestError(f"scene_str must be 1..{QR_SCENE_STR_MAX} characters")
        body: JsonDict = {"action_info": {"scene": {"scene_str": scene_str}}}
        if expire_seconds is None:
            body["action_name"] = "QR_LIMIT_STR_SCENE"
        else:
            if not 1 <= expire_seconds <= QR_TEMP_MAX_EXPIRE_S:
                raise InvalidRequestError(f"expire_seconds must be 1..{QR_TEMP_MAX_EXPIRE_S}")
            body["action_name"] = "QR_STR_SCENE"
            body["expire_seconds"] = expire_seconds
        return await self._call("POST", "/cgi-bin/qrcode/create", body=body)

    @staticmethod
    def qrcode_image_url(ticket: str) -> str:
        """Where the QR image for a ticket is shown (no token needed)."""
        return f"{QRCODE_IMAGE_URL}?ticket={quote(ticket, safe='')}"

    # -- OAuth2 web authorisation (FACTS §5.7) -------------------------------------------

    def oauth_authorize_url(
        self, *, redirect_uri: str, state: str, scope: str = "snsapi_base"
    ) -> str:
        """The page a fan is sent to for a code (step 1).

        https://developers.weixin.qq.com/doc/service/api/webdev/wechatauth
        """
        query = urlencode(
            {
                "appid": self.config.app_id,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": scope,
                "state": state,
            }
        )
        base = self.config.oauth_base_url.rstrip("/")
        return f"{base}/connect/oauth2/authorize?{query}#wechat_redirect"

    async def oauth_exchange_code(self, code: str) -> JsonDict:
        """Code → `{access_token, refresh_token, openid, scope, unionid?}` (user token, not ours).

        https://developers.weixin.qq.com/doc/service/api/webdev/wechatauth
        """
        params = {"appid": self.config.app_id, "secret": self.config.app_secret, "code": code}
        params["grant_type"] = "authorization_code"
        return await self._public("GET", "/sns/oauth2/access_token", params=params, oauth=True)

    async def oauth_refresh(self, refresh_token: str) -> JsonDict:
        """Renew a fan's OAuth access token (refresh_token lives 30 days).

        https://developers.weixin.qq.com/doc/service/api/webdev/wechatauth
        """
        params = {"appid": self.config.app_id, "grant_type": "refresh_token"}
        params["refresh_token"] = refresh_token
        return await self._public("GET", "/sns/oauth2/refresh_token", params=params, oauth=True)

    async def oauth_user_info(
        self, access_token: str, openid: str, *, lang: str = "zh_CN"
    ) -> JsonDict:
        """Profile with the fan's OAuth token (scope snsapi_userinfo).

        https://developers.weixin.qq.com/doc/service/api/webdev/wechatauth
        """
        params = {"access_token": access_token, "openid": openid, "lang": lang}
        return await self._public("GET", "/sns/userinfo", params=params, oauth=True)

    # -- JS-SDK (FACTS §5.8) -------------------------------------------------------------

    async def get_jsapi_ticket(self) -> str:
        """The shared JS-SDK ticket (Redis), fetched with the access token when missing."""
        return await self.jsapi_ticket.get()

    async def jsapi_signature(
        self, url: str, *, nonce_str: str | None = None, timestamp: int | None = None
    ) -> JsonDict:
        """`wx.config` values for a page: sha1 over ticket, nonce, timestamp and URL sans #.

        https://developers.weixin.qq.com/doc/service/api/webdev/jssdk
        """
        ticket = await self.get_jsapi_ticket()
        nonce_str = nonce_str or secrets.token_hex(8)
        timestamp = timestamp if timestamp is not None else int(self._clock.timestamp())
        page = url.split("#", 1)[0]
        signature = jsapi_sign(ticket=ticket, nonce_str=nonce_str, timestamp=timestamp, url=page)
        return {
            "appId": self.config.app_id,
            "timestamp": timestamp,
            "nonceStr": nonce_str,
            "signature": signature,
            "url": page,
        }

    # -- plumbing ------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        hot: bool = False,
    ) -> JsonDict:
        """A token-carrying call; a token error refreshes once and retries the call once."""
        transport = self._send_transport if hot else self._transport
        payload = _dumps(body) if body is not None else None
        token = await self.access_token.get()
        try:
            return await self._exchange(transport, method, path, token, params, payload)
        except WeChatApiError as exc:
            if exc.kind is not ErrorKind.TOKEN:
                raise
            log.warning("wechat.api.token_rejected", extra={"path": path, "errcode": exc.errcode})
            await self.access_token.invalidate(token)
        token = await self.access_token.get()
        return await self._exchange(transport, method, path, token, params, payload)

    async def _exchange(
        self,
        transport: Transport,
        method: str,
        path: str,
        token: str,
        params: Mapping[str, str] | None,
        payload: bytes | None,
    ) -> JsonDict:
        if params:
            url = f"{self._base}{path}?{urlencode({'access_token': token, **params})}"
        else:
            url = self._token_urls.get((path, token)) or self._token_url(path, token)
        return _decode(path, await _send(transport, method, url, path, payload))

    def _token_url(self, path: str, token: str) -> str:
        """Hot-path URLs are built once per token, not per call."""
        if len(self._token_urls) >= 64:
            self._token_urls.clear()
        url = f"{self._base}{path}?{urlencode({'access_token': token})}"
        self._token_urls[(path, token)] = url
        return url

    async def _public(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        oauth: bool = False,
    ) -> JsonDict:
        """A call without our access token (credential endpoints and OAuth)."""
        url = f"{self._base}{path}" + (f"?{urlencode(params)}" if params else "")
        payload = _dumps(body) if body is not None else None
        raw = await _send(self._transport, method, url, path, payload)
        # A token-kind errcode here is not about our access token: for OAuth it is the fan's
        # token (re-authorise), for the credential endpoints it means a wrong secret.
        token_kind = ErrorKind.PERMANENT if oauth else ErrorKind.CONFIGURATION
        return _decode(path, raw, token_kind=token_kind)


def jsapi_sign(*, ticket: str, nonce_str: str, timestamp: int, url: str) -> str:
    """sha1 of `jsapi_ticket=…&noncestr=…&timestamp=…&url=…` (keys in ASCII order, raw values)."""
    raw = f"jsapi_ticket={ticket}&noncestr={nonce_str}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()  # noqa: S324 - WeChat's algorithm


def create_wechat_client(
    settings: Settings,
    redis: Redis,
    http: httpx.AsyncClient,
    *,
    send_transport: Transport | None = None,
    clock: Clock | None = None,
) -> WeChatClient:
    """The process's client: httpx (shared pool) for most calls, aiohttp for the send path."""
    config = WeChatClientConfig.from_settings(settings)
    transport = HttpxTransport(http, timeout_s=config.timeout_s)
    hot = send_transport or AiohttpTransport(timeout_s=config.timeout_s)
    return WeChatClient(config, redis=redis, transport=transport, send_transport=hot, clock=clock)


async def _send(
    transport: Transport, method: str, url: str, path: str, payload: bytes | None
) -> RawResponse:
    try:
        return await transport.request(method, url, body=payload)
    except TransportFailure as exc:
        _count(path, "transport")
        log.warning("wechat.api.transport_error", extra={"path": path, "reason": exc.reason})
        raise WeChatTransportError(path, exc.reason) from None


def _decode(path: str, raw: RawResponse, *, token_kind: ErrorKind | None = None) -> JsonDict:
    if raw.status != 200:
        _count(path, "transport")
        log.warning("wechat.api.http_error", extra={"path": path, "status": raw.status})
        raise WeChatTransportError(path, "unexpected HTTP status", status=raw.status)
    try:
        data = orjson.loads(raw.body)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        _count(path, "transport")
        raise WeChatTransportError(path, "answer is not a JSON object", status=raw.status)
    errcode = data.get("errcode") or 0
    if errcode == 0:
        _count(path, "ok")
        return data
    error = _api_error(int(errcode), str(data.get("errmsg", "")), path, token_kind)
    _count(path, error.kind.value)
    extra = {"path": path, "errcode": error.errcode, "kind": error.kind.value}
    if error.kind is ErrorKind.UNKNOWN:
        log.error("wechat.api.unknown_errcode", extra={**extra, "errmsg": redact(error.errmsg)})
    else:
        log.warning("wechat.api.error", extra=extra)
    raise error


def _api_error(
    errcode: int, errmsg: str, path: str, token_kind: ErrorKind | None
) -> WeChatApiError:
    error = WeChatApiError(errcode, errmsg, path)
    if token_kind is not None and error.kind is ErrorKind.TOKEN:
        return WeChatApiError(errcode, errmsg, path, kind=token_kind)
    return error


_COUNTERS: dict[tuple[str, str], Any] = {}


def _count(path: str, outcome: str) -> None:
    """Count a call; label children are cached because this runs on every send."""
    child = _COUNTERS.get((path, outcome))
    if child is None:
        child = _COUNTERS[(path, outcome)] = WECHAT_API_CALLS.labels(path, outcome)
    child.inc()


def _issued(data: JsonDict, field: str, path: str) -> IssuedCredential:
    return IssuedCredential(
        value=str(_field(data, field, path)), expires_in=int(data.get("expires_in") or 7200)
    )


def _field(data: JsonDict, name: str, path: str) -> Any:
    if name not in data:
        raise WeChatTransportError(path, f"answer lacks {name!r}")
    return data[name]


def _dumps(body: Mapping[str, Any]) -> bytes:
    # orjson writes Chinese as UTF-8, never \uXXXX (WeChat answers 40033 to escapes).
    return orjson.dumps(body)


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
