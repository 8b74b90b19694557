"""Binding a fan to brokerage accounts: OAuth H5 session, SMS code, verification, management.

Other features use `get_default_binding`, `get_binding_for_fan`, `bound_openids_select` and the
H5 session helpers (`read_session`, `start_oauth`). The password only passes through as the
counter's RSA ciphertext: it is never stored, logged or kept in memory longer than the request.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts import constants as c
from app.accounts import errors, pages, signing, texts
from app.accounts.binding_cache import BindingCache, cache_keys, invalidate_bindings
from app.accounts.models import AccountBinding, BindingAttempt
from app.accounts.ratelimit import RateLimiter
from app.accounts.repository import AttemptRepository, BindingRepository, bound_openids_stmt
from app.accounts.schemas import (
    BindingRead,
    BindingView,
    BindRequest,
    BindResult,
    FanSession,
    OAuthDone,
    OAuthStart,
    PublicKeyRead,
    SmsCodeSent,
    UnbindResult,
)
from app.brokerage import errors as counter
from app.brokerage.gateway import BrokerageGateway, Holder
from app.core.config import Settings
from app.core.db import unit_of_work
from app.core.errors import AppError
from app.core.redis import Redis
from app.core.security import constant_time_equals, mask_account_no, mask_openid
from app.core.time import Clock
from app.wechat.client import WeChatClient
from app.wechat.errors import WeChatError
from app.wechat.replies import Article, NewsReply

log = logging.getLogger(__name__)

OPENID_RE = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
# Dots for campaign codes (`/h5/campaigns/spring.2026`); no `..` segment, no `//`.
RETURN_PATH_RE = re.compile(r"^/h5/[A-Za-z0-9/_.-]{0,120}(\?[A-Za-z0-9=&_-]{0,200})?$")
STATE_PURPOSE = "oauth_state"
SESSION_PURPOSE = "session"
PHONE_FACT_TTL_S = 24 * 3600


# -- H5 session and OAuth ---------------------------------------------------------------------


def safe_return_path(path: str | None) -> str:
    """Only our own H5 pages are valid targets after OAuth (no open redirect)."""
    if path and RETURN_PATH_RE.fullmatch(path) and "//" not in path and ".." not in path:
        return path
    return c.BIND_PAGE_PATH


def start_oauth(
    *, wechat: WeChatClient, settings: Settings, clock: Clock, return_path: str | None
) -> OAuthStart:
    """The snsapi_base authorize URL with a signed, expiring state tied to a nonce cookie."""
    nonce = secrets.token_urlsafe(16)
    state = signing.sign(
        settings.secret_key.get_secret_value(),
        STATE_PURPOSE,
        {"n": nonce, "r": safe_return_path(return_path)},
        expires_at=clock.timestamp() + c.OAUTH_STATE_TTL_S,
    )
    redirect_uri = f"{settings.base_url}{c.OAUTH_CALLBACK_PATH}"
    url = wechat.oauth_authorize_url(redirect_uri=redirect_uri, state=state, scope="snsapi_base")
    return OAuthStart(authorize_url=url, nonce=nonce)


async def complete_oauth(
    *,
    wechat: WeChatClient,
    settings: Settings,
    clock: Clock,
    code: str | None,
    state: str | None,
    nonce_cookie: str | None,
) -> OAuthDone:
    """Check the state (signature, expiry, nonce cookie), exchange the code, open a session."""
    secret = settings.secret_key.get_secret_value()
    payload = signing.verify(secret, STATE_PURPOSE, state, now=clock.timestamp())
    if payload is None:
        raise errors.OAuthError("bad or expired state")
    if not nonce_cookie or not constant_time_equals(str(payload.get("n", "")), nonce_cookie):
        raise errors.OAuthError("state not issued to this browser")
    if not code or len(code) > 128:
        raise errors.OAuthError("missing code (fan refused?)")
    try:
        grant = await wechat.oauth_exchange_code(code)
    except WeChatError as exc:
        log.info("accounts.oauth.exchange_failed", extra={"error": type(exc).__name__})
        raise errors.OAuthError("code exchange failed") from exc
    openid = grant.get("openid")
    if not isinstance(openid, str) or not OPENID_RE.fullmatch(openid):
        raise errors.OAuthError("no usable openid in the grant")
    session_id = secrets.token_urlsafe(16)
    cookie = signing.sign(
        secret,
        SESSION_PURPOSE,
        {"o": openid, "s": session_id},
        expires_at=clock.timestamp() + c.SESSION_TTL_S,
    )
    log.info("accounts.oauth.ok", extra={"openid": mask_openid(openid)})
    return OAuthDone(
        session_cookie=cookie, return_path=safe_return_path(str(payload.get("r"))), openid=openid
    )


def issue_session(*, settings: Settings, clock: Clock, openid: str) -> str:
    """A session cookie value for `openid` (what a completed OAuth yields)."""
    return signing.sign(
        settings.secret_key.get_secret_value(),
        SESSION_PURPOSE,
        {"o": openid, "s": secrets.token_urlsafe(16)},
        expires_at=clock.timestamp() + c.SESSION_TTL_S,
    )


def read_session(*, settings: Settings, clock: Clock, cookie: str | None) -> FanSession | None:
    """The fan of a genuine, unexpired session cookie; None otherwise."""
    secret = settings.secret_key.get_secret_value()
    payload = signing.verify(secret, SESSION_PURPOSE, cookie, now=clock.timestamp())
    if payload is None:
        return None
    openid, session_id = payload.get("o"), payload.get("s")
    if not isinstance(openid, str) or not isinstance(session_id, str):
        return None
    return FanSession(openid, session_id, signing.csrf_token(secret, session_id))


def check_csrf(fan: FanSession, token: str | None) -> None:
    if not token or not constant_time_equals(token, fan.csrf_token):
        raise errors.CsrfError()


# -- counter errors → ours ----------------------------------------------------------------------


def translate_counter_error(exc: counter.BrokerageError) -> AppError:
    """Our fan-facing error for a counter failure during binding."""
    if isinstance(exc, counter.PasswordDecryptError):
        return errors.PasswordUndecryptableError()
    if isinstance(exc, counter.InvalidCredentialsError | counter.UnknownAccountError):
        left = exc.attempts_left if isinstance(exc, counter.InvalidCredentialsError) else None
        return errors.BadCredentialsError(left)
    if isinstance(exc, counter.InvalidSmsCodeError):
        return errors.BadSmsCodeError()
    if isinstance(exc, counter.AccountLockedError):
        return errors.AccountLockedError(exc.locked_until)
    if isinstance(exc, counter.MaintenanceError):
        return errors.CounterMaintenanceError(exc.window_end)
    if isinstance(exc, counter.RateLimitedError):
        return errors.RateLimitedError("counter", exc.retry_after_s or 60)
    return errors.CounterUnavailableError()


FAILED_CODES = {
    errors.BadCredentialsError.code,
    errors.BadSmsCodeError.code,
    errors.PasswordUndecryptableError.code,
    errors.AccountLockedError.code,
}
ERROR_CODES = {errors.CounterMaintenanceError.code, errors.CounterUnavailableError.code}


def _outcome_of(exc: AppError) -> c.AttemptOutcome:
    if exc.code in FAILED_CODES:
        return c.AttemptOutcome.FAILED
    if exc.code in ERROR_CODES:
        return c.AttemptOutcome.ERROR
    return c.AttemptOutcome.REFUSED


class _Audit:
    """Writes one audit row per attempt; failures get their own transaction, since the
    request's own transaction is rolled back with the error."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        openid: str,
        step: c.AttemptStep,
        account_no: str,
        ip: str,
        clock: Clock,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.row = {
            "openid": openid,
            "step": str(step),
            "account_no_masked": mask_account_no(account_no),
            "ip": ip[:45],
        }
        self.clock = clock

    def attempt(self, outcome: c.AttemptOutcome, reason: str) -> BindingAttempt:
        return BindingAttempt(
            **self.row, outcome=str(outcome), reason=reason[:64], at=self.clock.now()
        )

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        try:
            yield
        except counter.BrokerageError as exc:
            ours = translate_counter_error(exc)
            await self._failed(ours)
            raise ours from exc
        except AppError as exc:
            await self._failed(exc)
            raise

    async def _failed(self, exc: AppError) -> None:
        outcome = _outcome_of(exc)
        async with unit_of_work(self.sessionmaker) as session:
            await AttemptRepository(session).add(self.attempt(outcome, exc.code))
        log.info(
            "accounts.attempt.failed",
            extra={
                "step": self.row["step"],
                "openid": mask_openid(self.row["openid"]),
                "account_no": self.row["account_no_masked"],
                "reason": exc.code,
                "outcome": str(outcome),
            },
        )


