"""The errcode classification table, error types, redaction and the retry policy."""

from __future__ import annotations

import pytest

from app.wechat.errors import (
    ERROR_TABLE,
    ErrorKind,
    InvalidRequestError,
    RetryDecision,
    TokenUnavailableError,
    WeChatApiError,
    WeChatTransportError,
    classify,
    redact,
    retry_decision,
)


class TestClassify:
    @pytest.mark.parametrize(
        ("errcode", "kind"),
        [
            (40001, ErrorKind.TOKEN),
            (40014, ErrorKind.TOKEN),
            (42001, ErrorKind.TOKEN),
            (-1, ErrorKind.RETRYABLE),
            (45009, ErrorKind.QUOTA),
            (45011, ErrorKind.RATE),
            (45047, ErrorKind.RATE),
            (43004, ErrorKind.PERMANENT),
            (40003, ErrorKind.PERMANENT),
            (43101, ErrorKind.PERMANENT),
            (45015, ErrorKind.PERMANENT),
            (47003, ErrorKind.PERMANENT),
            (40037, ErrorKind.CONFIGURATION),
            (40164, ErrorKind.CONFIGURATION),
            (48001, ErrorKind.CONFIGURATION),
            (40013, ErrorKind.CONFIGURATION),
            (40125, ErrorKind.CONFIGURATION),
            (76003, ErrorKind.PERMANENT),
            (76021, ErrorKind.PERMANENT),
            (76022, ErrorKind.CONFIGURATION),
        ],
    )
    def test_known_codes_map_to_their_kind(self, errcode: int, kind: ErrorKind) -> None:
        assert classify(errcode) is kind

    def test_unknown_code_is_unknown(self) -> None:
        assert classify(99999) is ErrorKind.UNKNOWN

    def test_success_code_is_not_in_the_table(self) -> None:
        assert 0 not in ERROR_TABLE


class TestWeChatApiError:
    def test_kind_comes_from_the_table(self) -> None:
        error = WeChatApiError(43004, "require subscribe", "/cgi-bin/message/template/send")
        assert error.kind is ErrorKind.PERMANENT
        assert not error.retryable
        assert "43004" in str(error)

    def test_kind_can_be_overridden_for_context(self) -> None:
        error = WeChatApiError(
            40001, "invalid credential", "/cgi-bin/token", kind=ErrorKind.CONFIGURATION
        )
        assert error.kind is ErrorKind.CONFIGURATION

    def test_unknown_and_retryable_errors_are_retryable(self) -> None:
        assert WeChatApiError(-1, "system busy", "/x").retryable
        assert WeChatApiError(61234, "new code", "/x").retryable
        assert WeChatTransportError("/x", "timeout").retryable
        assert TokenUnavailableError("busy").retryable

    def test_invalid_request_is_a_value_error_and_permanent(self) -> None:
        error = InvalidRequestError("scene_str too long")
        assert isinstance(error, ValueError)
        assert error.kind is ErrorKind.PERMANENT

    def test_messages_never_carry_credentials(self) -> None:
        error = WeChatTransportError(
            "/cgi-bin/menu/get", "GET /x?access_token=SECRET123&a=1 failed"
        )
        assert "SECRET123" not in str(error)


class TestRedact:
    def test_hides_token_secret_and_oauth_code(self) -> None:
        url = "https://h/cgi-bin/token?appid=wx1&secret=S3&access_token=T0K&code=C0DE#x"
        text = redact(url)
        for secret in ("S3", "T0K", "C0DE"):
            assert secret not in text
        assert "appid=wx1" in text

    def test_leaves_plain_text_alone(self) -> None:
        assert redact("system busy") == "system busy"


class TestRetryDecision:
    def test_retryable_backs_off_exponentially_then_stops(self) -> None:
        error = WeChatApiError(-1, "busy", "/x")
        delays = [retry_decision(error, attempt).delay_s for attempt in range(1, 5)]
        assert delays == [1.0, 2.0, 4.0, 8.0]
        assert retry_decision(error, 5) == RetryDecision(retry=False, delay_s=0.0)

    def test_rate_waits_a_minute(self) -> None:
        decision = retry_decision(WeChatApiError(45011, "minute quota", "/x"), 1)
        assert decision == RetryDecision(retry=True, delay_s=60.0)

    def test_unknown_is_retried_a_bounded_number_of_times(self) -> None:
        error = WeChatApiError(61234, "new", "/x")
        assert retry_decision(error, 2).retry
        assert not retry_decision(error, 3).retry

    @pytest.mark.parametrize("errcode", [43004, 40037, 45009, 40001])
    def test_permanent_configuration_quota_and_token_are_not_retried_here(
        self, errcode: int
    ) -> None:
        assert not retry_decision(WeChatApiError(errcode, "", "/x"), 1).retry
