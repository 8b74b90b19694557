"""Status API: per-alert counts by status and per-delivery history.

Staff only: app/main.py mounts this router behind the ops `viewer` role (session or API key).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.core.deps import SessionDep
from app.core.routing import CommitBeforeResponseRoute
from app.push import service
from app.push.schemas import AlertStatusRead, DeliveryRead

Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
router = APIRouter(prefix="/api/v1", tags=["push"], route_class=CommitBeforeResponseRoute)


@router.get("/alerts/{alert_id}/status")
async def get_alert_status(alert_id: Id, session: SessionDep) -> AlertStatusRead:
    return await service.get_alert_status(session, alert_id)


@router.get("/deliveries/{delivery_id}")
async def get_delivery(delivery_id: Id, session: SessionDep) -> DeliveryRead:
    return await service.get_delivery(session, delivery_id)
