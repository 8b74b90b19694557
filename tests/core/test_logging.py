"""JSON logs: PII in `extra` is masked, the record's own fields are not."""

from __future__ import annotations

import json
import logging

from app.core.logging import JsonFormatter, MaskPiiFilter


def _render(**extra: object) -> dict[str, object]:
    record = logging.LogRecord("app.accounts.service", logging.INFO, "f.py", 1, "evt", None, None)
    record.__dict__.update(extra)
    MaskPiiFilter().filter(record)
    return json.loads(JsonFormatter().format(record))  # type: ignore[no-any-return]


class TestMaskPiiFilter:
    def test_personal_data_in_extra_is_masked(self) -> None:
        line = _render(
            openid="oAbCdEfGhIjKlMnOpQrStUvWxYz0", account_no="310000123456", phone="13812345678"
        )
        assert line["openid"] == "oAbC***Yz0"
        assert line["account_no"] == "****3456"
        assert line["phone"] == "138****5678"

    def test_the_logger_name_is_not_mistaken_for_a_person_name(self) -> None:
        assert _render()["logger"] == "app.accounts.service"
