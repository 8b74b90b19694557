"""The template table: every type renders its keys, values are truncated by rule."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.alerts import templates
from app.alerts.constants import AlertType, Category, Severity
from app.alerts.schemas import INGEST_ALERT, Announcement, Broadcast, TradeFill
from app.simulator.template_messages import Template, validate_data
from tests.alerts.samples import PAYLOADS, alert_body

TARGET = {"kind": "openids", "openids": ["oFan000001"]}


class TestTruncateField:
    def test_short_values_stay(self) -> None:
        assert templates.truncate_field("贵州茅台(600519)") == "贵州茅台(600519)"

    def test_exactly_twenty_characters_stay(self) -> None:
        assert templates.truncate_field("字" * 20) == "字" * 20

    def test_longer_values_keep_nineteen_characters_and_an_ellipsis(self) -> None:
        assert templates.truncate_field("字" * 21) == "字" * 19 + "…"

    def test_newlines_and_runs_of_spaces_collapse(self) -> None:
        assert templates.truncate_field(" a \n\t b ") == "a b"

    @given(st.text(max_size=200))
    def test_any_text_fits_the_limit_on_one_line(self, value: str) -> None:
        out = templates.truncate_field(value)
        assert len(out) <= 20
        assert "\n" not in out
        if len(" ".join(value.split())) > 20:
            assert out.endswith("…")


class TestRender:
    @pytest.mark.parametrize("alert_type", sorted(PAYLOADS))
    def test_every_type_renders_exactly_its_template_keys(self, alert_type: str) -> None:
        alert = INGEST_ALERT.validate_python(alert_body(alert_type, TARGET))
        rendered = templates.render(
            AlertType(alert_type), alert.payload, base_url="https://wx.example.com"
        )
        spec = templates.SPECS[AlertType(alert_type)]
        assert tuple(rendered.data) == spec.keys
        assert all(0 < len(v) <= 20 for v in rendered.data.values())
        assert rendered.template_id == f"wxb_{alert_type}_v1"
        assert rendered.url == f"https://wx.example.com{spec.link_path}"

    def test_trade_fill_fields_are_masked_and_formatted(self) -> None:
        payload = TradeFill.model_validate(PAYLOADS["trade_fill"])
        data = templates.render(AlertType.TRADE_FILL, payload, base_url="").data
        assert data == {
            "character_string1": "****3456",
            "thing2": "贵州茅台(600519)",
            "phrase3": "买入",
            "character_string4": "1800.50x100",
            "time5": "2026-01-05 10:00",
        }

    def test_times_are_shown_in_beijing_time(self) -> None:
        payload = TradeFill.model_validate(
            {**PAYLOADS["trade_fill"], "filled_at": datetime(2026, 1, 5, 2, 0, tzinfo=UTC)}
        )
        data = templates.render(AlertType.TRADE_FILL, payload, base_url="").data
        assert data["time5"] == "2026-01-05 10:00"

    def test_configured_template_id_and_explicit_url_win(self) -> None:
        payload = Announcement.model_validate(PAYLOADS["announcement"])
        rendered = templates.render(
            AlertType.ANNOUNCEMENT,
            payload,
            base_url="https://a",
            url="https://b/x",
            template_ids={"announcement": "REAL_ID"},
        )
        assert (rendered.template_id, rendered.url) == ("REAL_ID", "https://b/x")

    def test_long_summary_is_cut_to_twenty_characters(self) -> None:
        payload = Announcement.model_validate(PAYLOADS["announcement"])
        data = templates.render(AlertType.ANNOUNCEMENT, payload, base_url="").data
        assert data["thing2"] == "2月16日至2月22日休市，2月23日…"
        assert len(data["thing2"]) == 20

    @pytest.mark.parametrize(
        ("alert_type", "severity", "category"),
        [
            (AlertType.SECURITY_LOGIN, Severity.CRITICAL, None),
            (AlertType.MARGIN_CALL, Severity.CRITICAL, None),
            (AlertType.TRADE_FILL, Severity.TRANSACTIONAL, Category.TRADE),
            (AlertType.IPO_LOTTERY_RESULT, Severity.TRANSACTIONAL, Category.IPO),
            (AlertType.WATCHLIST_PRICE, Severity.MARKET, Category.WATCHLIST),
            (AlertType.BROADCAST, Severity.MARKETING, Category.MARKETING),
        ],
    )
    def test_severity_and_category_per_type(
        self, alert_type: AlertType, severity: Severity, category: Category | None
    ) -> None:
        spec = templates.SPECS[alert_type]
        assert (spec.severity, spec.category) == (severity, category)

    def test_every_type_has_a_spec_and_content_names_its_keys(self) -> None:
        assert set(templates.SPECS) == set(AlertType)
        for spec in templates.SPECS.values():
            assert all(f"{{{{{k}.DATA}}}}" in spec.content() for k in spec.keys)
            assert spec.title

    @given(
        title=st.text(min_size=1, max_size=200).filter(lambda s: s.strip()),
        body=st.text(min_size=1, max_size=200).filter(lambda s: s.strip()),
    )
    def test_rendering_free_text_never_exceeds_the_field_limit(self, title: str, body: str) -> None:
        payload = Broadcast.model_construct(title=title, body=body, category=Category.MARKETING)
        data = templates.render(AlertType.BROADCAST, payload, base_url="").data
        assert set(data) == {"thing1", "thing2"}
        assert all(len(v) <= 20 and "\n" not in v for v in data.values())

    @given(
        price=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999"), places=2),
        quantity=st.integers(min_value=1, max_value=10**9),
        name=st.text(min_size=1, max_size=64).filter(lambda s: s.strip()),
    )
    def test_trade_fill_renders_any_valid_payload(
        self, price: Decimal, quantity: int, name: str
    ) -> None:
        payload = TradeFill.model_validate(
            {**PAYLOADS["trade_fill"], "price": price, "quantity": quantity, "security_name": name}
        )
        data = templates.render(AlertType.TRADE_FILL, payload, base_url="").data
        assert all(len(v) <= 20 for v in data.values())
        assert data["character_string1"] == "****3456"


class TestAgainstWeChatValueRules:
    """The simulator applies WeChat's typed-keyword value rules (47003 otherwise)."""

    @pytest.mark.parametrize("alert_type", sorted(PAYLOADS))
    def test_every_type_passes_the_value_rules(self, alert_type: str) -> None:
        alert = INGEST_ALERT.validate_python(alert_body(alert_type, TARGET))
        spec = templates.SPECS[AlertType(alert_type)]
        rendered = templates.render(AlertType(alert_type), alert.payload, base_url="")
        template = Template(rendered.template_id, spec.title, spec.content())
        data = {k: {"value": v} for k, v in rendered.data.items()}
        assert validate_data(template, data) == rendered.data

    @pytest.mark.parametrize(
        ("alert_type", "field", "value"),
        [
            ("ipo_lottery_result", "won_quantity", 0),
            ("financial_product", "amount", None),
            ("security_login", "location", ""),
        ],
    )
    def test_optional_values_still_pass(self, alert_type: str, field: str, value: object) -> None:
        body = alert_body(alert_type, TARGET)
        body["payload"] = {**body["payload"], field: value}
        alert = INGEST_ALERT.validate_python(body)
        spec = templates.SPECS[AlertType(alert_type)]
        rendered = templates.render(AlertType(alert_type), alert.payload, base_url="")
        template = Template(rendered.template_id, spec.title, spec.content())
        validate_data(template, {k: {"value": v} for k, v in rendered.data.items()})
