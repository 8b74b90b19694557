"""The /wechat fast lane: request ids, counters and methods without FastAPI's stack."""

from __future__ import annotations

import httpx


class TestFastLane:
    async def test_unsupported_method_gets_a_405_problem_body(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.put("/wechat", content=b"<xml/>")
        assert response.status_code == 405
        assert response.json()["error"] == "http_405"

    async def test_caller_request_id_is_echoed(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/wechat", headers={"x-request-id": "abc-123"})
        assert response.status_code == 403
        assert response.headers["x-request-id"] == "abc-123"

    async def test_requests_are_counted_under_the_route(self, client: httpx.AsyncClient) -> None:
        await client.get("/wechat")
        body = (await client.get("/metrics")).text
        assert 'wxbroker_http_requests_total{method="GET",route="/wechat",status="403"}' in body

    async def test_other_paths_still_go_through_fastapi(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/wechat/extra")
        assert response.status_code == 404
        assert response.json()["error"] == "http_404"
