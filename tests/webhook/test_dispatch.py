"""The declarative WeChatRouter: matching precedence, middleware, default handler."""

from __future__ import annotations

from typing import Any

import pytest

from app.core.time import FakeClock
from app.webhook.dispatch import Handler, WebhookContext, WeChatRouter
from app.wechat.messages import (
    ClickEvent,
    ImageMessage,
    InboundMessage,
    SubscribeEvent,
    TextMessage,
    UnknownEvent,
)
from app.wechat.replies import Reply, TextReply
from tests.conftest import make_settings

HEAD: dict[str, Any] = {"to_user": "gh_1", "from_user": "o_1", "create_time": 1700000000}
CTX = WebhookContext(
    settings=make_settings(),
    sessionmaker=None,
    redis=None,
    clock=FakeClock(),
    state=None,  # type: ignore[arg-type]
)


def text(content: str) -> TextMessage:
    return TextMessage(**HEAD, msg_type="text", content=content, msg_id=1)


def click(key: str) -> ClickEvent:
    return ClickEvent(**HEAD, msg_type="event", event="click", event_key=key)


def answer(label: str) -> Handler:
    async def handler(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
        match = ctx.match.group(0) if ctx.match else ""
        return TextReply(f"{label}|{match}")

    handler.__qualname__ = f"answer_{label}"
    return handler


async def run(router: WeChatRouter, msg: InboundMessage) -> str | None:
    reply = await router.dispatch(CTX, msg)
    return reply.content if isinstance(reply, TextReply) else None


@pytest.fixture
def router() -> WeChatRouter:
    r = WeChatRouter()
    r.text("持仓")(answer("exact"))
    r.text(regex=r"^查询(\w+)")(answer("regex"))
    r.message("text")(answer("any_text"))
    r.event("CLICK", key="MENU_A")(answer("key_exact"))
    r.event("click", key_prefix="MENU_")(answer("prefix_short"))
    r.event("click", key_prefix="MENU_ACC_")(answer("prefix_long"))
    r.event("click", key_regex=r"^ITEM_(\d+)$")(answer("key_regex"))
    r.event("click")(answer("any_click"))
    r.event(key="SHARED")(answer("any_event_key"))
    r.default(answer("default"))
    return r


class TestTextMatching:
    async def test_exact_text_is_trimmed_and_case_insensitive(self, router: WeChatRouter) -> None:
        assert await run(router, text("  持仓 ")) == "exact|"

    async def test_exact_wins_over_a_matching_regex(self, router: WeChatRouter) -> None:
        router.text(regex="持")(answer("late_regex"))
        assert await run(router, text("持仓")) == "exact|"

    async def test_regex_exposes_its_match(self, router: WeChatRouter) -> None:
        assert await run(router, text("查询余额")) == "regex|查询余额"

    async def test_unmatched_text_falls_to_the_message_type_route(
        self, router: WeChatRouter
    ) -> None:
        assert await run(router, text("你好")) == "any_text|"


class TestEventMatching:
    async def test_exact_key_beats_prefix(self, router: WeChatRouter) -> None:
        assert await run(router, click("MENU_A")) == "key_exact|"

    async def test_longest_prefix_wins_regardless_of_registration_order(
        self, router: WeChatRouter
    ) -> None:
        assert await run(router, click("MENU_ACC_POSITIONS")) == "prefix_long|"
        assert await run(router, click("MENU_OTHER")) == "prefix_short|"

    async def test_key_regex_then_event_name(self, router: WeChatRouter) -> None:
        assert await run(router, click("ITEM_42")) == "key_regex|ITEM_42"
        assert await run(router, click("SOMETHING")) == "any_click|"

    async def test_key_route_without_event_matches_any_event(self, router: WeChatRouter) -> None:
        assert await run(router, click("SHARED")) == "any_event_key|"

    async def test_event_names_are_case_insensitive(self) -> None:
        router = WeChatRouter()
        router.event("Subscribe")(answer("welcome"))
        msg = SubscribeEvent(**HEAD, msg_type="event", event="subscribe")
        assert await run(router, msg) == "welcome|"

    async def test_unknown_event_and_other_types_reach_the_default(
        self, router: WeChatRouter
    ) -> None:
        unknown = UnknownEvent(**HEAD, msg_type="event", event="some_new_event_2099")
        image = ImageMessage(**HEAD, msg_type="image", pic_url="u", media_id="m", msg_id=2)
        assert await run(router, unknown) == "default|"
        assert await run(router, image) == "default|"

    async def test_without_default_nothing_matches(self) -> None:
        assert await WeChatRouter().dispatch(CTX, text("hi")) is None
        assert WeChatRouter().resolve(text("hi")) is None


class TestMiddleware:
    async def test_route_middleware_can_short_circuit(self) -> None:
        calls: list[str] = []

        async def requires_binding(ctx: WebhookContext, msg: InboundMessage, call_next: Any) -> Any:
            calls.append("guard")
            return TextReply("请先绑定账户")

        async def handler(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
            calls.append("handler")
            return TextReply("positions")

        router = WeChatRouter()
        router.text("持仓", middleware=[requires_binding])(handler)

        assert await run(router, text("持仓")) == "请先绑定账户"
        assert calls == ["guard"]

    async def test_global_then_group_then_route_middleware_wrap_in_order(self) -> None:
        order: list[str] = []

        def tag(name: str) -> Any:
            async def middleware(ctx: WebhookContext, msg: InboundMessage, call_next: Any) -> Any:
                order.append(name)
                return await call_next(ctx, msg)

            return middleware

        router = WeChatRouter()
        router.use(tag("global"))
        group = router.group(middleware=[tag("group")])
        group.text("hi", middleware=[tag("route")])(answer("ok"))

        assert await run(router, text("hi")) == "ok|"
        assert order == ["global", "group", "route"]

    async def test_context_carries_the_route_name(self) -> None:
        seen: list[str] = []

        async def handler(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
            seen.append(ctx.route)
            return None

        router = WeChatRouter()
        router.text("x")(handler)
        await router.dispatch(CTX, text("x"))
        assert seen == [f"{handler.__module__}.{handler.__qualname__}"]


class TestInline:
    def test_inline_only_without_any_middleware(self) -> None:
        async def guard(ctx: WebhookContext, msg: InboundMessage, call_next: Any) -> Any:
            return await call_next(ctx, msg)

        router = WeChatRouter()
        router.text("a", inline=True)(answer("a"))
        router.text("b", inline=True, middleware=[guard])(answer("b"))
        router.text("c")(answer("c"))

        def inline(content: str) -> bool:
            resolution = router.resolve(text(content))
            assert resolution is not None
            return router.runs_inline(resolution)

        assert (inline("a"), inline("b"), inline("c")) == (True, False, False)
        router.use(guard)
        assert inline("a") is False


class TestInterim:
    def test_routes_carry_their_declared_interim_text(self) -> None:
        async def guard(ctx: WebhookContext, msg: InboundMessage, call_next: Any) -> Any:
            return await call_next(ctx, msg)

        router = WeChatRouter()
        router.text("slow", interim="正在查询…")(answer("slow"))
        router.event("click", key="K", interim="请稍候")(answer("k"))
        router.group(middleware=[guard]).message("image", interim="处理中")(answer("img"))
        router.text("plain")(answer("plain"))

        def interim_of(msg: InboundMessage) -> str | None:
            resolution = router.resolve(msg)
            assert resolution is not None
            return resolution.route.interim

        image = ImageMessage(**HEAD, msg_type="image", pic_url="u", media_id="m", msg_id=2)
        assert interim_of(text("slow")) == "正在查询…"
        assert interim_of(click("K")) == "请稍候"
        assert interim_of(image) == "处理中"
        assert interim_of(text("plain")) is None

    async def test_a_route_declares_its_prefetch_keys_and_sees_the_values(self) -> None:
        seen: list[object] = []

        async def handler(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
            seen.append(dict(ctx.prefetched))
            return None

        router = WeChatRouter()
        router.text("q", prefetch=lambda msg: [f"cache:{msg.from_user}"])(handler)
        router.text("plain")(answer("plain"))

        resolution = router.resolve(text("q"))
        assert router.prefetch_keys(resolution, text("q")) == ["cache:o_1"]
        assert router.prefetch_keys(router.resolve(text("plain")), text("plain")) == ()
        assert router.prefetch_keys(None, text("nothing")) == ()
        assert resolution is not None
        await router.run(resolution, CTX, text("q"), {"cache:o_1": b"v"})
        assert seen == [{"cache:o_1": b"v"}]

    def test_a_blank_interim_text_is_refused(self) -> None:
        with pytest.raises(ValueError, match="interim text must not be blank"):
            WeChatRouter().text("x", interim="  ")


class TestRegistrationErrors:
    def test_duplicate_exact_routes_are_refused(self, router: WeChatRouter) -> None:
        with pytest.raises(ValueError, match="already registered"):
            router.text("持仓")(answer("again"))

    def test_second_default_is_refused(self, router: WeChatRouter) -> None:
        with pytest.raises(ValueError, match="default handler already set"):
            router.default(answer("again"))

    def test_conflicting_key_matchers_are_refused(self) -> None:
        with pytest.raises(ValueError, match="at most one"):
            WeChatRouter().event("click", key="a", key_prefix="b")

    def test_text_needs_exactly_one_matcher(self) -> None:
        with pytest.raises(ValueError, match="exactly one"):
            WeChatRouter().text()

    def test_invalid_regex_fails_at_registration(self) -> None:
        with pytest.raises(Exception, match="unterminated"):
            WeChatRouter().text(regex="(")
