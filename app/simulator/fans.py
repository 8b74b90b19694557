"""Fans (followers) of the simulated account and their tags."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.core.time import Clock
from app.simulator.errors import WeChatFault

MAX_TAGS = 100
MAX_TAGS_PER_FAN = 20
MAX_TAG_NAME_BYTES = 30
FIRST_TAG_ID = 100  # 0-2 are WeChat's reserved system tags


@dataclass
class Fan:
    openid: str
    subscribed: bool
    subscribe_time: int
    unionid: str | None = None
    subscribe_scene: str = "ADD_SCENE_OTHERS"
    qr_scene: int = 0
    qr_scene_str: str = ""
    remark: str = ""
    tag_ids: list[int] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        """`/cgi-bin/user/info` shape (nickname/avatar are no longer returned, FACTS §5.5)."""
        if not self.subscribed:
            return {"subscribe": 0, "openid": self.openid}
        body: dict[str, Any] = {
            "subscribe": 1,
            "openid": self.openid,
            "language": "zh_CN",
            "subscribe_time": self.subscribe_time,
            "remark": self.remark,
            "groupid": 0,
            "tagid_list": list(self.tag_ids),
            "subscribe_scene": self.subscribe_scene,
            "qr_scene": self.qr_scene,
            "qr_scene_str": self.qr_scene_str,
        }
        if self.unionid:
            body["unionid"] = self.unionid
        return body


@dataclass
class Tag:
    id: int
    name: str


class FanDirectory:
    """Known openids; with auto_fans on, an unknown openid becomes a subscribed fan."""

    def __init__(self, clock: Clock, *, auto_fans: bool) -> None:
        self._clock = clock
        self.auto_fans = auto_fans
        self.fans: dict[str, Fan] = {}
        self.tags: dict[int, Tag] = {}
        self._next_tag_id = FIRST_TAG_ID

    def upsert(
        self,
        openid: str,
        *,
        subscribed: bool,
        unionid: str | None = None,
        scene: str | None = None,
    ) -> Fan:
        fan = self.fans.get(openid)
        now = int(self._clock.timestamp())
        if fan is None:
            fan = Fan(openid=openid, subscribed=subscribed, subscribe_time=now)
            self.fans[openid] = fan
        elif subscribed and not fan.subscribed:
            fan.subscribe_time = now
        fan.subscribed = subscribed
        if unionid is not None:
            fan.unionid = unionid
        if scene is not None:
            fan.subscribe_scene, fan.qr_scene_str = "ADD_SCENE_QR_CODE", scene
        return fan

    def get(self, openid: object) -> Fan:
        """The fan, or 40003 for an openid this account does not know."""
        if not isinstance(openid, str) or not openid:
            raise WeChatFault(40003)
        fan = self.fans.get(openid)
        if fan is None:
            if not self.auto_fans:
                raise WeChatFault(40003)
            fan = self.upsert(openid, subscribed=True)
        return fan

    def subscribed_openids(self) -> list[str]:
        return [f.openid for f in self.fans.values() if f.subscribed]

    def create_tag(self, name: object) -> Tag:
        if not isinstance(name, str) or not name.strip():
            raise WeChatFault(45157)
        if len(name.encode("utf-8")) > MAX_TAG_NAME_BYTES:
            raise WeChatFault(45158)
        if any(t.name == name for t in self.tags.values()):
            raise WeChatFault(45157, "tag name already exists")
        if len(self.tags) >= MAX_TAGS:
            raise WeChatFault(45056)
        tag = Tag(self._next_tag_id, name)
        self.tags[tag.id] = tag
        self._next_tag_id += 1
        return tag

    def tag(self, tag_id: object) -> Tag:
        tag = self.tags.get(tag_id) if isinstance(tag_id, int) else None
        if tag is None:
            raise WeChatFault(45159)
        return tag

    def delete_tag(self, tag_id: object) -> None:
        tag = self.tag(tag_id)
        del self.tags[tag.id]
        for fan in self.fans.values():
            if tag.id in fan.tag_ids:
                fan.tag_ids.remove(tag.id)

    def members(self, tag_id: int) -> list[str]:
        return [f.openid for f in self.fans.values() if tag_id in f.tag_ids]

    def set_tag(self, openids: list[Fan], tag: Tag, *, on: bool) -> None:
        if on and any(
            tag.id not in f.tag_ids and len(f.tag_ids) >= MAX_TAGS_PER_FAN for f in openids
        ):
            raise WeChatFault(45059)
        for fan in openids:
            if on and tag.id not in fan.tag_ids:
                fan.tag_ids.append(tag.id)
            elif not on and tag.id in fan.tag_ids:
                fan.tag_ids.remove(tag.id)

    def tag_counts(self) -> list[dict[str, Any]]:
        return [
            {"id": t.id, "name": t.name, "count": len(self.members(t.id))}
            for t in self.tags.values()
        ]
