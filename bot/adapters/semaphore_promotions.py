"""What Semaphore says became of a deployment's promotion: its pipeline, still on the way, or
given up, with Semaphore's reason.

The trigger's 200 only means Gofer recorded it. The promotions list then shows it
`processing` until its pipeline is scheduled (`passed`, with the pipeline's id) or Gofer gives
up (`failed`; the list gives no reason). A promotion with a deployment target also has a
history entry, PENDING at first, whose `state_message` says why it failed; one the target
refused when Gofer checked it again never gets a row in the promotions list, only a FAILED
entry.

A deployment's promotion is the newest trigger of its promotion on its source pipeline that
Semaphore recorded after the deployment started (less `SKEW` for the clocks) and after the
previous attempt's trigger (`Deployment.previous_trigger_at`), and whose pipeline, if it has
one, is not another deployment's (a rollback promotes again what a roll-forward promoted a
moment before). A promotion with a deployment target is recorded in the target's history as
soon as it is accepted, so the newest entry is the deployment's own; the promotions list has a
row for it at once only without a target.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.core.model import Deployment
from semaphore_client import Deployment as HistoryEntry
from semaphore_client import (
    DeploymentState,
    Forbidden,
    NotFound,
    Promotion,
    PromotionStatus,
    SemaphoreClient,
)

#: How far before our own start time a promotion may look triggered (clock skew).
SKEW = timedelta(seconds=30)
EARLIEST = datetime.min.replace(tzinfo=UTC)
#: Answers that repeating the same call will not change.
PERMANENT = (NotFound, Forbidden)


@dataclass(frozen=True)
class PromotionNews:
    #: The promoted pipeline, once Semaphore scheduled it.
    pipeline_id: str = ""
    #: Why Semaphore gave up on the promotion (empty while it has not).
    failed: str = ""
    #: When Semaphore recorded the trigger (its clock); None while no trace of it is seen.
    triggered_at: datetime | None = None

    @property
    def seen(self) -> bool:
        return self.triggered_at is not None or bool(self.pipeline_id)


class PromotionLookup:
    def __init__(self, client: SemaphoreClient) -> None:
        self.client = client

    async def news(
        self,
        deployment: Deployment,
        promotion: str,
        target_id: str | None,
        taken: Collection[str] = (),
    ) -> PromotionNews:
        """What became of `deployment`'s trigger of `promotion` (`target_id`: the stage's
        deployment target, whose history explains a failure, or None; `taken`: pipelines of
        the stage's other deployments)."""
        listed = await self.client.list_promotions(deployment.source_pipeline_id, name=promotion)
        rows = [
            row
            for row in listed
            if _mine(deployment, row.triggered_at) and row.scheduled_pipeline_id not in taken
        ]
        row = max(rows, key=_triggered, default=None)
        if row is not None and row.scheduled_pipeline_id:
            return PromotionNews(row.scheduled_pipeline_id, "", row.triggered_at)
        entry = await self._history_entry(deployment, target_id, taken)
        if entry is not None:
            return _from_history(entry, row)
        if row is None:
            return PromotionNews()
        if row.status is PromotionStatus.PROCESSING:
            return PromotionNews(triggered_at=row.triggered_at or deployment.started_at)
        return PromotionNews(failed="it was never scheduled", triggered_at=row.triggered_at)

    async def _history_entry(
        self, deployment: Deployment, target_id: str | None, taken: Collection[str]
    ) -> HistoryEntry | None:
        if target_id is None:
            return None
        try:
            page = await self.client.deployment_history(target_id)
        except PERMANENT:  # deployment targets not enabled, or the target is gone
            return None
        entries = [
            entry
            for entry in page.deployments
            if entry.prev_pipeline_id == deployment.source_pipeline_id
            and _mine(deployment, entry.triggered_at)
            and entry.pipeline_id not in taken
        ]
        return max(entries, key=_triggered, default=None)


def _from_history(entry: HistoryEntry, row: Promotion | None) -> PromotionNews:
    """The entry's news; when seen, the later of its time (whole seconds) and the newest row's
    (the same trigger's, to the microsecond, or an older one's)."""
    times = [t for t in (entry.triggered_at, row.triggered_at if row else None) if t is not None]
    seen = max(times) if times else None
    if entry.pipeline_id:
        return PromotionNews(entry.pipeline_id, "", seen)
    if entry.state is DeploymentState.FAILED:
        return PromotionNews(failed=entry.state_message or "failed", triggered_at=seen)
    return PromotionNews(triggered_at=seen)


def _mine(deployment: Deployment, triggered: datetime | None) -> bool:
    if triggered is None:
        return True
    since = (deployment.started_at or deployment.created_at) - SKEW
    previous = deployment.previous_trigger_at
    return triggered >= since and (previous is None or triggered > previous)


def _triggered(item: Promotion | HistoryEntry) -> datetime:
    return item.triggered_at or EARLIEST
