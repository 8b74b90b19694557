"""Inbound callback XML: a hardened pyexpat parse into typed, frozen messages (FACTS.md §3-4).

The parse sits on the webhook's hot path, so it drives expat directly and builds a flat dict of
the root's children (nested dicts only for the few structured events) instead of a full tree.
Any DTD, entity declaration or unknown entity reference is refused before anything expands.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.wechat.inbound_xml import Fields as Fields  # re-exported: part of this module's API
from app.wechat.inbound_xml import InboundMessageError as InboundMessageError
from app.wechat.inbound_xml import (
    get_items,
    get_nested,
    get_text,
    optional_float,
    optional_int,
    optional_text,
    required_int,
    required_text,
)
from app.wechat.inbound_xml import parse_fields as parse_fields

_QR_SCENE_PREFIX = "qrscene_"


# --- models ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundMessage:
    """Common header of every callback; `msg_type` is lower-case."""

    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def openid(self) -> str:
        return self.from_user

    @property
    def dedupe_key(self) -> str:
        msg_id: int | None = getattr(self, "msg_id", None)
        if msg_id is not None:
            return f"m:{msg_id}"
        # A message type we do not know and that carries no MsgId: header fields only.
        return f"u:{self.from_user}:{self.create_time}:{self.msg_type}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TextMessage(InboundMessage):
    content: str
    msg_id: int
    msg_data_id: str | None = None  # set when the text comes from an article comment
    idx: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageMessage(InboundMessage):
    pic_url: str
    media_id: str
    msg_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceMessage(InboundMessage):
    media_id: str
    format: str
    msg_id: int
    recognition: str | None = None
    media_id_16k: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VideoMessage(InboundMessage):
    media_id: str
    thumb_media_id: str
    msg_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ShortVideoMessage(InboundMessage):
    media_id: str
    thumb_media_id: str
    msg_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationMessage(InboundMessage):
    location_x: float | None  # latitude
    location_y: float | None  # longitude
    scale: int | None
    label: str
    msg_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkMessage(InboundMessage):
    title: str
    description: str
    url: str
    msg_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownMessage(InboundMessage):
    msg_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EventMessage(InboundMessage):
    """An event; `event` is lower-case, `event_key` is "" when absent."""

    event: str
    event_key: str = ""

    @property
    def dedupe_key(self) -> str:
        return f"e:{self.from_user}:{self.create_time}:{self.event}:{self.event_key}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscribeEvent(EventMessage):
    scene: str | None = None  # QR scene without the `qrscene_` prefix, when followed by a scan
    ticket: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UnsubscribeEvent(EventMessage):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanEvent(EventMessage):
    scene: str
    ticket: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationEvent(EventMessage):
    latitude: float | None
    longitude: float | None
    precision: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClickEvent(EventMessage):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ViewEvent(EventMessage):
    url: str
    menu_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ViewMiniprogramEvent(EventMessage):
    page_path: str
    menu_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanCodeEvent(EventMessage):
    """`scancode_push` or `scancode_waitmsg` (the latter expects a reply)."""

    scan_type: str
    scan_result: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PicEvent(EventMessage):
    """`pic_sysphoto`, `pic_photo_or_album` or `pic_weixin`."""

    count: int
    pic_md5_sums: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationSelectEvent(EventMessage):
    location_x: float | None
    location_y: float | None
    scale: int | None
    label: str
    poiname: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateSendJobFinishEvent(EventMessage):
    msg_id: int
    status: str
    ok: bool

    @property
    def dedupe_key(self) -> str:
        # One report per template message: the MsgID identifies it better than the second.
        return f"e:{self.from_user}:{self.create_time}:{self.event}:{self.msg_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class MassSendJobFinishEvent(EventMessage):
    msg_id: int
    status: str
    ok: bool
    total_count: int | None
    filter_count: int | None
    sent_count: int | None
    error_count: int | None

    @property
    def dedupe_key(self) -> str:
        return f"e:{self.from_user}:{self.create_time}:{self.event}:{self.msg_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscribeMsgItem:
    """One `List` entry of the subscription-message events; absent fields are None."""

    template_id: str
    subscribe_status: str | None = None  # accept / reject
    popup_scene: int | None = None  # 1 H5 page, 2 article or message
    msg_id: int | None = None
    error_code: int | None = None  # 0 = delivered
    error_status: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscribeMsgPopupEvent(EventMessage):
    items: tuple[SubscribeMsgItem, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscribeMsgChangeEvent(EventMessage):
    items: tuple[SubscribeMsgItem, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscribeMsgSentEvent(EventMessage):
    items: tuple[SubscribeMsgItem, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownEvent(EventMessage):
    pass


@dataclass(frozen=True, slots=True)
class Envelope:
    """The outer document of a POST: plain fields, plus `encrypt` in compatible/safe mode."""

    to_user: str
    encrypt: str | None
    fields: Fields


# --- builders --------------------------------------------------------------------------------

_Header = dict[str, Any]


def _text_message(f: Mapping[str, Any], h: _Header) -> InboundMessage:
    return TextMessage(
        **h,
        content=get_text(f, "Content"),
        msg_id=required_int(f, "MsgId"),
        msg_data_id=optional_text(f, "MsgDataId"),
        idx=optional_int(f, "Idx"),
    )


def _image_message(f: Mapping[str, Any], h: _Header) -> InboundMessage:
    return ImageMessage(
        **h,
        pic_url=get_text(f, "PicUrl"),
        media_id=get_text(f, "MediaId"),
        msg_id=required_int(f, "MsgId"),
    )


def _voice_message(f: Mapping[str, Any], h: _Header) -> InboundMessage:
    return VoiceMessage(
        **h,
        media_id=get_text(f, "MediaId"),
        format=get_text(f, "Format"),
        msg_id=required_int(f, "MsgId"),
        recognition=optional_text(f, "Recognition"),
        media_id_16k=optional_text(f, "MediaId16K"),
    )


def _video_message(f: Mapping[str, Any], h: _Header) -> InboundMessage:
    cls = ShortVideoMessage if h["msg_type"] == "shortvideo" else VideoMessage
    return cls(
        **h,
        media_id=get_text(f, "MediaId"),
        thumb_media_id=get_text(f, "ThumbMediaId"),
        msg_id=required_int(f, "MsgId"),
    )


def _location_message(f: Mapping[str, Any], h: _Header) -> InboundMessage:
    return LocationMessage(
        **h,
        location_x=optional_float(f, "Location_X"),
        location_y=optional_float(f, "Location_Y"),
        scale=optional_int(f, "Scale"),
        label=get_text(f, "Label"),
        msg_id=required_int(f, "MsgId"),
    )


def _link_message(f: Mapping[str, Any], h: _Header) -> InboundMessage:
    return LinkMessage(
        **h,
        title=get_text(f, "Title"),
        description=get_text(f, "Description"),
        url=get_text(f, "Url"),
        msg_id=required_int(f, "MsgId"),
    )


def _subscribe(f: Mapping[str, Any], h: _Header) -> InboundMessage:
    key = h["event_key"]
    scene = key[len(_QR_SCENE_PREFIX) :] if key.startswith(_QR_SCENE_PREFIX) else None
    return SubscribeEvent(**h, scene=scene, ticket=optional_text(f, "Ticket"))


def _scan(f: Mapping[str, Any], h: _Header) -> InboundMessage:
    return ScanEvent(**h, scene=h["event_key"], ticket=optional_text(f, "Ticket"))


def _location_event(f: Mapping[str, Any], h: _Header) -> InboundMessage:
    return LocationEvent(
        **h,
        latitude=optional_float(f, "Latitude"),
        longitude=optional_float(f, "Longitude"),
        precision=optional_float(f, "Precision"),
    )


def _view(f: Mapping[str, Any], h: _Header) -> InboundMessage:
    return ViewEvent(**h, url=h["event_key"], menu_id=optional_text(f, "MenuId"))


def _view_miniprogram(f: Mapping[str, Any], h: _Header) -> InboundMessage:
    menu_id = optional_text(f, "MenuId")
    return ViewMiniprogramEvent(**h, page_path=h["event_key"], menu_id=menu_id)


def _scancode(f: Mapping[str, Any], h: _Header) -> InboundMessage:
    info = get_nested(f, "ScanCodeInfo")
    scan_type, scan_result = get_text(info, "ScanType"), get_text(info, "ScanResult")
    return ScanCodeEvent(**h, scan_type=scan_type, scan_result=scan_result)


def _pic(f: Mapping[str, Any], h: _Header) -> InboundMessage:
    info = get_nested(f, "SendPicsInfo")
    pics = get_items(get_nested(info, "PicList").get("item"), "item")
    md5s = tuple(get_text(pic, "PicMd5Sum") for pic in pics)
    count = optional_int(info, "Count")
    return PicEvent(**h, count=len(md5s) if count is None else count, pic_md5_sums=md5s)


def _location_select(f: Mapping[str, Any], h: _Header) -> InboundMessage:
    info = get_nested(f, "SendLocationInfo")
    return LocationSelectEvent(
        **h,
        location_x=optional_float(info, "Location_X"),
        location_y=optional_float(info, "Location_Y"),
        scale=optional_int(info, "Scale"),
        label=get_text(info, "Label"),
        poiname=get_text(info, "Poiname"),
    )


def _template_finish(f: Mapping[str, Any], h: _Header) -> InboundMessage:
    status = get_text(f, "Status").strip()
    # Failures read "failed:user block" or "failed: system failed"; only "success" is ok.
    ok = status == "success"
    return TemplateSendJobFinishEvent(**h, msg_id=required_int(f, "MsgID"), status=status, ok=ok)


def _mass_finish(f: Mapping[str, Any], h: _Header) -> InboundMessage:
    status = get_text(f, "Status").strip()
    return MassSendJobFinishEvent(
        **h,
        msg_id=required_int(f, "MsgID"),
        status=status,
        ok=status == "send success",
        total_count=optional_int(f, "TotalCount"),
        filter_count=optional_int(f, "FilterCount"),
        sent_count=optional_int(f, "SentCount"),
        error_count=optional_int(f, "ErrorCount"),
    )


_SUBSCRIBE_MSG_WRAPPERS = (
    "SubscribeMsgPopupEvent",
    "SubscribeMsgChangeEvent",
    "SubscribeMsgSentEvent",
)


def _subscribe_msg_items(f: Mapping[str, Any], wrapper: str) -> tuple[SubscribeMsgItem, ...]:
    # Docs have shown the change event inside a SubscribeMsgPopupEvent wrapper: accept any.
    names = (wrapper, *(w for w in _SUBSCRIBE_MSG_WRAPPERS if w != wrapper))
    name = next((n for n in names if n in f), wrapper)
    entries = get_items(get_nested(f, name).get("List"), "List")
    return tuple(
        SubscribeMsgItem(
            template_id=get_text(e, "TemplateId"),
            subscribe_status=optional_text(e, "SubscribeStatusString"),
            popup_scene=optional_int(e, "PopupScene"),
            msg_id=optional_int(e, "MsgID"),
            error_code=optional_int(e, "ErrorCode"),
            error_status=optional_text(e, "ErrorStatus"),
        )
        for e in entries
    )


def _subscribe_msg_popup(f: Mapping[str, Any], h: _Header) -> InboundMessage:
    return SubscribeMsgPopupEvent(**h, items=_subscribe_msg_items(f, "SubscribeMsgPopupEvent"))


def _subscribe_msg_change(f: Mapping[str, Any], h: _Header) -> InboundMessage:
    return SubscribeMsgChangeEvent(**h, items=_subscribe_msg_items(f, "SubscribeMsgChangeEvent"))


def _subscribe_msg_sent(f: Mapping[str, Any], h: _Header) -> InboundMessage:
    return SubscribeMsgSentEvent(**h, items=_subscribe_msg_items(f, "SubscribeMsgSentEvent"))


def _plain_event(cls: type[EventMessage]) -> Callable[[Mapping[str, Any], _Header], InboundMessage]:
    def build(_f: Mapping[str, Any], h: _Header) -> InboundMessage:
        return cls(**h)

    return build


_Builder = Callable[[Mapping[str, Any], _Header], InboundMessage]

_MESSAGE_BUILDERS: dict[str, _Builder] = {
    "text": _text_message,
    "image": _image_message,
    "voice": _voice_message,
    "video": _video_message,
    "shortvideo": _video_message,
    "location": _location_message,
    "link": _link_message,
}

_EVENT_BUILDERS: dict[str, _Builder] = {
    "subscribe": _subscribe,
    "unsubscribe": _plain_event(UnsubscribeEvent),
    "scan": _scan,
    "location": _location_event,
    "click": _plain_event(ClickEvent),
    "view": _view,
    "view_miniprogram": _view_miniprogram,
    "scancode_push": _scancode,
    "scancode_waitmsg": _scancode,
    "pic_sysphoto": _pic,
    "pic_photo_or_album": _pic,
    "pic_weixin": _pic,
    "location_select": _location_select,
    "templatesendjobfinish": _template_finish,
    "masssendjobfinish": _mass_finish,
    "subscribe_msg_popup_event": _subscribe_msg_popup,
    "subscribe_msg_change_event": _subscribe_msg_change,
    "subscribe_msg_sent_event": _subscribe_msg_sent,
}


# --- public API ------------------------------------------------------------------------------


def message_from_fields(fields: Mapping[str, Any]) -> InboundMessage:
    """The typed message for an already parsed document; unknown types are not an error."""
    header: _Header = {
        "to_user": required_text(fields, "ToUserName"),
        "from_user": required_text(fields, "FromUserName"),
        "create_time": required_int(fields, "CreateTime"),
        "msg_type": required_text(fields, "MsgType").strip().lower(),
        "raw": fields,
    }
    if header["msg_type"] != "event":
        builder = _MESSAGE_BUILDERS.get(header["msg_type"])
        if builder is None:
            return UnknownMessage(**header, msg_id=optional_int(fields, "MsgId"))
        return builder(fields, header)
    header["event"] = get_text(fields, "Event").strip().lower()
    header["event_key"] = get_text(fields, "EventKey")
    event_builder = _EVENT_BUILDERS.get(header["event"])
    if event_builder is None:
        return UnknownEvent(**header)
    return event_builder(fields, header)


def parse_inbound(body: bytes) -> InboundMessage:
    """Parse a plaintext callback body (or a decrypted one) into a typed message."""
    return message_from_fields(parse_fields(body))


def parse_envelope(body: bytes) -> Envelope:
    """Parse a POST body once; `encrypt` is set in compatible and safe modes."""
    fields = parse_fields(body)
    encrypt = fields.get("Encrypt")
    if encrypt is not None and not (isinstance(encrypt, str) and encrypt):
        raise InboundMessageError("<Encrypt> must hold the base64 payload")
    # Lenient on ToUserName: the decrypted message is checked in full by parse_inbound.
    return Envelope(to_user=get_text(fields, "ToUserName"), encrypt=encrypt, fields=fields)
