"""Ops business rules: staff and roles, sessions, API keys, the audit chain, four-eyes requests.

Push drafts live in `app/ops/pushes.py`, the dashboard and fan pages in `app/ops/dashboard.py`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.content import service as content_service
from app.core.redis import Redis
from app.core.security import constant_time_equals
from app.ops import passwords, sessions
from app.ops.audit import ChainReport, row_hash, verify_chain
from app.ops.constants import API_KEY_PREFIX, RequestKind, RequestStatus, Role
from app.ops.errors import (
    ApiKeyNotFoundError,
    ApprovalRequestNotFoundError,
    BadCredentialsError,
    FourEyesError,
    LoginThrottledError,
    NotAllowedError,
    RequestStateError,
    StaffNotFoundError,
    UsernameTakenError,
)
from app.ops.models import ApiKey, ApprovalRequest, AuditLog, StaffUser
from app.ops.repository import (
    ApiKeyRepository,
    ApprovalRepository,
    AuditRepository,
    StaffRepository,
)
from app.ops.schemas import ApiKeyCreate, Principal, StaffCreate, StaffUpdate
from app.wechat.client import WeChatClient

log = logging.getLogger(__name__)
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)
CLI_PRINCIPAL = Principal(ref="cli", name="wxbroker cli", role=Role.ADMIN, via="cli")


# ---- audit ----


def _jsonable(value: Any) -> Any:
    """What the JSON column will hand back, so the stored row re-hashes to the same value."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


async def record_audit(
    session: AsyncSession,
    *,
    actor: Principal,
    action: str,
    target_type: str,
    target_id: object = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    now: datetime,
) -> AuditLog:
    """Append one entry to the hash chain, in the caller's transaction (so it commits with the
    change it describes, or not at all)."""
    repo = AuditRepository(session)
    head = await repo.lock_head()
    fields: dict[str, Any] = {
        "seq": head.seq + 1,
        "at": now.astimezone(UTC),
        "actor": actor.ref,
        "actor_name": actor.name,
        "action": action,
        "target_type": target_type,
        "target_id": None if target_id is None else str(target_id),
        "before": _jsonable(before),
        "after": _jsonable(after),
        "ip": actor.ip,
        "prev_hash": head.hash,
    }
    row = AuditLog(**fields, hash=row_hash(fields))
    return await repo.append(head, row)


async def list_audit(
    session: AsyncSession,
    *,
    limit: int = 100,
    before_seq: int | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
) -> list[AuditLog]:
    return await AuditRepository(session).list_recent(
        limit=limit, before_seq=before_seq, target_type=target_type, target_id=target_id
    )


def _fields_of(row: AuditLog) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "at": row.at,
        "actor": row.actor,
        "actor_name": row.actor_name,
        "action": row.action,
        "target_type": row.target_type,
        "target_id": row.target_id,
        "before": row.before,
        "after": row.after,
        "ip": row.ip,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


async def verify_audit_chain(session: AsyncSession) -> ChainReport:
    """Recompute every hash and link in seq order (`wxbroker audit verify`)."""
    repo = AuditRepository(session)
    head = await repo.get_head()
    rows = [_fields_of(row) async for row in repo.iterate()]
    report = verify_chain(rows, head_hash=head.hash if head is not None else None)
    log.info("ops.audit.verified", extra={"ok": report.ok, "rows": report.rows})
    return report


# ---- staff ----


