"""A change's message after a burst: the stages it passed are shown as it ended there, even
when newer deployments pushed its own out of the short history the message is drawn from
(found by the burst benchmark: "beta not yet" on changes live in prod)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.config.loader import load_config_text
from bot.core.decision import Notice, NoticeKind
from bot.core.model import DeploymentState
from bot.slack.notifier import VIEW_HISTORY, SlackNotifier
from bot.slack.pacing import Pacer
from bot.store.base import Commit
from bot.store.memory import MemoryStore
from tests.builders import change, deployment

CONFIG = """
roles: {block: [U0BLOCK]}
projects:
  - name: shop
    channel: C0SHOP
    stages:
      - {name: beta, promotion: beta}
      - {name: prod, promotion: prod}
"""
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


class Client:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def chat_postMessage(self, **kw: Any) -> Any:
        self.calls.append(kw)
        return type("Answer", (), {"data": {"ts": f"1.{len(self.calls)}"}})()

    async def chat_update(self, **kw: Any) -> Any:
        self.calls.append(kw)


async def finish(store: MemoryStore, stage: str, *done: Any) -> None:
    state = await store.load("shop", stage)
    await store.apply(
        Commit(
            project="shop",
            stage=stage,
            event_id=f"e-{stage}-{done[0].id}",
            expected_version=state.version,
            state=state.model_copy(update={"version": state.version + 1}),
            finished=tuple(done),
        )
    )


async def test_a_stage_the_change_passed_is_shown_done_however_many_came_after() -> None:
    store, client = MemoryStore(), Client()
    notifier = SlackNotifier(client, load_config_text(CONFIG), store, clock=lambda: NOW,  # type: ignore[arg-type]
                             pacer=Pacer(0))  # fmt: skip
    live = change(1)
    on_beta = deployment(1, DeploymentState.DONE, stage="beta", change=live, finished_at=NOW)
    await finish(store, "beta", on_beta)
    later = [
        deployment(
            n, DeploymentState.SUPERSEDED, stage="beta", id=f"shop/beta/d{n}", finished_at=NOW
        )
        for n in range(2, VIEW_HISTORY + 7)
    ]
    for d in later:
        await finish(store, "beta", d)
    on_prod = deployment(1, DeploymentState.DONE, stage="prod", change=live, finished_at=NOW)
    await finish(store, "prod", on_prod)
    notice = Notice(kind=NoticeKind.DONE, project="shop", stage="prod", text="done",
                    deployment=on_prod)  # fmt: skip
    await notifier.tell(notice)
    [parent] = [c for c in client.calls if "thread_ts" not in c]
    stages = next(b for b in parent["blocks"] if b.get("block_id", "").endswith(":stages"))
    text = stages["text"]["text"]
    assert "*beta*  :white_check_mark: done" in text, text
    assert "*prod*  :white_check_mark: done" in text, text
