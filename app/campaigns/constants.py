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


# -- segments (issue #7, second half) -------------------------------------------------------


class Segment(StrEnum):
    """Derived audiences, written to the alerts' `segment_member` under these names."""

    BOUND_CUSTOMERS = "auto.bound_customers"
    ENGAGED_PROSPECTS = "auto.engaged_prospects"  # unbound, recent menu use or scans
    REGISTERED_STAFF = "auto.registered_staff"
    BONUS_HUNTERS = "auto.bonus_hunters"  # abuse score at or above BONUS_HUNTER_SCORE
    DORMANT_FANS = "auto.dormant_fans"  # nothing from them for DORMANT_DAYS


# WeChat tag per segment (conditional menus follow tags); bound customers use the content
# feature's BOUND_CUSTOMER_TAG so its conditional account-center menu follows the segment.
SEGMENT_TAGS = {
    Segment.ENGAGED_PROSPECTS: "engaged_prospect",
    Segment.REGISTERED_STAFF: "registered_staff",
    Segment.BONUS_HUNTERS: "bonus_hunter_suspect",
    Segment.DORMANT_FANS: "dormant_fan",
}
ENGAGED_DAYS = 30
DORMANT_DAYS = 90
BONUS_HUNTER_SCORE = 50
# Menu use and scans count as engagement (event names are lower-cased by the parser).
ENGAGING_EVENTS = frozenset({"click", "view", "view_miniprogram", "scan", "scancode_push"})
SEGMENT_SWEEP_INTERVAL_S = 3600.0
SEGMENT_SWEEP_PAGE = 500
# The worker follows inbound_event for segments. Records younger than the lag are left for the
# next pass: an API process may still be committing a batch with lower ids.
SEGMENT_FEED_BATCH = 2000
SEGMENT_FEED_LAG_S = 5.0
SEGMENT_FEED_INTERVAL_S = 1.0
TAG_MIRROR_INTERVAL_S = 30.0
TAG_MIRROR_BATCH = 500

# -- campaigns and draws --------------------------------------------------------------------


class Eligibility(StrEnum):
    BOUND_CUSTOMER = "bound_customer"
    ACCOUNT_OPENED_IN_WINDOW = "account_opened_in_window"
    FIRST_TRADE = "first_trade"


# WeChat forbids making a reward or a chance depend on following the account or sharing.
FORBIDDEN_CONDITION_WORDS = ("follow", "subscribe", "share", "forward", "invite", "moments")
TOP_PRIZE_MAX_VALUE_CNY = 50_000  # compared as Decimal
MAX_PRIZES = 20
MAX_INVENTORY = 1_000_000


class DrawDecisionKind(StrEnum):
    WON = "won"
    LOST = "lost"
    SOLD_OUT = "sold_out"
    ALREADY_WON = "already_won"
    REFUSED = "refused"  # window, eligibility, blacklist, velocity, risk
    PAYOUT_RELEASED = "payout_released"
    REVIEW_APPROVED = "review_approved"
    REVIEW_VOIDED = "review_voided"


class Refusal(StrEnum):
    """Why a draw was refused, for the fan's page (the recorded reason says more)."""

    NOT_STARTED = "not_started"
    ENDED = "ended"
    CLOSED = "closed"  # switched off by ops
    BLACKLISTED = "blacklisted"
    NOT_BOUND = "not_bound"
    NO_ACCOUNT_IN_WINDOW = "no_account_in_window"
    NO_FIRST_TRADE = "no_first_trade"
    PERSON_LIMIT = "person_limit"  # draws per person per Beijing day
    SCENE_LIMIT = "scene_limit"  # draws per QR scene per hour
    RISK = "risk"
    UNAVAILABLE = "unavailable"  # Redis could not be loaded in time


class DrawOutcome(StrEnum):
    """What the fan's page shows after a tap on 抽奖."""

    WON = "won"
    REVIEW = "review"  # won, held for an operator's review
    LOST = "lost"
    SOLD_OUT = "sold_out"
    ALREADY_WON = "already_won"
    NOT_ELIGIBLE = "not_eligible"
    NOT_OPEN = "not_open"  # not started, ended or closed
    RATE_LIMITED = "rate_limited"
    BLOCKED = "blocked"  # blacklist or risk score: told neutrally
    BUSY = "busy"  # the same fan's previous tap is still drawing
    UNAVAILABLE = "unavailable"


REFUSAL_OUTCOMES = {
    Refusal.NOT_STARTED: DrawOutcome.NOT_OPEN,
    Refusal.ENDED: DrawOutcome.NOT_OPEN,
    Refusal.CLOSED: DrawOutcome.NOT_OPEN,
    Refusal.BLACKLISTED: DrawOutcome.BLOCKED,
    Refusal.RISK: DrawOutcome.BLOCKED,
    Refusal.NOT_BOUND: DrawOutcome.NOT_ELIGIBLE,
    Refusal.NO_ACCOUNT_IN_WINDOW: DrawOutcome.NOT_ELIGIBLE,
    Refusal.NO_FIRST_TRADE: DrawOutcome.NOT_ELIGIBLE,
    Refusal.PERSON_LIMIT: DrawOutcome.RATE_LIMITED,
    Refusal.SCENE_LIMIT: DrawOutcome.RATE_LIMITED,
    Refusal.UNAVAILABLE: DrawOutcome.UNAVAILABLE,
}
# One tap at a time per fan and campaign (double clicks, two tabs): the lock's lifetime
# bounds a draw that died holding it.
H5_PREFIX = "/h5/campaigns"
DRAW_LOCK_MS = 15_000
DEMO_CAMPAIGN_CODE = "demo"


class AwardStatus(StrEnum):
    REVIEW = "review"  # risky winner: an operator decides
    DEFERRED = "deferred"  # waiting for the qualifying action / hold period
    PAYABLE = "payable"
    PAID = "paid"
    VOID = "void"


class IdentityKind(StrEnum):
    OPENID = "openid"
    UNIONID = "unionid"
    PHONE_HASH = "phone_hash"
    ACCOUNT = "account"  # the brokerage client of an active binding
    ACCOUNT_REF = "account_ref"  # the account reference posted with conversions


class BlacklistKind(StrEnum):
    OPENID = "openid"
    UNIONID = "unionid"
    PHONE_HASH = "phone_hash"
    ACCOUNT = "account"
    ACCOUNT_REF = "account_ref"
    SCENE = "scene"  # a QR scene farmed by bonus hunters


# Risk score parts (0-100): fresh follows in a burst from one scene, an account opened
# minutes before drawing, a follow minutes before drawing.
BURST_WINDOW_S = 600
BURST_FOLLOWS = 20
RISK_BURST_FOLLOW = 50
FRESH_FOLLOW_S = 3600
RISK_FRESH_FOLLOW = 20
FRESH_ACCOUNT_S = 1800
RISK_FRESH_ACCOUNT = 40
RISK_REVIEW_SCORE = 40  # a win is held for review
RISK_REFUSE_SCORE = 80  # the draw is refused
DAILY_COUNTER_TTL_S = 2 * 86_400
RECONCILE_INTERVAL_S = 300.0
RELEASE_INTERVAL_S = 300.0
LOAD_LOCK_MS = 10_000
