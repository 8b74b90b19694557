"""accounts.service functions other features call."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service
from app.accounts.models import AccountBinding
from app.core.time import FakeClock


def _binding(openid: str, clock: FakeClock, *, unbound: bool = False) -> AccountBinding:
    return AccountBinding(
        openid=openid,
        client_id="C1",
        account_id=f"A-{openid}",
        account_no_masked="****1001",
        account_type="cash",
        is_default=True,
        consent_version="v",
        consented_at=clock.now(),
        bound_at=clock.now() - timedelta(days=1),
        unbound_at=clock.now() if unbound else None,
    )


class TestBoundOpenidsAmong:
    async def test_only_fans_with_an_active_binding_are_returned(
        self, session: AsyncSession, clock: FakeClock
    ) -> None:
        session.add_all([_binding("oBound", clock), _binding("oGone", clock, unbound=True)])
        await session.flush()
        wanted = ["oBound", "oGone", "oNever", *[f"oX{i}" for i in range(2500)]]
        assert await service.bound_openids_among(session, wanted) == {"oBound"}

    async def test_no_openids_no_query(self, session: AsyncSession) -> None:
        assert await service.bound_openids_among(session, []) == set()


class TestSafeReturnPath:
    @pytest.mark.parametrize(
        "path",
        ["/h5/bind", "/h5/account/positions?binding_id=3", "/h5/campaigns/spring.2026"],
    )
    def test_our_own_h5_pages_are_kept(self, path: str) -> None:
        assert service.safe_return_path(path) == path

    @pytest.mark.parametrize(
        "path",
        [
            None,
            "https://evil.example/h5/bind",
            "//evil.example/h5/bind",
            "/h5//evil.example",
            "/h5/../admin",
            "/h5/campaigns/..",
            "/console/",
            "/h5/bind?next=https://evil.example",
        ],
    )
    def test_anything_else_falls_back_to_the_binding_page(self, path: str | None) -> None:
        assert service.safe_return_path(path) == "/h5/bind"
