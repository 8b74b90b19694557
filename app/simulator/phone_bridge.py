"""WeChat's half of the fan phone emulator: build, sign and POST callbacks, open the replies.

The page never sees the token or the AES key: it asks the phone router for an action, and this
module plays WeChat's servers for it (FACTS §1-4): inbound XML as WeChat writes it, `signature`
(and `msg_signature` + `<Encrypt>` in compatible/safe mode) over the account's token, a POST to
the service's `/wechat` with WeChat's 5-second patience, then the passive reply decrypted and
checked the way WeChat checks it before showing it to the fan.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from app.core.config import Settings
from app.core.errors import AppError, Conflict, Invalid, NotFound
from app.core.security import mask_openid
from app.core.time import Clock
from app.simulator.config import DEFAULT_ORIGINAL_ID
from app.simulator.signing import event_xml
from app.wechat.crypto import MessageCrypto, WeChatCryptoError, url_signature
from app.wechat.inbound_xml import (
    InboundMessageError,
    get_items,
    get_nested,
    get_text,
    parse_fields,
)

log = logging.getLogger(__name__)

Mode = Literal["plain", "compatible", "safe"]
XmlFields = list[tuple[str, str | int]]

WECHAT_PATIENCE_S = 5.0  # WeChat drops the connection after 5 s (FACTS §1)
ADMIN_TIMEOUT_S = 5.0
OPENID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
OPENID_LENGTH = 28
QR_SCENE_PREFIX = "qrscene_"
SUCCESS = b"success"


class SimulatorUnavailableError(AppError):
    status = 502
    code = "phone.simulator_unavailable"


class QrCodeExpiredError(Conflict):
    code = "phone.qrcode_expired"


class NotFollowingError(Conflict):
    code = "phone.not_following"


class AlreadyFollowingError(Conflict):
    code = "phone.already_following"


class InvalidReplyError(ValueError):
    """A passive reply WeChat would not show (the fan sees the "out of service" notice)."""


def new_openid() -> str:
    """A random openid shaped like WeChat's: 28 characters, starting with `o`."""
    tail = "".join(secrets.choice(OPENID_ALPHABET) for _ in range(OPENID_LENGTH - 1))
    return "o" + tail


def new_msg_id() -> int:
    """A MsgId in WeChat's range (a positive 64-bit integer)."""
    return 10**18 + secrets.randbelow(8 * 10**18)


