"""Declarative WeChat router: match inbound messages to feature handlers.

Precedence, most specific first (documented in docs/webhook.md):
1. exact text and exact event-key routes (dictionary lookups);
2. event-key prefix routes, longest prefix first;
3. text and event-key regex routes, in registration order;
4. event-name routes, then message-type routes;
5. the default handler (or `success` when there is none).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.redis import Redis
from app.core.time import Clock
from app.wechat.messages import EventMessage, InboundMessage, TextMessage
from app.wechat.replies import Reply


@dataclass(frozen=True, slots=True)
class WebhookContext:
    """What a handler may use: shared resources, app state and the route's regex match."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis
    clock: Clock
    state: Any
    match: re.Match[str] | None = None
    route: str = ""
    # Values of the route's prefetch keys, read with the dedupe claim (None: key missing).
    prefetched: Mapping[str, bytes | None] = field(default_factory=dict)


Handler = Callable[[WebhookContext, InboundMessage], Awaitable[Reply | None]]
Middleware = Callable[[WebhookContext, InboundMessage, Handler], Awaitable[Reply | None]]
# The Redis keys a route's handler is going to read for a message; the webhook reads them in the
# dedupe claim's round trip and hands the values over in `WebhookContext.prefetched`.
Prefetch = Callable[[InboundMessage], Sequence[str]]
NO_PREFETCH: Mapping[str, bytes | None] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    handler: Handler
    middleware: tuple[Middleware, ...] = ()
    # Declared free of I/O (pure CPU, e.g. a cached keyword lookup): it cannot overrun the
    # budget, so the webhook runs it without the budget's task and timer.
    inline: bool = False
    # Passive text answered at the budget deadline when the handler overruns ("正在查询…");
    # None answers `success`. Either way the handler's reply follows as a CS message.
    interim: str | None = None
    # Redis keys read with the dedupe claim, so a cache-hit handler needs no round trip of its own.
    prefetch: Prefetch | None = None


@dataclass(frozen=True, slots=True)
class RouteOptions:
    inline: bool = False
    interim: str | None = None
    prefetch: Prefetch | None = None


@dataclass(frozen=True, slots=True)
class _RegexRoute:
    route: Route
    pattern: re.Pattern[str]
    event: str | None  # None: a text route; "" matches any event


@dataclass(frozen=True, slots=True)
class Resolution:
    route: Route
    match: re.Match[str] | None = None


def _norm_event(event: str) -> str:
    return event.strip().lower()


def _norm_text(text: str) -> str:
    return text.strip().casefold()


def _handler_name(handler: Handler) -> str:
    module = getattr(handler, "__module__", "") or ""
    return f"{module}.{getattr(handler, '__qualname__', repr(handler))}"


