"""What the Slack listeners need, built once in the runtime."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncRespond
from slack_sdk.models.attachments import Attachment
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.config.models import DeploybotConfig
from bot.core.model import AuditEntry, StageState
from bot.orchestrator import Orchestrator
from bot.service.delivery import BoardFigures
from bot.service.drift import DriftReport
from bot.slack.roles import Role, Roles
from bot.slack.work import AfterAck
from bot.store import UNREACHABLE
from bot.store.base import Store

log = logging.getLogger(__name__)
#: The answer to a request made while the state store cannot be reached (issue 15 item 5).
STORE_DOWN = (
    ":warning: deploybot cannot reach its state store right now; nothing was done. "
    "Try again in a minute."
)


@dataclass
class SlackContext:
    config: DeploybotConfig
    orchestrator: Orchestrator
    store: Store
    roles: Roles
    clock: Callable[[], datetime]
    client: AsyncWebClient
    org: str | None = None
    #: The work requests leave after their ack.
    work: AfterAck = field(default_factory=AfterAck)
    #: The App Home's delivery figures, kept a while (None: the board shows none).
    figures: BoardFigures | None = None
    #: Stages drifted from the configuration, as `/deploy status` shows them (kept a minute).
    drift: DriftReport = field(init=False)

    def __post_init__(self) -> None:
        self.drift = DriftReport(self.config, self.store)

    async def allowed(
        self, user: str, project: str, stage: str | None, role: Role, what: str
    ) -> bool:
        """Whether `user` has `role` in `project`; a refusal is written to the audit log."""
        if await self.roles.allows(user, project, role):
            return True
        found = self.config.project(project)
        wave = found.wave(stage) if stage else []  # a wave's refusal: logged on its first target
        where = wave[0].name if wave else stage or found.stages[0].name
        entry = AuditEntry(at=self.clock(), project=project, stage=where, actor=user,
                           action="refused", detail=f"needs the {role} role to {what}")  # fmt: skip
        await self.store.record(entry, self.config.history_retention)
        return False

    async def states(self, project: str) -> dict[str, StageState]:
        return await self.orchestrator.states(project)

    async def states_of(self, projects: Iterable[str]) -> dict[str, dict[str, StageState]]:
        """The stages' states of `projects` (only those a reply shows: at 1,000 projects,
        reading all of them costs 1,000 round trips)."""
        return {project: await self.states(project) for project in projects}

    def zone(self, project: str, stage: str | None = None) -> str:
        config = self.config.project(project)
        return config.calendar(stage).timezone if stage else config.timezone

    def respond(self, respond: AsyncRespond) -> AsyncRespond:
        """Bolt's `respond` for this request, sent over the Slack client's shared session."""
        return SharedRespond(respond, self.client)

    def later(
        self, work: Coroutine[Any, Any, None], what: str, respond: AsyncRespond | None = None
    ) -> None:
        """Run `work` after the ack (Slack wants an answer within 3 s); see `bot.slack.work`.
        With `respond`, a person whose request meets an unreachable state store is told so
        (privately) instead of hearing nothing."""
        self.work.submit(work if respond is None else _answered(work, what, respond), what)


async def _answered(work: Coroutine[Any, Any, None], what: str, respond: AsyncRespond) -> None:
    try:
        await work
    except UNREACHABLE as exc:
        log.warning("slack: %s: the state store is unreachable (%s)", what, type(exc).__name__)
        await respond(text=STORE_DOWN, response_type="ephemeral", replace_original=False)


class SharedRespond(AsyncRespond):
    """Bolt's `respond` (same arguments, same message, same retries), except that the reply
    goes out over `client.session`, the one HTTP session `bot.slack.app.mount` gives the Slack
    client while the server runs, instead of a session (and a connection) made for each reply.
    Without a shared session, slack_sdk makes one for the reply as Bolt's `respond` does."""

    def __init__(self, respond: AsyncRespond, client: AsyncWebClient) -> None:
        super().__init__(response_url=respond.response_url, proxy=respond.proxy, ssl=respond.ssl)
        self.client = client

    async def __call__(
        self,
        text: str | dict[str, Any] = "",
        blocks: Sequence[dict[str, Any] | Block] | None = None,
        attachments: Sequence[dict[str, Any] | Attachment] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WebhookResponse:
        if self.response_url is None:
            raise ValueError("respond is unsupported here as there is no response_url")
        if isinstance(text, dict):
            message = _message(**text)
        else:
            message = _message(
                text=text, blocks=blocks, attachments=attachments, response_type=response_type,
                replace_original=replace_original, delete_original=delete_original,
                unfurl_links=unfurl_links, unfurl_media=unfurl_media, thread_ts=thread_ts,
                metadata=metadata,
            )  # fmt: skip
        webhook = AsyncWebhookClient(
            url=self.response_url, proxy=self.proxy, ssl=self.ssl, session=self.client.session
        )
        return await webhook.send_dict(message)


def _message(**fields: Any) -> dict[str, Any]:
    """A reply's JSON, as Bolt builds it: the fields given, blocks and attachments as dicts."""
    message: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None:
            continue
        if name in ("blocks", "attachments"):
            value = [v.to_dict() if isinstance(v, Block | Attachment) else v for v in value]
        message[name] = value
    return message