def staff_snapshot(user: StaffUser) -> dict[str, Any]:
    """What the audit log keeps of a staff row (never the password hash)."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "is_active": user.is_active,
    }


def staff_principal(
    user: StaffUser, *, via: str, csrf_token: str | None, ip: str | None
) -> Principal:
    return Principal(
        ref=f"staff:{user.id}",
        name=user.username,
        role=Role(user.role),
        via=via,
        staff_id=user.id,
        csrf_token=csrf_token,
        ip=ip,
    )


async def create_staff(
    session: AsyncSession, *, actor: Principal, data: StaffCreate, now: datetime
) -> StaffUser:
    """Add a staff member (admin only; the CLI bootstraps the first admin). Audited."""
    repo = StaffRepository(session)
    if await repo.get_by_username(data.username) is not None:
        raise UsernameTakenError(data.username)
    passwords.check_password_policy(data.password, username=data.username)
    user = StaffUser(
        username=data.username,
        display_name=data.display_name,
        password_hash=passwords.hash_password(data.password),
        role=data.role.value,
        is_active=True,
        created_at=now,
        password_changed_at=now,
    )
    await repo.add(user)
    await record_audit(
        session,
        actor=actor,
        action="staff.create",
        target_type="staff",
        target_id=user.id,
        after=staff_snapshot(user),
        now=now,
    )
    return user


async def list_staff(session: AsyncSession) -> list[StaffUser]:
    return await StaffRepository(session).list_all()


async def _active_admins(repo: StaffRepository) -> set[int]:
    return {u.id for u in await repo.list_all() if u.is_active and u.role == Role.ADMIN}


async def update_staff(
    session: AsyncSession, *, actor: Principal, staff_id: int, data: StaffUpdate, now: datetime
) -> StaffUser:
    """Change role, name, active flag or password; the last active admin cannot be demoted."""
    repo = StaffRepository(session)
    user = await repo.get(staff_id)
    if user is None:
        raise StaffNotFoundError(staff_id)
    before = staff_snapshot(user)
    loses_admin = (data.role is not None and data.role != Role.ADMIN) or data.is_active is False
    if loses_admin and await _active_admins(repo) == {user.id}:
        raise NotAllowedError("the last active admin cannot be demoted or deactivated")
    if data.display_name is not None:
        user.display_name = data.display_name
    if data.role is not None:
        user.role = data.role.value
    if data.is_active is not None:
        user.is_active = data.is_active
    if data.password is not None:
        passwords.check_password_policy(data.password, username=user.username)
        user.password_hash = passwords.hash_password(data.password)
        user.password_changed_at = now
    await session.flush()
    after = {**staff_snapshot(user), "password_changed": data.password is not None}
    await record_audit(
        session,
        actor=actor,
        action="staff.update",
        target_type="staff",
        target_id=user.id,
        before=before,
        after=after,
        now=now,
    )
    return user


async def change_own_password(
    session: AsyncSession, *, actor: Principal, current: str, new: str, now: datetime
) -> None:
    if actor.staff_id is None:
        raise NotAllowedError("only staff members have passwords")
    user = await StaffRepository(session).get(actor.staff_id)
    if user is None or not passwords.verify_password(user.password_hash, current):
        raise BadCredentialsError()
    passwords.check_password_policy(new, username=user.username)
    user.password_hash = passwords.hash_password(new)
    user.password_changed_at = now
    await session.flush()
    await record_audit(
        session,
        actor=actor,
        action="staff.password_change",
        target_type="staff",
        target_id=user.id,
        now=now,
    )


# ---- sessions ----


async def login(
    session: AsyncSession,
    redis: Redis,
    *,
    username: str,
    password: str,
    ip: str | None,
    now: datetime,
) -> tuple[str, Principal]:
    """Check the password (throttled per username and address); a new session on success."""
    if await sessions.is_login_throttled(redis, username=username, ip=ip):
        log.warning("ops.login.throttled", extra={"username": username, "ip": ip})
        raise LoginThrottledError()
    user = await StaffRepository(session).get_by_username(username)
    stored = user.password_hash if user is not None else passwords.dummy_hash()
    valid = passwords.verify_password(stored, password)
    if user is None or not user.is_active or not valid:
        await sessions.record_login_failure(redis, username=username, ip=ip)
        log.warning("ops.login.failed", extra={"username": username, "ip": ip})
        raise BadCredentialsError()
    await sessions.clear_login_failures(redis, username=username)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = now
    token, data = await sessions.create_session(redis, staff_id=user.id, ip=ip, now=now.timestamp())
    principal = staff_principal(user, via="session", csrf_token=data.csrf_token, ip=ip)
    await record_audit(
        session,
        actor=principal,
        action="session.login",
        target_type="staff",
        target_id=user.id,
        now=now,
    )
    return token, principal


async def logout(
    session: AsyncSession, redis: Redis, *, actor: Principal, token: str | None, now: datetime
) -> None:
    await sessions.delete_session(redis, token)
    await record_audit(
        session,
        actor=actor,
        action="session.logout",
        target_type="staff",
        target_id=actor.staff_id,
        now=now,
    )


async def principal_from_session(
    session: AsyncSession, redis: Redis, *, token: str | None, ip: str | None
) -> Principal | None:
    """The staff member behind a session cookie; role and active flag read fresh each time."""
    data = await sessions.load_session(redis, token)
    if data is None:
        return None
    user = await StaffRepository(session).get(data.staff_id)
    if user is None or not user.is_active:
        await sessions.delete_session(redis, token)
        return None
    return staff_principal(user, via="session", csrf_token=data.csrf_token, ip=ip)


# ---- API keys ----


def _secret_digest(secret: str) -> str:
    # The secret is 256 random bits: a plain SHA-256 is enough (no password stretching needed).
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _api_key_snapshot(key: ApiKey) -> dict[str, Any]:
    return {
        "public_id": key.public_id,
        "name": key.name,
        "role": key.role,
        "revoked": key.revoked_at is not None,
    }


async def create_api_key(
    session: AsyncSession, *, actor: Principal, data: ApiKeyCreate, now: datetime
) -> tuple[ApiKey, str]:
    """A new key with a role; the full key string is returned once and never stored."""
    public_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    key = ApiKey(
        public_id=public_id,
        secret_sha256=_secret_digest(secret),
        name=data.name,
        role=data.role.value,
        created_by=actor.ref,
        created_at=now,
    )
    await ApiKeyRepository(session).add(key)
    await record_audit(
        session,
        actor=actor,
        action="api_key.create",
        target_type="api_key",
        target_id=key.id,
        after=_api_key_snapshot(key),
        now=now,
    )
    return key, f"{API_KEY_PREFIX}_{public_id}_{secret}"


async def list_api_keys(session: AsyncSession) -> list[ApiKey]:
    return await ApiKeyRepository(session).list_all()


async def revoke_api_key(
    session: AsyncSession, *, actor: Principal, key_id: int, now: datetime
) -> ApiKey:
    key = await ApiKeyRepository(session).get(key_id)
    if key is None:
        raise ApiKeyNotFoundError(key_id)
    before = _api_key_snapshot(key)
    if key.revoked_at is None:
        key.revoked_at = now
        await session.flush()
    await record_audit(
        session,
        actor=actor,
        action="api_key.revoke",
        target_type="api_key",
        target_id=key.id,
        before=before,
        after=_api_key_snapshot(key),
        now=now,
    )
    return key


async def principal_from_api_key(
    session: AsyncSession, *, raw: str, ip: str | None, now: datetime
) -> Principal | None:
    """`wxbk_<public_id>_<secret>` → the key's principal; anything else → None."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or len(raw) > 200:
        return None
    repo = ApiKeyRepository(session)
    key = await repo.get_active_by_public_id(parts[1])
    if key is None or not constant_time_equals(key.secret_sha256, _secret_digest(parts[2])):
        return None
    if key.last_used_at is None or now - key.last_used_at > API_KEY_TOUCH_INTERVAL:
        await repo.touch(key.id, now=now)
    return Principal(
        ref=f"api_key:{key.id}", name=key.name, role=Role(key.role), via="api_key", ip=ip
    )


