"""The embedded in-process store: the same contract as Redis, nothing persisted.

Each method does its check-and-set without awaiting in between, so under asyncio every
operation is atomic exactly like the Redis scripts.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from bot.core.delivery import HISTORY_RETENTION, DeliveryRecord
from bot.core.model import AuditEntry, Change, Deployment, StageState
from bot.store.base import (
    CHANGES_LIMIT,
    DELIVERIES_LIMIT,
    HISTORY_LIMIT,
    SEEN_TTL,
    SHA_PREFIX,
    Applied,
    ChangeView,
    Commit,
    Done,
    delivery_member,
    new_epoch,
    stored_deliveries,
)

Stage = tuple[str, str]


class MemoryStore:
    persistent = False

    def __init__(self, clock: object = time.monotonic) -> None:
        self._clock = clock if callable(clock) else time.monotonic
        self._states: dict[Stage, StageState] = {}
        self._epoch = new_epoch()
        self._history: dict[Stage, list[Deployment]] = defaultdict(list)
        self._deliveries: dict[Stage, list[DeliveryRecord]] = defaultdict(list)
        self._audit: dict[Stage, list[AuditEntry]] = defaultdict(list)
        self._outbox: dict[Stage, list[str]] = defaultdict(list)
        self._expiring: dict[str, float] = {}
        self._threads: dict[tuple[str, str], str] = {}
        self._changes: dict[str, dict[str, Change]] = {}
        self._home: dict[str, float] = {}
        self._reconciled: dict[str, datetime] = {}
        self._counts: dict[str, tuple[int, float]] = {}

    def _live(self, key: str) -> bool:
        expires = self._expiring.get(key)
        return expires is not None and expires > self._clock()

    def _mark(self, key: str, ttl: timedelta) -> None:
        self._expiring[key] = self._clock() + ttl.total_seconds()

    async def load(self, project: str, stage: str) -> StageState:
        return self._states.get((project, stage)) or StageState(epoch=self._epoch)

    async def load_many(self, project: str, stages: list[str]) -> dict[str, StageState]:
        return {
            stage: self._states.get((project, stage)) or StageState(epoch=self._epoch)
            for stage in stages
        }

    async def apply(self, commit: Commit) -> Applied:
        stage = (commit.project, commit.stage)
        seen = f"seen:{commit.project}:{commit.stage}:{commit.event_id}"
        if self._live(seen):
            return Applied.DUPLICATE
        if self._states.get(stage, StageState()).version != commit.expected_version:
            return Applied.CONFLICT
        self._states[stage] = commit.state
        history = self._history[stage]
        history[:0] = reversed(commit.finished)
        del history[HISTORY_LIMIT:]
        if commit.finished:
            # As kept on Redis (times as float seconds), trimmed the same way.
            records = stored_deliveries([delivery_member(d) for d in commit.finished])
            kept = self._deliveries[stage]
            kept[:0] = reversed(records)
            cutoff = max(r.ended_at for r in records) - commit.keep
            while kept and kept[-1].ended_at < cutoff:
                kept.pop()
            del kept[DELIVERIES_LIMIT:]
        self._keep_audit(stage, commit.audit, commit.keep)
        self._outbox[stage].extend(commit.effects)
        if commit.change is not None:
            await self.record_change(commit.project, commit.change, commit.keep)
        self._mark(seen, SEEN_TTL)
        return Applied.APPLIED

    async def history(self, project: str, stage: str, limit: int = 50) -> list[Deployment]:
        return self._history[(project, stage)][:limit]

    async def deliveries(self, project: str, stage: str) -> list[DeliveryRecord]:
        return list(self._deliveries[(project, stage)])

    async def audit(self, project: str, stage: str, limit: int = 100) -> list[AuditEntry]:
        return self._audit[(project, stage)][-limit:]

    async def record(self, entry: AuditEntry, keep: timedelta = HISTORY_RETENTION) -> None:
        self._keep_audit((entry.project, entry.stage), (entry,), keep)

    def _keep_audit(
        self, stage: tuple[str, str], entries: Sequence[AuditEntry], keep: timedelta
    ) -> None:
        """Append `entries`; drop those made more than `keep` before the newest of them (as
        Redis does by its stream ids, which are the times entries were added)."""
        if not entries:
            return
        kept = self._audit[stage]
        kept.extend(entries)
        cutoff = max(e.at for e in entries) - keep
        kept[:] = [e for e in kept if e.at >= cutoff]

    async def outbox(self, project: str, stage: str) -> list[str]:
        return list(self._outbox[(project, stage)])

    async def ack(self, done: Done) -> None:
        for stage, effects in done.items():
            box = self._outbox[stage]
            for effect in effects:
                if effect in box:
                    box.remove(effect)

    async def thread(self, project: str, sha: str) -> str | None:
        return self._threads.get((project, sha))

    async def change_view(
        self, project: str, stages: list[str], sha: str, history: int = 20
    ) -> ChangeView:
        return ChangeView(
            states=await self.load_many(project, stages),
            history={stage: self._history[(project, stage)][:history] for stage in stages},
            thread=self._threads.get((project, sha)),
        )

    async def record_change(
        self, project: str, change: Change, keep: timedelta = HISTORY_RETENTION
    ) -> None:
        kept = self._changes.setdefault(project, {})
        known = kept.get(change.sha)
        if known is not None and not change.author:  # keep the richer record, in its place
            change = known.model_copy(update={"created_at": change.created_at})
        kept[change.sha] = change
        cutoff = change.created_at - keep
        for old in [sha for sha, c in kept.items() if c.created_at < cutoff]:
            del kept[old]
        if len(kept) > CHANGES_LIMIT:
            oldest = sorted(kept.items(), key=lambda item: item[1].created_at)
            for member, _ in oldest[: len(kept) - CHANGES_LIMIT]:
                del kept[member]

    async def change_times(self, project: str) -> dict[str, datetime]:
        return {  # as Redis keeps them: a score (float seconds), as delivery records do
            sha: datetime.fromtimestamp(c.created_at.timestamp(), UTC)
            for sha, c in self._changes.get(project, {}).items()
        }

    async def changes(
        self, project: str, after: datetime | None, upto: datetime, limit: int
    ) -> tuple[list[Change], int]:
        found = [
            change
            for change in self._changes.get(project, {}).values()
            if (after is None or change.created_at > after) and change.created_at <= upto
        ]
        found.sort(key=lambda change: change.created_at, reverse=True)
        return found[:limit], len(found)

    async def find_change(self, project: str, sha: str) -> Change | None:
        if not SHA_PREFIX.fullmatch(sha):
            return None
        kept = self._changes.get(project, {}).values()
        matching = [c for c in kept if c.sha.startswith(sha.lower())]
        return max(matching, key=lambda change: change.created_at, default=None)

    async def set_thread(self, project: str, sha: str, ts: str) -> str:
        return self._threads.setdefault((project, sha), ts)

    async def saw_home(self, user: str, at: float) -> None:
        self._home[user] = at

    async def home_viewers(self, since: float) -> list[str]:
        self._home = {user: at for user, at in self._home.items() if at >= since}
        return list(self._home)

    async def reconciled(self) -> dict[str, datetime]:
        return dict(self._reconciled)

    async def mark_reconciled(self, at: Mapping[str, datetime]) -> None:
        self._reconciled.update(at)

    async def count(self, name: str, add: int, ttl: timedelta) -> int:
        total, expires = self._counts.get(name, (0, 0.0))
        if expires <= self._clock():
            total, expires = 0, self._clock() + ttl.total_seconds()
        self._counts[name] = (total + add, expires)
        return total + add

    async def claim(self, name: str, ttl: timedelta) -> bool:
        key = f"claim:{name}"
        if self._live(key):
            return False
        self._mark(key, ttl)
        return True

    async def release(self, name: str) -> None:
        self._expiring.pop(f"claim:{name}", None)

    async def stored_stages(self) -> list[tuple[str, str]]:
        return sorted(self._states)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None
