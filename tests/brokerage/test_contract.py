"""docs/brokerage-api.yaml matches the models, and the sandbox serves every operation in it."""

from __future__ import annotations

from pathlib import Path

import yaml

from app.brokerage.contract import OPERATIONS, build_openapi, render
from app.brokerage.errors import ERRORS_BY_CODE
from tests.brokerage.sandbox_helpers import make_sandbox

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "brokerage-api.yaml"


class TestContract:
    def test_committed_file_is_up_to_date(self) -> None:
        assert CONTRACT.read_text(encoding="utf-8") == render(), (
            "regenerate: python -m app.brokerage.contract > docs/brokerage-api.yaml"
        )

    def test_sandbox_serves_every_operation(self) -> None:
        paths = make_sandbox().openapi()["paths"]
        served = {(method, path) for path, item in paths.items() for method in item}
        documented = {(op.method, op.path) for op in OPERATIONS}
        assert documented <= served

    def test_every_reference_resolves(self) -> None:
        spec = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
        schemas = spec["components"]["schemas"]
        refs: list[str] = []

        def walk(node: object) -> None:
            if isinstance(node, dict):
                refs.extend(v for k, v in node.items() if k == "$ref")
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(spec)
        assert refs
        assert {ref.rsplit("/", 1)[-1] for ref in refs} <= set(schemas)

    def test_every_error_code_is_documented(self) -> None:
        description = build_openapi()["info"]["description"]
        assert all(code in description for code in ERRORS_BY_CODE)