# ---- four-eyes requests (menu publish) ----


def check_four_eyes(*, author: str, approver: Principal) -> None:
    """A change needs a second person: not its author, and a person (not a machine key)."""
    if approver.via == "api_key":
        raise NotAllowedError("approvals need a staff member's session, not an API key")
    if approver.ref == author:
        raise FourEyesError()


def request_snapshot(request: ApprovalRequest) -> dict[str, Any]:
    return {"kind": request.kind, "status": request.status, "subject": request.subject}


async def create_approval_request(
    session: AsyncSession,
    *,
    actor: Principal,
    kind: RequestKind,
    subject: dict[str, Any],
    now: datetime,
) -> ApprovalRequest:
    request = ApprovalRequest(
        kind=kind.value,
        status=RequestStatus.PENDING_APPROVAL.value,
        subject=subject,
        created_by=actor.ref,
        created_by_name=actor.name,
        created_at=now,
    )
    await ApprovalRepository(session).add(request)
    await record_audit(
        session,
        actor=actor,
        action=f"{kind.value}.request",
        target_type="approval_request",
        target_id=request.id,
        after=request_snapshot(request),
        now=now,
    )
    return request


async def list_approval_requests(
    session: AsyncSession, *, kind: RequestKind, limit: int = 50
) -> list[ApprovalRequest]:
    return await ApprovalRepository(session).list_recent(kind=kind.value, limit=limit)