@dataclass(frozen=True, slots=True)
class PhoneConfig:
    """The account as WeChat knows it, and where the service and the simulator listen."""

    webhook_url: str
    simulator_url: str
    token: str
    encoding_aes_key: str
    app_id: str
    original_id: str = DEFAULT_ORIGINAL_ID

    @classmethod
    def from_settings(cls, settings: Settings) -> PhoneConfig:
        return cls(
            webhook_url=settings.base_url + "/wechat",
            simulator_url=settings.effective_wechat_api_base_url,
            token=settings.wechat_token.get_secret_value(),
            encoding_aes_key=settings.wechat_encoding_aes_key.get_secret_value(),
            app_id=settings.wechat_app_id,
        )


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one callback: what was sent, how the service answered, what shows."""

    sent: str
    mode: Mode
    delivered: bool
    status: int | None
    reply: dict[str, Any] | None
    problem: str | None
    elapsed_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "mode": self.mode,
            "delivered": self.delivered,
            "status": self.status,
            "reply": self.reply,
            "problem": self.problem,
            "elapsed_ms": round(self.elapsed_ms, 1),
        }


def _articles(fields: Mapping[str, Any]) -> list[dict[str, str]]:
    items = get_items(get_nested(fields, "Articles").get("item"), "item")
    return [
        {
            "title": get_text(item, "Title"),
            "description": get_text(item, "Description"),
            "pic_url": get_text(item, "PicUrl"),
            "url": get_text(item, "Url"),
        }
        for item in items
    ]


def reply_view(fields: Mapping[str, Any], *, openid: str) -> dict[str, Any]:
    """The reply as the page renders it; raises when WeChat would refuse to show it."""
    if get_text(fields, "ToUserName") != openid:
        raise InvalidReplyError("reply ToUserName is not the fan who wrote")
    msg_type = get_text(fields, "MsgType").strip().lower()
    if msg_type == "text":
        content = get_text(fields, "Content")
        if not content.strip():
            raise InvalidReplyError("text reply with an empty Content")
        return {"type": "text", "content": content}
    if msg_type == "news":
        articles = _articles(fields)
        if not articles:
            raise InvalidReplyError("news reply without articles")
        return {"type": "news", "articles": articles}
    if msg_type in {"image", "voice", "video"}:
        media = get_nested(fields, msg_type.capitalize())
        return {"type": msg_type, "media_id": get_text(media, "MediaId")}
    if msg_type == "transfer_customer_service":
        return {"type": msg_type}
    raise InvalidReplyError(f"unsupported reply MsgType {msg_type!r}")


class PhoneBridge:
    """Plays WeChat's servers for the phone page (one per request; cheap to build)."""

    def __init__(self, config: PhoneConfig, *, http: httpx.AsyncClient, clock: Clock) -> None:
        self.config = config
        self._http = http
        self._clock = clock

    # -- the simulator's state (its admin API) -------------------------------------------------

    async def _admin(self, method: str, path: str, **kwargs: Any) -> Any:
        url = self.config.simulator_url + path
        try:
            response = await self._http.request(method, url, timeout=ADMIN_TIMEOUT_S, **kwargs)
        except httpx.HTTPError as exc:
            raise SimulatorUnavailableError(f"WeChat simulator unreachable: {exc!r}") from exc
        if response.status_code == 404:
            raise NotFound(f"simulator: {path.split('?')[0]} not found")
        if response.status_code >= 400:
            raise SimulatorUnavailableError(f"simulator answered HTTP {response.status_code}")
        return response.json()

    async def list_fans(self) -> list[dict[str, Any]]:
        fans: list[dict[str, Any]] = await self._admin("GET", "/_admin/fans")
        return fans

    async def fan(self, openid: str) -> dict[str, Any] | None:
        return next((f for f in await self.list_fans() if f.get("openid") == openid), None)

    async def register_fan(
        self, openid: str, *, subscribed: bool, scene: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"openid": openid, "subscribed": subscribed}
        if scene is not None:
            body["scene"] = scene
        fan: dict[str, Any] = await self._admin("POST", "/_admin/fans", json=body)
        return fan

    async def menu(self, openid: str) -> list[dict[str, Any]]:
        """The menu this fan sees now (default, or a conditional menu matching their tags)."""
        body = await self._admin("GET", "/_admin/menu", params={"openid": openid})
        buttons = body.get("button") if isinstance(body, dict) else None
        return buttons if isinstance(buttons, list) else []

    async def inbox(self, openid: str, *, after: int) -> list[dict[str, Any]]:
        body = await self._admin("GET", f"/inbox/{openid}", params={"after": after})
        messages = body.get("messages") if isinstance(body, dict) else None
        return messages if isinstance(messages, list) else []

    async def resolve_scan(self, code: str) -> tuple[str, str | None]:
        """(scene, ticket) of a scanned ticket, or the text itself taken as a scene string."""
        try:
            described = await self._admin("GET", f"/_admin/qrcodes/{code}")
        except NotFound:
            return code, None
        if described.get("expired"):
            raise QrCodeExpiredError("this QR code has expired")
        return str(described["scene"]), code

    # -- callbacks -----------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self._clock.timestamp())

    def _header(self, openid: str, msg_type: str) -> XmlFields:
        return [
            ("ToUserName", self.config.original_id),
            ("FromUserName", openid),
            ("CreateTime", self._now()),
            ("MsgType", msg_type),
        ]

    def event_fields(self, openid: str, event: str, *extra: tuple[str, str | int]) -> XmlFields:
        return [*self._header(openid, "event"), ("Event", event), *extra]

    def text_fields(self, openid: str, content: str) -> XmlFields:
        return [*self._header(openid, "text"), ("Content", content), ("MsgId", new_msg_id())]

    def _crypto(self) -> MessageCrypto:
        cfg = self.config
        return MessageCrypto(cfg.token, cfg.encoding_aes_key, cfg.app_id)

    def sign(self, plain_xml: str, *, openid: str, mode: Mode) -> tuple[dict[str, str], str]:
        """Query parameters and body of the POST, exactly as WeChat builds them."""
        timestamp, nonce = str(self._now()), str(secrets.randbelow(10**10))
        params = {
            "signature": url_signature(self.config.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": openid,
        }
        if mode == "plain":
            return params, plain_xml
        body, msg_signature = self._crypto().encrypt_inbound(
            plain_xml,
            to_user=self.config.original_id,
            timestamp=timestamp,
            nonce=nonce,
            compatible=mode == "compatible",
        )
        params.update(encrypt_type="aes", msg_signature=msg_signature)
        return params, body

    def open_reply(self, body: bytes, *, openid: str, mode: Mode) -> dict[str, Any] | None:
        """The reply the fan sees; None for `success`/empty; raises InvalidReplyError."""
        raw = body.strip()
        if not raw or raw == SUCCESS:
            return None
        try:
            fields = parse_fields(raw)
            if "Encrypt" in fields:
                fields = self._decrypt(fields)
            elif mode == "safe":
                raise InvalidReplyError("safe mode needs an encrypted reply")
            return reply_view(fields, openid=openid)
        except (InboundMessageError, WeChatCryptoError) as exc:
            raise InvalidReplyError(str(exc)) from exc

    def _decrypt(self, envelope: Mapping[str, Any]) -> dict[str, Any]:
        crypto = self._crypto()
        encrypt = get_text(envelope, "Encrypt")
        signed = crypto.verify_msg_signature(
            get_text(envelope, "MsgSignature"),
            get_text(envelope, "TimeStamp"),
            get_text(envelope, "Nonce"),
            encrypt,
        )
        if not signed:
            raise InvalidReplyError("reply MsgSignature does not match")
        return parse_fields(crypto.decrypt(encrypt))

    async def deliver(self, fields: XmlFields, *, openid: str, mode: Mode) -> Delivery:
        """POST one callback to the service's webhook and open its answer."""
        named = dict(fields)
        sent = str(named.get("Event") or named["MsgType"])
        params, body = self.sign(event_xml(fields), openid=openid, mode=mode)
        headers = {"Content-Type": "text/xml; charset=utf-8"}
        started = time.perf_counter()
        status: int | None = None
        reply: dict[str, Any] | None = None
        problem: str | None = None
        try:
            response = await self._http.post(
                self.config.webhook_url,
                params=params,
                content=body.encode("utf-8"),
                headers=headers,
                timeout=WECHAT_PATIENCE_S,
            )
            status = response.status_code
            if status != 200:
                problem = f"webhook answered HTTP {status}: {response.text[:200]}"
            else:
                reply = self.open_reply(response.content, openid=openid, mode=mode)
        except httpx.TimeoutException:
            problem = f"no answer within WeChat's {WECHAT_PATIENCE_S:.0f} s"
        except httpx.HTTPError as exc:
            problem = f"webhook unreachable: {exc!r}"
        except InvalidReplyError as exc:
            problem = f"invalid reply: {exc}"
        elapsed_ms = (time.perf_counter() - started) * 1000
        if problem is not None:
            log.warning(
                "simulator.phone.delivery_failed",
                extra={"openid": mask_openid(openid), "sent": sent, "problem": problem[:200]},
            )
        return Delivery(sent, mode, problem is None, status, reply, problem, elapsed_ms)


class FanActions:
    """What a fan can do on the phone, each ending in one signed callback."""

    def __init__(self, bridge: PhoneBridge) -> None:
        self.bridge = bridge

    async def _subscribed(self, openid: str) -> bool:
        fan = await self.bridge.fan(openid)
        return fan is not None and fan.get("subscribe") == 1

    async def _require_follower(self, openid: str) -> None:
        if not await self._subscribed(openid):
            raise NotFollowingError("follow the account first")

    async def follow(self, openid: str, *, scan: str | None, mode: Mode) -> Delivery:
        """subscribe (with `qrscene_` key after a scan), or SCAN when already following."""
        bridge = self.bridge
        scene, ticket = await bridge.resolve_scan(scan) if scan else (None, None)
        extra: list[tuple[str, str | int]] = []
        if await self._subscribed(openid):
            if scene is None:
                raise AlreadyFollowingError("already following; scan a QR code to send SCAN")
            extra.append(("EventKey", scene))
            event = "SCAN"
        else:
            # WeChat knows the follower before it tells the service: sends in reply work.
            await bridge.register_fan(openid, subscribed=True, scene=scene)
            if scene is not None:
                extra.append(("EventKey", QR_SCENE_PREFIX + scene))
            event = "subscribe"
        if ticket is not None:
            extra.append(("Ticket", ticket))
        fields = bridge.event_fields(openid, event, *extra)
        return await bridge.deliver(fields, openid=openid, mode=mode)

    async def unfollow(self, openid: str, *, mode: Mode) -> Delivery:
        await self._require_follower(openid)
        await self.bridge.register_fan(openid, subscribed=False)
        fields = self.bridge.event_fields(openid, "unsubscribe")
        return await self.bridge.deliver(fields, openid=openid, mode=mode)

    async def click(self, openid: str, *, key: str, mode: Mode) -> Delivery:
        await self._require_follower(openid)
        fields = self.bridge.event_fields(openid, "CLICK", ("EventKey", key))
        return await self.bridge.deliver(fields, openid=openid, mode=mode)

    async def view(self, openid: str, *, url: str, mode: Mode) -> Delivery:
        await self._require_follower(openid)
        fields = self.bridge.event_fields(openid, "VIEW", ("EventKey", url))
        return await self.bridge.deliver(fields, openid=openid, mode=mode)

    async def text(self, openid: str, *, content: str, mode: Mode) -> Delivery:
        await self._require_follower(openid)
        fields = self.bridge.text_fields(openid, content)
        return await self.bridge.deliver(fields, openid=openid, mode=mode)


OPENID_RULE = "openid must be 1-64 characters of [A-Za-z0-9_-]"


def is_openid(value: str) -> bool:
    """Openids the page may use: WeChat's alphabet, at most 64 characters."""
    return 0 < len(value) <= 64 and all(c in OPENID_ALPHABET for c in value)


def check_openid(openid: str) -> str:
    if not is_openid(openid):
        raise Invalid(OPENID_RULE)
    return openid
