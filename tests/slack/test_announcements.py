"""Freeze announcements at their offsets, at start and at end, once across replicas; and the
window-opened announcement when a waiting queue starts to drain."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from builders import change, deployment

from bot.config.loader import load_config_text
from bot.core.decision import Notice, NoticeKind
from bot.slack.announcements import Announcer
from bot.slack.notifier import SlackNotifier
from bot.slack.pacing import Pacer
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


async def _scheduled_from_slack(store: MemoryStore, start: datetime, end: datetime) -> None:
    """What `/deploy freeze prod ...` leaves in the store: a freeze blocker on prod."""
    from bot.core.model import Blocker, BlockerKind
    from bot.store.base import Commit

    freeze = Blocker(
        id="f1", kind=BlockerKind.FREEZE, reason="DB <!here> migration", author="U0BLOCK",
        created_at=start - timedelta(days=3), starts_at=start, until=end,
    )  # fmt: skip
    state = await store.load("shop", "prod")
    commit = Commit(
        project="shop", stage="prod", event_id=f"freeze-{start.isoformat()}",
        expected_version=state.version,
        state=state.model_copy(update={"version": state.version + 1, "blockers": (freeze,)}),
    )  # fmt: skip
    await store.apply(commit)


SLACK_START = datetime(2026, 12, 9, 9, 0, tzinfo=UTC)


async def test_a_freeze_scheduled_from_slack_is_announced_like_a_configured_one() -> None:
    store, posts = MemoryStore(), Posts()
    announcer = Announcer(load_config_text(CONFIG), store, posts)
    await _scheduled_from_slack(store, SLACK_START, SLACK_START + timedelta(hours=4))
    day_before = SLACK_START - timedelta(days=1)
    assert await announcer.announce(day_before - timedelta(seconds=30), day_before) == 1
    assert await announcer.announce(SLACK_START - timedelta(seconds=30), SLACK_START) == 1
    texts = [message["text"] for _, message in posts.messages]
    assert "starts in *1d*" in texts[0] and "(prod)" in texts[0]
    assert "DB &lt;!here&gt; migration" in texts[0]
    assert "*started*" in texts[1]


async def test_a_rescheduled_freeze_is_announced_again() -> None:
    store, posts = MemoryStore(), Posts()
    announcer = Announcer(load_config_text(CONFIG), store, posts)
    await _scheduled_from_slack(store, SLACK_START, SLACK_START + timedelta(hours=4))
    hour_before = SLACK_START - timedelta(hours=1)
    assert await announcer.announce(hour_before - timedelta(seconds=30), hour_before) == 1
    later = SLACK_START + timedelta(minutes=30)  # moved by half an hour
    await _scheduled_from_slack(store, later, later + timedelta(hours=4))
    moment = later - timedelta(hours=1)
    assert await announcer.announce(moment - timedelta(seconds=30), moment) == 1
    assert len(posts.messages) == 2


async def test_announcements_missed_while_down_are_posted_late_once_if_the_freeze_lasts() -> None:
    store, posts = MemoryStore(), Posts()
    announcer = Announcer(load_config_text(CONFIG), store, posts)
    up_again = START + timedelta(hours=2)  # down from before the 1d notice until after the start
    late_before = up_again - timedelta(minutes=1)
    posted = await announcer.announce(
        up_again - timedelta(days=7), up_again, late_before=late_before
    )
    assert posted == 1  # the latest missed one (started), not all three
    [(_, message)] = posts.messages
    assert "*started*" in message["text"] and "Late: this was due" in message["text"]
    # after the freeze ended, nothing missed is posted
    ended = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    after_end = Announcer(load_config_text(CONFIG), MemoryStore(), posts)
    assert await after_end.announce(ended - timedelta(days=7), ended + timedelta(hours=1),
                                    late_before=ended + timedelta(minutes=59)) == 0  # fmt: skip


DIGEST_CONFIG = """
roles: {block: [U0BLOCK]}
projects:
  - name: shop
    channel: C0SHOP
    timezone: Europe/Berlin
    digest: mon 09:00
    stages:
      - {name: beta, promotion: beta}
      - {name: prod, promotion: prod}
"""


async def test_the_weekly_digest_is_posted_once_with_the_weeks_figures() -> None:
    """Issue 17: last week's figures of the last stage, the slowest change, the failures and
    who restored the stage, posted at the project's day and time, once across replicas."""
    from bot.core.model import DeploymentKind, DeploymentState
    from bot.store.base import Commit
    from tests.builders import change, deployment

    store, posts = MemoryStore(), Posts()
    config = load_config_text(DIGEST_CONFIG)
    monday = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    a = change(1, created_at=monday - timedelta(days=3), author="alice")
    b = change(2, created_at=monday - timedelta(days=2))
    ran = [
        deployment(1, DeploymentState.DONE, change=a, finished_at=a.created_at + timedelta(hours=2)),
        deployment(2, DeploymentState.FAILED, change=b, finished_at=b.created_at + timedelta(hours=1)),
        deployment(3, DeploymentState.SUCCEEDED, change=a, kind=DeploymentKind.ROLLBACK,
                   triggered_by="U0APPROVE", finished_at=b.created_at + timedelta(hours=1, minutes=5)),
    ]  # fmt: skip
    for n, done in enumerate(ran):
        state = await store.load("shop", "prod")
        await store.apply(Commit(project="shop", stage="prod", event_id=f"e{n}",
                                 expected_version=state.version,
                                 state=state.model_copy(update={"version": state.version + 1}),
                                 finished=(done,)))  # fmt: skip
    for c in (a, b):
        await store.record_change("shop", c)
    replicas = [Announcer(config, store, posts) for _ in range(2)]
    before = monday - timedelta(minutes=1)
    assert await replicas[0].digests(before - timedelta(days=1), before) == 0  # not yet
    assert [await r.digests(before, monday) for r in replicas] == [1, 0]
    [(channel, message)] = posts.messages
    text = json.dumps(message["blocks"])
    assert channel == "C0SHOP" and "shop/prod*: the week to Mon 07 Dec 09:00 CET" in text
    assert "Deployment frequency:* 0.14/day (1 deployment)" in text
    assert "Change failure rate:* 50% (1 of 2)" in text
    assert f"Slowest change:* `{a.sha[:7]}`, 2h from its CI pipeline to prod" in text
    assert f":x: `{b.sha[:7]}` failed; restored by <@U0APPROVE> in 5m" in text