async def _open_request(session: AsyncSession, request_id: int) -> ApprovalRequest:
    request = await ApprovalRepository(session).get(request_id, for_update=True)
    if request is None:
        raise ApprovalRequestNotFoundError(request_id)
    if request.status != RequestStatus.PENDING_APPROVAL:
        raise RequestStateError(f"request {request_id} is {request.status}, not pending approval")
    return request


async def request_menu_publish(
    session: AsyncSession, *, actor: Principal, version: int, note: str | None, now: datetime
) -> ApprovalRequest:
    """Ask for a menu version to be published; a second approver does it (four-eyes)."""
    menu = await content_service.get_menu_version(session, version)  # 404 when unknown
    subject = {"menu_version": menu.version, "note": note or ""}
    return await create_approval_request(
        session, actor=actor, kind=RequestKind.MENU_PUBLISH, subject=subject, now=now
    )


async def approve_menu_publish(
    session: AsyncSession,
    *,
    actor: Principal,
    request_id: int,
    wechat: WeChatClient,
    base_url: str,
    now: datetime,
) -> ApprovalRequest:
    """Four-eyes: a second approver publishes the requested version through content.service.

    A WeChat failure raises (content.menu_publish_failed) and the request stays pending.
    """
    request = await _open_request(session, request_id)
    check_four_eyes(author=request.created_by, approver=actor)
    before = request_snapshot(request)
    menu = await content_service.publish_menu_version(
        session,
        version=int(request.subject["menu_version"]),
        wechat=wechat,
        base_url=base_url,
        published_by=actor.name,
        now=now,
    )
    request.status = RequestStatus.DONE.value
    request.decided_by, request.decided_by_name, request.decided_at = actor.ref, actor.name, now
    request.result = {"version": menu.version, "status": menu.status}
    await session.flush()
    await record_audit(
        session,
        actor=actor,
        action="menu_publish.approve",
        target_type="approval_request",
        target_id=request.id,
        before=before,
        after=request_snapshot(request),
        now=now,
    )
    return request


async def close_approval_request(
    session: AsyncSession, *, actor: Principal, request_id: int, reject: bool, now: datetime
) -> ApprovalRequest:
    """Reject (an approver, not the author) or cancel (the author or an approver)."""
    request = await _open_request(session, request_id)
    if reject:
        check_four_eyes(author=request.created_by, approver=actor)
    elif actor.ref != request.created_by and actor.role not in (Role.APPROVER, Role.ADMIN):
        raise NotAllowedError("only the author or an approver can cancel a request")
    before = request_snapshot(request)
    status = RequestStatus.REJECTED if reject else RequestStatus.CANCELLED
    request.status = status.value
    request.decided_by, request.decided_by_name, request.decided_at = actor.ref, actor.name, now
    await session.flush()
    await record_audit(
        session,
        actor=actor,
        action=f"{request.kind}.{'reject' if reject else 'cancel'}",
        target_type="approval_request",
        target_id=request.id,
        before=before,
        after=request_snapshot(request),
        now=now,
    )
    return request
