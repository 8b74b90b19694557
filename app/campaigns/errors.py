"""Domain errors of the campaigns feature."""

from __future__ import annotations

from app.campaigns import texts
from app.core.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
)


class ChannelNotFoundError(NotFound):
    code = "campaigns.channel_not_found"


class ChannelExistsError(Conflict):
    code = "campaigns.channel_exists"


class StaffNotRegisteredError(Conflict):
    """A staff channel needs an active member of the staff registry (brokerage rule)."""

    code = "campaigns.staff_not_registered"


class StaffExistsError(Conflict):
    code = "campaigns.staff_exists"


class StaffNotFoundError(NotFound):
    code = "campaigns.staff_not_found"


class InvalidChannelError(Invalid):
    code = "campaigns.invalid_channel"


class QrCodeError(Unavailable):
    code = "campaigns.qrcode_failed"


class LinkNotFoundError(NotFound):
    code = "campaigns.link_not_found"


class InvalidLinkError(Invalid):
    code = "campaigns.invalid_link"


class SignatureError(Unauthorized):
    code = "campaigns.bad_signature"


class IdempotencyKeyError(Invalid):
    code = "campaigns.idempotency_key_required"


class BodyTooLargeError(PayloadTooLarge):
    code = "campaigns.body_too_large"


class InvalidConversionError(Invalid):
    code = "campaigns.invalid_conversion"


class InvalidPeriodError(Invalid):
    code = "campaigns.invalid_period"


class SegmentNotFoundError(NotFound):
    code = "campaigns.segment_not_found"


class CampaignNotFoundError(NotFound):
    code = "campaigns.campaign_not_found"


class CampaignExistsError(Conflict):
    code = "campaigns.campaign_exists"


class CampaignRefusedError(Invalid):
    """A campaign config breaking WeChat's rules (no follow/share conditions) or ours
    (top prize at most 50,000 CNY)."""

    code = "campaigns.campaign_refused"


class AwardNotFoundError(NotFound):
    code = "campaigns.award_not_found"


class AwardStateError(Conflict):
    code = "campaigns.award_state"


class BlacklistedError(Forbidden):
    code = "campaigns.blacklisted"


class CampaignPageNotFoundError(NotFound):
    """The fan's page or draw for a campaign that does not exist (Chinese `detail`)."""

    code = "campaigns.campaign_not_found"

    def __init__(self) -> None:
        super().__init__("no such campaign")
        self.detail = texts.NOT_FOUND


class DrawUnavailableError(Unavailable):
    """Redis failed during a fan's draw: a polite 503, never a 500."""

    code = "campaigns.draw_unavailable"

    def __init__(self) -> None:
        super().__init__("the lottery store is unavailable")
        self.detail = texts.UNAVAILABLE