@dataclass
class WeChatRouter:
    """Features register routes here (`register(router)`); the webhook dispatches through it."""

    middleware: list[Middleware] = field(default_factory=list)
    _text_exact: dict[str, Route] = field(default_factory=dict)
    _key_exact: dict[tuple[str, str], Route] = field(default_factory=dict)
    _key_prefix: list[tuple[str, str, Route]] = field(default_factory=list)
    _regex: list[_RegexRoute] = field(default_factory=list)
    _events: dict[str, Route] = field(default_factory=dict)
    _types: dict[str, Route] = field(default_factory=dict)
    _default: Route | None = None

    # -- registration -------------------------------------------------------------------------

    def use(self, middleware: Middleware) -> None:
        """Middleware that wraps every route (outermost first, in registration order)."""
        self.middleware.append(middleware)

    def group(self, *, middleware: Sequence[Middleware]) -> RouteGroup:
        """Register several routes that share middleware (e.g. "requires a bound account")."""
        return RouteGroup(self, tuple(middleware))

    def message(
        self,
        msg_type: str,
        *,
        middleware: Sequence[Middleware] = (),
        inline: bool = False,
        interim: str | None = None,
        prefetch: Prefetch | None = None,
    ) -> Callable[[Handler], Handler]:
        """Any message of one MsgType (`text`, `image`, `location`, ...)."""
        key = msg_type.strip().lower()
        return self._decorator(
            lambda r: self._put(self._types, key, r),
            middleware,
            RouteOptions(inline, interim, prefetch),
        )

    def event(
        self,
        event: str | None = None,
        *,
        key: str | None = None,
        key_prefix: str | None = None,
        key_regex: str | None = None,
        middleware: Sequence[Middleware] = (),
        inline: bool = False,
        interim: str | None = None,
        prefetch: Prefetch | None = None,
    ) -> Callable[[Handler], Handler]:
        """An event (case-insensitive), optionally narrowed by its EventKey.

        `event=None` with a key matcher matches that key on any event.
        """
        if sum(x is not None for x in (key, key_prefix, key_regex)) > 1:
            raise ValueError("give at most one of key, key_prefix, key_regex")
        name = _norm_event(event) if event is not None else ""
        options = RouteOptions(inline, interim, prefetch)
        if key is not None:
            exact_key = key
            return self._decorator(
                lambda r: self._put(self._key_exact, (name, exact_key), r),
                middleware,
                options,
            )
        if key_prefix is not None:
            if not key_prefix:
                raise ValueError("key_prefix must not be empty")
            prefix = key_prefix
            return self._decorator(
                lambda r: self._add_prefix(name, prefix, r),
                middleware,
                options,
            )
        if key_regex is not None:
            pattern = re.compile(key_regex)
            return self._decorator(
                lambda r: self._regex.append(_RegexRoute(r, pattern, name)),
                middleware,
                options,
            )
        if not name:
            raise ValueError("event() needs an event name or a key matcher")
        return self._decorator(
            lambda r: self._put(self._events, name, r),
            middleware,
            options,
        )

    def text(
        self,
        exact: str | None = None,
        *,
        regex: str | None = None,
        flags: int = 0,
        middleware: Sequence[Middleware] = (),
        inline: bool = False,
        interim: str | None = None,
        prefetch: Prefetch | None = None,
    ) -> Callable[[Handler], Handler]:
        """Text messages: `exact` (trimmed, case-insensitive) or `regex` (`re.search`)."""
        if (exact is None) == (regex is None):
            raise ValueError("give exactly one of exact, regex")
        options = RouteOptions(inline, interim, prefetch)
        if exact is not None:
            text = _norm_text(exact)
            if not text:
                raise ValueError("exact text must not be blank")
            return self._decorator(
                lambda r: self._put(self._text_exact, text, r),
                middleware,
                options,
            )
        pattern = re.compile(regex or "", flags)
        return self._decorator(
            lambda r: self._regex.append(_RegexRoute(r, pattern, None)),
            middleware,
            options,
        )

    def default(
        self,
        handler: Handler | None = None,
        *,
        middleware: Sequence[Middleware] = (),
        inline: bool = False,
        interim: str | None = None,
        prefetch: Prefetch | None = None,
    ) -> Any:
        """The handler for anything no route matched (usable bare or as `@router.default()`)."""

        def set_default(route: Route) -> None:
            if self._default is not None:
                raise ValueError(f"default handler already set ({self._default.name})")
            self._default = route

        decorate = self._decorator(set_default, middleware, RouteOptions(inline, interim, prefetch))
        return decorate(handler) if handler is not None else decorate

    # -- dispatch ----------------------------------------------------------------------------

    def resolve(self, msg: InboundMessage) -> Resolution | None:
        """The route for a message, by the precedence in the module docstring."""
        if isinstance(msg, TextMessage):
            found = self._resolve_text(msg.content or "")
        elif isinstance(msg, EventMessage):
            found = self._resolve_event(_norm_event(msg.event), msg.event_key or "")
        else:
            found = None
        if found is not None:
            return found
        route = self._types.get(msg.msg_type.lower())
        if route is None:
            route = self._default
        return Resolution(route) if route is not None else None

    async def dispatch(self, ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
        """Resolve and run; None means answer `success`."""
        resolution = self.resolve(msg)
        return None if resolution is None else await self.run(resolution, ctx, msg)

    def runs_inline(self, resolution: Resolution) -> bool:
        """True when nothing on the route's path may do I/O (no middleware, inline handler)."""
        route = resolution.route
        return route.inline and not route.middleware and not self.middleware

    def prefetch_keys(self, resolution: Resolution | None, msg: InboundMessage) -> Sequence[str]:
        """The Redis keys the resolved route wants read with the dedupe claim (often none)."""
        if resolution is None or resolution.route.prefetch is None:
            return ()
        return resolution.route.prefetch(msg)

    async def run(
        self,
        resolution: Resolution,
        ctx: WebhookContext,
        msg: InboundMessage,
        prefetched: Mapping[str, bytes | None] = NO_PREFETCH,
    ) -> Reply | None:
        """Run a resolved route through the router's and the route's middleware."""
        route = resolution.route
        ctx = replace(ctx, match=resolution.match, route=route.name, prefetched=prefetched)
        chain = (*self.middleware, *route.middleware)
        return await _call_chain(chain, route.handler, ctx, msg)

    def _resolve_text(self, content: str) -> Resolution | None:
        route = self._text_exact.get(_norm_text(content))
        if route is not None:
            return Resolution(route)
        for item in self._regex:
            if item.event is None:
                match = item.pattern.search(content)
                if match is not None:
                    return Resolution(item.route, match)
        return None

    def _resolve_event(self, event: str, key: str) -> Resolution | None:
        route = self._key_exact.get((event, key)) or self._key_exact.get(("", key))
        if route is not None:
            return Resolution(route)
        for prefix_event, prefix, prefixed in self._key_prefix:
            if prefix_event in ("", event) and key.startswith(prefix):
                return Resolution(prefixed)
        for item in self._regex:
            if item.event is not None and item.event in ("", event):
                match = item.pattern.search(key)
                if match is not None:
                    return Resolution(item.route, match)
        route = self._events.get(event)
        return Resolution(route) if route is not None else None

    # -- helpers -------------------------------------------------------------------------------

    def _decorator(
        self, add: Callable[[Route], None], middleware: Sequence[Middleware], options: RouteOptions
    ) -> Callable[[Handler], Handler]:
        if options.interim is not None and not options.interim.strip():
            raise ValueError("interim text must not be blank")

        def decorate(handler: Handler) -> Handler:
            name = _handler_name(handler)
            add(
                Route(
                    name,
                    handler,
                    tuple(middleware),
                    options.inline,
                    options.interim,
                    options.prefetch,
                )
            )
            return handler

        return decorate

    @staticmethod
    def _put(table: dict[Any, Route], key: Any, route: Route) -> None:
        existing = table.get(key)
        if existing is not None:
            raise ValueError(f"route {key!r} already registered by {existing.name}")
        table[key] = route

    def _add_prefix(self, event: str, prefix: str, route: Route) -> None:
        self._key_prefix.append((event, prefix, route))
        # Longest prefix first; stable sort keeps registration order among equals.
        self._key_prefix.sort(key=lambda item: -len(item[1]))


class RouteGroup:
    """Registers routes on a router with extra middleware in front of each route's own."""

    def __init__(self, router: WeChatRouter, middleware: tuple[Middleware, ...]) -> None:
        self._router = router
        self._middleware = middleware

    def message(self, msg_type: str, **kw: Any) -> Callable[[Handler], Handler]:
        middleware = self._merge(kw)
        return self._router.message(msg_type, middleware=middleware, **kw)

    def event(self, event: str | None = None, **kw: Any) -> Callable[[Handler], Handler]:
        middleware = self._merge(kw)
        return self._router.event(event, middleware=middleware, **kw)

    def text(self, exact: str | None = None, **kw: Any) -> Callable[[Handler], Handler]:
        middleware = self._merge(kw)
        return self._router.text(exact, middleware=middleware, **kw)

    def _merge(self, kw: dict[str, Any]) -> tuple[Middleware, ...]:
        own: Sequence[Middleware] = kw.pop("middleware", ())
        return (*self._middleware, *own)


async def _call_chain(
    chain: Sequence[Middleware], handler: Handler, ctx: WebhookContext, msg: InboundMessage
) -> Reply | None:
    if not chain:
        return await handler(ctx, msg)
    first, rest = chain[0], chain[1:]

    async def call_next(next_ctx: WebhookContext, next_msg: InboundMessage) -> Reply | None:
        return await _call_chain(rest, handler, next_ctx, next_msg)

    return await first(ctx, msg, call_next)
