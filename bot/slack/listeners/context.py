"""What the Slack listeners need, built once in the runtime."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.config.models import DeploybotConfig
from bot.core.model import AuditEntry, StageState
from bot.orchestrator import Orchestrator
from bot.slack.roles import Role, Roles
from bot.store.base import Store

log = logging.getLogger(__name__)


@dataclass
class SlackContext:
    config: DeploybotConfig
    orchestrator: Orchestrator
    store: Store
    roles: Roles
    clock: Callable[[], datetime]
    client: AsyncWebClient
    org: str | None = None
    #: Who looked at the App Home lately (user id -> when), to re-publish it on changes.
    home_viewers: dict[str, float] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def allowed(
        self, user: str, project: str, stage: str | None, role: Role, what: str
    ) -> bool:
        """Whether `user` has `role` in `project`; a refusal is written to the audit log."""
        if await self.roles.allows(user, project, role):
            return True
        where = stage or self.config.project(project).stages[0].name
        entry = AuditEntry(at=self.clock(), project=project, stage=where, actor=user,
                           action="refused", detail=f"needs the {role} role to {what}")  # fmt: skip
        await self.store.record(entry)
        return False

    async def states(self, project: str) -> dict[str, StageState]:
        return await self.orchestrator.states(project)

    async def all_states(self) -> dict[str, dict[str, StageState]]:
        return {p.name: await self.states(p.name) for p in self.config.projects}

    def zone(self, project: str, stage: str | None = None) -> str:
        config = self.config.project(project)
        return config.calendar(stage).timezone if stage else config.timezone

    def later(self, work: Coroutine[Any, Any, None], what: str) -> None:
        """Run `work` after the ack (Slack wants an answer within 3 s); log if it fails."""

        async def guarded() -> None:
            try:
                await work
            except Exception:
                log.exception("slack: %s failed", what)

        task = asyncio.create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
