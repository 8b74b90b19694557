"""Channels, touches, conversion kinds and the limits of the campaigns API."""

from __future__ import annotations

from enum import StrEnum


class ChannelKind(StrEnum):
    BRANCH = "branch"
    CAMPAIGN = "campaign"
    STAFF = "staff"  # needs a registered staff member; every use is recorded
    ONLINE = "online"  # links placed on websites, apps, partners


class TouchKind(StrEnum):
    FOLLOW = "follow"  # subscribe with a channel's QR scene
    SCAN = "scan"  # an existing fan scanned a channel's QR code
    LINK_CLICK = "link_click"  # a tracked link was opened
    CONVERSION = "conversion"  # a conversion event posted back with a channel


class ConversionKind(StrEnum):
    FOLLOWED = "followed"  # first follow of the account (recorded from the webhook)
    APP_ACTIVATED = "app_activated"
    ACCOUNT_OPENED = "account_opened"
    FIRST_TRADE = "first_trade"


# Kinds the brokerage may post back (follows come from WeChat only).
POSTED_KINDS = frozenset(
    {ConversionKind.APP_ACTIVATED, ConversionKind.ACCOUNT_OPENED, ConversionKind.FIRST_TRADE}
)


class LinkTarget(StrEnum):
    OPEN_ACCOUNT = "open_account"
    APP_DOWNLOAD = "app_download"
    OTHER = "other"


class Attribution(StrEnum):
    FIRST_TOUCH = "first"
    LAST_TOUCH = "last"


CHANNEL_CODE_PATTERN = r"^[a-z0-9][a-z0-9_.-]{1,47}$"  # also the QR scene_str (≤ 64 chars)
STAFF_NO_PATTERN = r"^[A-Za-z0-9_-]{2,32}$"
# Temporary QR codes live at most 30 days (FACTS.md §5.6).
QR_TEMP_MAX_EXPIRE_S = 2_592_000
QR_TEMP_DEFAULT_EXPIRE_S = 2_592_000
LINK_CODE_BYTES = 9  # 12 URL-safe characters
FAN_REF_PARAM = "f"  # on /t/{code}: the signed fan reference we put in links sent to fans
REDIRECT_CHANNEL_PARAM = "wxb_channel"  # on the redirect target: the channel code
REDIRECT_REF_PARAM = "wxb_ref"  # on the redirect target: the fan reference to post back
FAN_REF_SIG_HEX = 32
MAX_CONVERSIONS_PER_REQUEST = 500
MAX_BODY_BYTES = 512 * 1024
SIGNATURE_HEADER = "X-Broker-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_TOLERANCE_S = 300
# The funnel's CSV columns, in order (one row per channel).
FUNNEL_PATHS = (
    "fan_to_app_user",
    "fan_to_customer",
    "app_user_to_fan",
    "app_user_to_customer",
    "customer_to_fan",
    "customer_to_app_user",
)
MAX_FUNNEL_DAYS = 366
