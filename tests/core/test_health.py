"""Health, readiness and metrics endpoints."""

from __future__ import annotations

import httpx


class TestHealth:
    async def test_healthz_answers_ok(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz")
        assert response.status_code == 200
        assert response.text == "ok"
        assert response.headers["x-request-id"]

    async def test_readyz_reports_database_and_redis(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {"ready": True, "checks": {"database": "ok", "redis": "ok"}}

    async def test_metrics_counts_requests_by_route(self, client: httpx.AsyncClient) -> None:
        await client.get("/healthz")
        body = (await client.get("/metrics")).text
        assert 'wxbroker_http_requests_total{method="GET",route="/healthz",status="200"}' in body

    async def test_unknown_route_gets_problem_body(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/no-such-thing")
        assert response.status_code == 404
        assert response.json()["error"] == "http_404"


class TestRedisPool:
    async def test_bursts_beyond_the_pool_wait_instead_of_failing(self) -> None:
        import asyncio

        from app.core.redis import MAX_CONNECTIONS, create_redis
        from tests.conftest import REDIS_URL

        client = create_redis(REDIS_URL)
        try:
            results = await asyncio.gather(*[client.ping() for _ in range(MAX_CONNECTIONS * 4)])
            assert all(results)
        finally:
            await client.aclose()


class TestStartup:
    async def test_start_up_objects_are_frozen_out_of_the_collector(self, app: object) -> None:
        import gc

        assert gc.get_freeze_count() > 0