# -- binding flow ------------------------------------------------------------------------------


async def get_public_key(*, gateway: BrokerageGateway) -> PublicKeyRead:
    """The counter's RSA key for the page to encrypt the password with."""
    try:
        key = await gateway.get_public_key()
    except counter.BrokerageError as exc:
        raise translate_counter_error(exc) from exc
    return PublicKeyRead(key_id=key.key_id, algorithm=key.algorithm, pem=key.pem)


async def _refuse_if_limited(limiter: RateLimiter, checks: list[tuple[c.Limit, str]]) -> None:
    for limit, subject in checks:
        wait = await limiter.retry_after(limit, subject)
        if wait is not None:
            raise errors.RateLimitedError(limit.name, wait)


async def _refuse_if_account_locked(limiter: RateLimiter, account_no: str) -> None:
    left = await limiter.locked_for("account", account_no)
    if left is not None:
        raise errors.AccountLockedError(ours_s=left)


async def request_sms_code(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    openid: str,
    account_no: str,
    ip: str,
    gateway: BrokerageGateway,
    limiter: RateLimiter,
) -> SmsCodeSent:
    """Ask the counter to text a code to the account's phone, inside the anti-bombing limits."""
    audit = _Audit(
        sessionmaker,
        openid=openid,
        step=c.AttemptStep.SMS,
        account_no=account_no,
        ip=ip,
        clock=limiter.clock,
    )
    async with audit.guard():
        phone = await limiter.recall("phone", account_no)
        checks = [(c.SMS_PER_OPENID, openid), (c.SMS_PER_OPENID_DAY, openid)]
        checks.append((c.SMS_PER_ACCOUNT, account_no))
        if phone:
            checks += [(c.SMS_PER_PHONE, phone), (c.SMS_PER_PHONE_DAY, phone)]
        await _refuse_if_limited(limiter, checks)
        await _refuse_if_account_locked(limiter, account_no)
        for limit, subject in checks[:3]:
            await limiter.hit(limit, subject)
        challenge = await gateway.send_sms_code(account_no=account_no)
        await limiter.remember("phone", account_no, challenge.phone_masked, PHONE_FACT_TTL_S)
        for limit in (c.SMS_PER_PHONE, c.SMS_PER_PHONE_DAY):
            await limiter.hit(limit, challenge.phone_masked)
    async with unit_of_work(sessionmaker) as session:
        await AttemptRepository(session).add(audit.attempt(c.AttemptOutcome.OK, "sms_sent"))
    minutes = max(1, int((challenge.expires_at - limiter.clock.now()).total_seconds()) // 60)
    return SmsCodeSent(
        phone_masked=challenge.phone_masked,
        resend_after_s=challenge.resend_after_s,
        message=texts.SMS_SENT.format(phone=challenge.phone_masked, minutes=minutes),
    )


def _check_consent(request: BindRequest) -> None:
    if not (request.consent_privacy and request.consent_financial):
        raise errors.ConsentRequiredError()
    if request.consent_version != c.CONSENT_VERSION:
        raise errors.ConsentOutdatedError()


async def _verify_with_counter(
    *, request: BindRequest, gateway: BrokerageGateway, limiter: RateLimiter
) -> Holder:
    try:
        return await gateway.verify_credentials(
            account_no=request.account_no,
            encrypted_password=request.encrypted_password.get_secret_value(),
            sms_code=request.sms_code,
        )
    except counter.AccountLockedError as exc:
        # Remember the counter's lock so further attempts stop here, before reaching it.
        now = limiter.clock.now()
        seconds = c.ACCOUNT_FAILURE_LOCK_S
        if exc.locked_until is not None and exc.locked_until > now:
            seconds = int((exc.locked_until - now).total_seconds()) + 1
        await limiter.lock("account", request.account_no, seconds)
        raise
    except (counter.InvalidCredentialsError, counter.InvalidSmsCodeError) as exc:
        if not isinstance(exc, counter.PasswordDecryptError):
            failures = await limiter.hit(c.VERIFY_FAILURES_PER_ACCOUNT, request.account_no)
            if failures >= c.VERIFY_FAILURES_PER_ACCOUNT.max_hits:
                await limiter.lock("account", request.account_no, c.ACCOUNT_FAILURE_LOCK_S)
        raise


async def bind_account(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    openid: str,
    request: BindRequest,
    ip: str,
    gateway: BrokerageGateway,
    limiter: RateLimiter,
) -> BindResult:
    """Verify password + SMS code with the counter, then store a masked binding. Audited."""
    audit = _Audit(
        sessionmaker,
        openid=openid,
        step=c.AttemptStep.VERIFY,
        account_no=request.account_no,
        ip=ip,
        clock=limiter.clock,
    )
    async with audit.guard():
        _check_consent(request)
        await _refuse_if_limited(limiter, [(c.VERIFY_PER_OPENID, openid)])
        await _refuse_if_account_locked(limiter, request.account_no)
        async with sessionmaker() as session:
            if await BindingRepository(session).count_active_by_openid(openid) >= (
                c.MAX_BINDINGS_PER_FAN
            ):
                raise errors.TooManyBindingsError(c.MAX_BINDINGS_PER_FAN)
        await limiter.hit(c.VERIFY_PER_OPENID, openid)
        holder = await _verify_with_counter(request=request, gateway=gateway, limiter=limiter)
        async with unit_of_work(sessionmaker) as session:
            binding = await _store_binding(
                session, openid=openid, holder=holder, now=limiter.clock.now()
            )
            await AttemptRepository(session).add(audit.attempt(c.AttemptOutcome.OK, "bound"))
    await invalidate_bindings(limiter.redis, openid)
    log.info(
        "accounts.bind.ok",
        extra={"openid": mask_openid(openid), "account_no": binding.account_no_masked},
    )
    view = to_view(binding)
    return BindResult(binding=view, message=texts.BOUND_OK.format(account=_label(view)))


async def _store_binding(
    session: AsyncSession, *, openid: str, holder: Holder, now: datetime
) -> BindingRead:
    bindings = BindingRepository(session)
    account = holder.verified_account
    for existing in await bindings.get_active_by_account(account.account_id):
        if existing.openid == openid:
            raise errors.AlreadyBoundError()
        raise errors.BoundElsewhereError()
    count = await bindings.count_active_by_openid(openid)
    if count >= c.MAX_BINDINGS_PER_FAN:
        raise errors.TooManyBindingsError(c.MAX_BINDINGS_PER_FAN)
    row = AccountBinding(
        openid=openid,
        client_id=holder.client_id,
        account_id=account.account_id,
        account_no_masked=mask_account_no(account.account_no),
        account_type=str(account.account_type),
        is_default=count == 0,
        consent_version=c.CONSENT_VERSION,
        consented_at=now,
        bound_at=now,
    )
    try:
        async with session.begin_nested():
            await bindings.add(row)
    except IntegrityError as exc:  # a concurrent bind of the same account by this fan won
        raise errors.AlreadyBoundError() from exc
    return _read(row)


# -- managing bindings -------------------------------------------------------------------------


def _read(row: AccountBinding) -> BindingRead:
    return BindingRead(
        id=row.id,
        openid=row.openid,
        client_id=row.client_id,
        account_id=row.account_id,
        account_no_masked=row.account_no_masked,
        account_type=row.account_type,
        is_default=row.is_default,
        bound_at=row.bound_at,
    )


def to_view(binding: BindingRead) -> BindingView:
    return BindingView(
        id=binding.id,
        account_no_masked=binding.account_no_masked,
        account_type=binding.account_type,
        account_type_name=texts.ACCOUNT_TYPE_NAMES.get(binding.account_type, ""),
        is_default=binding.is_default,
        bound_at=binding.bound_at,
    )


def _label(view: BindingView) -> str:
    return f"{view.account_type_name} {view.account_no_masked}".strip()


def describe_binding(binding: BindingRead) -> str:
    """`普通账户 ****1001`, as the fan sees an account in replies."""
    return _label(to_view(binding))


async def list_bindings(session: AsyncSession, *, openid: str) -> list[BindingRead]:
    """The fan's active bindings, default first."""
    return [_read(b) for b in await BindingRepository(session).list_active_by_openid(openid)]


def binding_cache_keys(openid: str) -> tuple[str, ...]:
    """The Redis keys `list_bindings_cached` reads, for a caller that prefetches them."""
    return cache_keys(openid)


async def list_bindings_cached(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    *,
    openid: str,
    prefetched: Mapping[str, bytes | None] | None = None,
) -> list[BindingRead]:
    """`list_bindings` through the per-fan binding cache (the account center's hot path).

    `prefetched`: values of `binding_cache_keys(openid)` already read (saves the MGET).
    """
    cache = BindingCache(redis)
    cached, generation = await cache.lookup(openid, prefetched)
    if cached is not None:
        return cached
    async with sessionmaker() as session:
        bindings = await list_bindings(session, openid=openid)
    if generation is not None:
        await cache.store(openid, generation, bindings)
    return bindings


async def bound_openids_among(session: AsyncSession, openids: Iterable[str]) -> set[str]:
    """The subset of `openids` with an active binding (bulk: one query per 1,000 fans)."""
    wanted = sorted(set(openids))
    repo = BindingRepository(session)
    found: set[str] = set()
    for start in range(0, len(wanted), 1000):  # keep IN lists bounded on both dialects
        found |= await repo.list_bound_openids(wanted[start : start + 1000])
    return found


async def get_default_binding(session: AsyncSession, openid: str) -> BindingRead | None:
    """The account queries run against: the default, else the most recent binding."""
    row = await BindingRepository(session).get_default_by_openid(openid)
    return _read(row) if row is not None else None


async def get_binding_for_fan(
    session: AsyncSession, *, openid: str, binding_id: int
) -> BindingRead:
    """One of the fan's own active bindings; anyone else's id is simply not found."""
    row = await BindingRepository(session).get_active_for_openid(openid, binding_id)
    if row is None:
        raise errors.BindingNotFoundError()
    return _read(row)


async def set_default_binding(
    session: AsyncSession, *, openid: str, binding_id: int
) -> list[BindingRead]:
    """Make one of the fan's bindings the default for queries."""
    bindings = BindingRepository(session)
    row = await bindings.get_active_for_openid(openid, binding_id)
    if row is None:
        raise errors.BindingNotFoundError()
    await bindings.clear_default(openid)
    row.is_default = True
    await session.flush()
    return await list_bindings(session, openid=openid)


async def unbind(
    session: AsyncSession, *, openid: str, binding_id: int, reason: c.UnbindReason, now: datetime
) -> UnbindResult:
    """End a binding (kept as history); the newest remaining one becomes the default."""
    bindings = BindingRepository(session)
    row = await bindings.get_active_for_openid(openid, binding_id)
    if row is None:
        raise errors.BindingNotFoundError()
    was_default = row.is_default
    await bindings.mark_unbound(row, at=now, reason=str(reason))
    new_default = None
    if was_default:
        successor = await bindings.get_default_by_openid(openid)
        if successor is not None:
            successor.is_default = True
            await session.flush()
            new_default = _read(successor)
    log.info("accounts.unbind", extra={"openid": mask_openid(openid), "reason": str(reason)})
    return UnbindResult(unbound=_read(row), new_default=new_default)


async def list_attempts(session: AsyncSession, *, openid: str) -> list[dict[str, Any]]:
    """The audit trail of one fan (ops and tests)."""
    rows = await AttemptRepository(session).list_by_openid(openid)
    return [
        {
            "step": r.step,
            "account_no_masked": r.account_no_masked,
            "outcome": r.outcome,
            "reason": r.reason,
            "ip": r.ip,
            "at": r.at,
        }
        for r in rows
    ]


def bind_prompt(settings: Settings) -> NewsReply:
    """The card an unbound fan gets: one tap opens the binding page (through OAuth)."""
    article = Article(
        title=texts.BIND_PROMPT_TITLE,
        description=texts.BIND_PROMPT_DESCRIPTION,
        url=f"{settings.base_url}{c.BIND_PAGE_PATH}",
    )
    return NewsReply([article])


def bound_openids_select(client_id: str) -> Select[str]:
    """SELECT of the openids actively bound to a brokerage client (for INSERT … SELECT)."""
    return bound_openids_stmt(client_id)


# Other features' H5 pages (account center, campaigns) start the same OAuth round trip.
oauth_redirect = pages.oauth_redirect
