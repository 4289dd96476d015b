"""Freeze announcements at their offsets, at start and at end, once across replicas; and the
window-opened announcement when a waiting queue starts to drain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from builders import change, deployment

from bot.config.loader import load_config_text
from bot.core.decision import Notice, NoticeKind
from bot.slack.announcements import Announcer
from bot.slack.notifier import Pacer, SlackNotifier
from bot.store import MemoryStore

CONFIG = """
roles: {block: [U0BLOCK]}
projects:
  - name: shop
    channel: C0SHOP
    timezone: Europe/Berlin
    freezes:
      - id: year-end
        start: 2026-12-18 16:00
        end: 2027-01-04 09:00
        reason: Year-end <!channel> freeze
        announce: [1d, 1h]
    stages:
      - {name: beta, promotion: beta}
      - {name: prod, promotion: prod}
"""
START = datetime(2026, 12, 18, 15, 0, tzinfo=UTC)  # 16:00 in Berlin


class Posts:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, channel: str, message: dict[str, Any]) -> dict[str, Any]:
        self.messages.append((channel, message))
        return {"ts": "1.0"}


async def test_a_freeze_is_announced_ahead_at_start_and_at_end_once_each() -> None:
    posts = Posts()
    announcer = Announcer(load_config_text(CONFIG), MemoryStore(), posts)
    moments = [
        START - timedelta(days=1),
        START - timedelta(hours=1),
        START,
        datetime(2027, 1, 4, 8, 0, tzinfo=UTC),
    ]
    for moment in moments:
        assert await announcer.announce(moment - timedelta(seconds=30), moment) == 1
        assert await announcer.announce(moment - timedelta(seconds=30), moment) == 0  # claimed
    texts = [message["text"] for _, message in posts.messages]
    assert "starts in *1d*" in texts[0] and "starts in *1h*" in texts[1]
    assert "*started*" in texts[2] and "*ended*" in texts[3]
    assert all(channel == "C0SHOP" for channel, _ in posts.messages)
    assert all("&lt;!channel&gt;" in text and "<!channel>" not in text for text in texts)


async def test_two_replicas_announce_a_freeze_once() -> None:
    store, posts = MemoryStore(), Posts()
    config = load_config_text(CONFIG)
    replicas = [Announcer(config, store, posts) for _ in range(2)]
    for replica in replicas:
        await replica.announce(START - timedelta(minutes=1), START)
    assert len(posts.messages) == 1


async def test_nothing_is_announced_between_the_moments() -> None:
    posts = Posts()
    announcer = Announcer(load_config_text(CONFIG), MemoryStore(), posts)
    assert await announcer.announce(START + timedelta(minutes=1), START + timedelta(days=2)) == 0


class RecordingClient:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []

    async def chat_postMessage(self, **kw: Any) -> Any:
        self.posts.append(kw)
        return type("Answer", (), {"data": {"ts": f"1.{len(self.posts)}"}})()

    async def chat_update(self, **kw: Any) -> Any:
        return None


async def test_a_window_opening_on_a_waiting_queue_is_announced_in_the_channel() -> None:
    client = RecordingClient()
    config = load_config_text(CONFIG)
    notifier = SlackNotifier(client, config, MemoryStore(), clock=lambda: START, pacer=Pacer(0))  # type: ignore[arg-type]
    head = deployment(3, project="shop", stage="prod", change=change(3))
    notice = Notice(
        kind=NoticeKind.UNBLOCKED, project="shop", stage="prod", text="No blockers left",
        deployment=head, cleared=("window",),
    )  # fmt: skip
    await notifier.tell(notice)
    channel_posts = [p for p in client.posts if "thread_ts" not in p]
    assert any("Deploy window opened" in p["text"] for p in channel_posts)
