"""Authentication and role checks for ops routes: `require_role(Role.X)` and its aliases.

Other features protect their ops endpoints with it:

    from app.ops.constants import Role
    from app.ops.dependencies import OperatorDep, require_role

    @router.post("/api/v1/ops/menus", dependencies=[Depends(require_role(Role.OPERATOR))])
    async def create_menu(...): ...

A request authenticates with `X-Api-Key: wxbk_<id>_<secret>` (machines) or the session cookie
(staff in the console). Cookie-authenticated unsafe methods also need `X-CSRF-Token`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import AuditTrail
from app.core.deps import RedisDep, SessionDep
from app.core.security import constant_time_equals
from app.ops import service
from app.ops.constants import (
    API_KEY_HEADER,
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    Role,
    role_at_least,
)
from app.ops.errors import CsrfError, NotAuthenticatedError, RoleRequiredError
from app.ops.schemas import Principal

RoleDependency = Callable[..., Coroutine[Any, Any, Principal]]
_CACHE: dict[Role, RoleDependency] = {}
REQUIRED_ROLE_ATTR = "ops_required_role"


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def optional_principal(
    request: Request, session: SessionDep, redis: RedisDep
) -> Principal | None:
    """The caller, or None when neither an API key nor a live session cookie came along."""
    ip = client_ip(request)
    raw_key = request.headers.get(API_KEY_HEADER)
    if raw_key:
        now = request.app.state.clock.now()
        return await service.principal_from_api_key(session, raw=raw_key, ip=ip, now=now)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return await service.principal_from_session(session, redis, token=token, ip=ip)


def check_csrf(request: Request, principal: Principal) -> None:
    """Synchronizer token: cookie sessions must echo the session's token on unsafe methods."""
    if principal.via != "session" or request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if (
        not sent
        or principal.csrf_token is None
        or not constant_time_equals(sent, principal.csrf_token)
    ):
        raise CsrfError()


def require_role(role: Role) -> RoleDependency:
    """A dependency that returns the caller once authenticated with at least `role`.

    401 `ops.unauthenticated` without credentials, 403 `ops.role_required` below the role,
    403 `ops.csrf` for a cookie session's unsafe request without the right CSRF token.
    """
    cached = _CACHE.get(role)
    if cached is not None:
        return cached

    async def dependency(
        request: Request, principal: Annotated[Principal | None, Depends(optional_principal)]
    ) -> Principal:
        if principal is None:
            raise NotAuthenticatedError("log in, or send an API key in X-Api-Key")
        if not role_at_least(principal.role, role):
            raise RoleRequiredError(role.value)
        check_csrf(request, principal)
        request.state.ops_actor = principal.name  # features that record "who" read this
        return principal

    dependency.__name__ = f"require_{role.value}"
    setattr(dependency, REQUIRED_ROLE_ATTR, role)  # read by the route × role RBAC test
    _CACHE[role] = dependency
    return dependency


def require_staff(*, read: Role = Role.VIEWER, write: Role = Role.OPERATOR) -> RoleDependency:
    """One dependency for a whole router: `read` for GET/HEAD/OPTIONS, `write` otherwise.

    For `app.include_router(router, dependencies=[Depends(require_staff())])`.
    """
    read_check, write_check = require_role(read), require_role(write)

    async def dependency(
        request: Request, principal: Annotated[Principal | None, Depends(optional_principal)]
    ) -> Principal:
        check = read_check if request.method in SAFE_METHODS else write_check
        return await check(request, principal)

    dependency.__name__ = f"require_staff_{read.value}_{write.value}"
    setattr(dependency, REQUIRED_ROLE_ATTR, {"read": read, "write": write})
    return dependency


def required_role_for(dependency: object, method: str) -> Role | None:
    """The role a dependency made by this module demands for `method` (None: not ours)."""
    marker = getattr(dependency, REQUIRED_ROLE_ATTR, None)
    if isinstance(marker, dict):
        role: Role = marker["read"] if method in SAFE_METHODS else marker["write"]
        return role
    return marker if isinstance(marker, Role) else None


OptionalPrincipalDep = Annotated[Principal | None, Depends(optional_principal)]
ViewerDep = Annotated[Principal, Depends(require_role(Role.VIEWER))]
OperatorDep = Annotated[Principal, Depends(require_role(Role.OPERATOR))]
ApproverDep = Annotated[Principal, Depends(require_role(Role.APPROVER))]
AdminDep = Annotated[Principal, Depends(require_role(Role.ADMIN))]


class RequestAuditTrail:
    """`core.audit.AuditTrail` for one request: the caller, the request's session (so the entry
    commits with the change or not at all) and the request's clock."""

    def __init__(self, session: AsyncSession, actor: Principal, request: Request) -> None:
        self._session, self._actor, self._request = session, actor, request

    async def record(
        self,
        action: str,
        *,
        target_type: str,
        target_id: object = None,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
    ) -> None:
        await service.record_audit(
            self._session,
            actor=self._actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            before=dict(before) if before is not None else None,
            after=dict(after) if after is not None else None,
            now=self._request.app.state.clock.now(),
        )


async def audit_trail(request: Request, session: SessionDep, actor: ViewerDep) -> AuditTrail:
    """Another feature's audited route takes `audit: AuditTrailDep` and passes it to its service.
    The route's own role check (e.g. `require_staff()` on the router) decides who may act."""
    return RequestAuditTrail(session, actor, request)


AuditTrailDep = Annotated[AuditTrail, Depends(audit_trail)]
