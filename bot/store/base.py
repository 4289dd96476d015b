"""The store's contract: what the service needs kept, whichever backend keeps it.

`RedisStore` and `MemoryStore` both pass tests/store/test_contract.py.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from bot.core.delivery import HISTORY_RETENTION, DeliveryRecord, record_of
from bot.core.model import (
    AuditEntry,
    Change,
    Deployment,
    DeploymentKind,
    DeploymentState,
    Frozen,
    StageState,
)

#: Finished deployments kept per stage, whole (what `/deploy history` and messages show).
HISTORY_LIMIT = 1000
#: The most delivery records kept per stage, however young: 90 days at 220 a day.
DELIVERIES_LIMIT = 20_000
#: The most changes remembered per project (what ships, and lead times, are worked out from
#: them), however young.
CHANGES_LIMIT = 20_000
#: What `find_change` looks a change up by: a prefix of its sha.
SHA_PREFIX = re.compile(r"[0-9a-fA-F]{4,40}")
SEEN_TTL = timedelta(days=7)


def new_epoch() -> str:
    """A store's epoch, random per store instance: a stage the store has never written loads
    as `StageState(epoch=...)`, so deployment ids, and so Semaphore's request tokens, never
    repeat after the store is wiped, flushed or replaced (Semaphore remembers every token)."""
    return secrets.token_hex(4)


class Applied(StrEnum):
    APPLIED = "applied"
    #: The event was applied before: nothing was written.
    DUPLICATE = "duplicate"
    #: The stage changed since it was loaded: nothing was written; load and decide again.
    CONFLICT = "conflict"


class Commit(Frozen):
    """One decision, as written atomically: all of it or none of it."""

    project: str
    stage: str
    event_id: str
    expected_version: int
    state: StageState
    finished: tuple[Deployment, ...] = ()
    audit: tuple[AuditEntry, ...] = ()
    effects: tuple[str, ...] = ()
    #: How long the stage's delivery records and audit entries are kept (before the newest).
    keep: timedelta = HISTORY_RETENTION
    #: A change to remember among the project's changes, as `Store.record_change` does
    #: (with `keep`): a change that passed CI, with its first stage's decision. On a single
    #: Redis it is written by the same script (no round trip of its own); on Redis Cluster the
    #: project's changes are in another slot, so it is recorded just before.
    change: Change | None = None


#: Carried-out effects, as stored, per (project, stage).
Done = Mapping[tuple[str, str], Sequence[str]]


class ChangeView(Frozen):
    """What a change's status message is drawn from: each stage's state and latest history,
    and the change's Slack thread (None before its first message)."""

    states: dict[str, StageState]
    history: dict[str, list[Deployment]]
    thread: str | None = None


class Store(Protocol):
    persistent: bool

    async def load(self, project: str, stage: str) -> StageState: ...

    async def load_many(self, project: str, stages: list[str]) -> dict[str, StageState]:
        """Several stages of a project at once (one round trip on Redis)."""
        ...

    async def apply(self, commit: Commit) -> Applied: ...

    async def history(self, project: str, stage: str, limit: int = 50) -> list[Deployment]: ...

    async def deliveries(self, project: str, stage: str) -> list[DeliveryRecord]:
        """The stage's delivery records that are kept (the last `Commit.keep`), newest first."""
        ...

    async def audit(self, project: str, stage: str, limit: int = 100) -> list[AuditEntry]: ...

    async def record(self, entry: AuditEntry, keep: timedelta = HISTORY_RETENTION) -> None:
        """Append to the stage's audit log outside any decision (a refused request, say).
        Entries made more than `keep` before it are dropped, as `apply` drops them with
        `Commit.keep`."""
        ...

    async def outbox(self, project: str, stage: str) -> list[str]: ...

    async def ack(self, done: Done) -> None:
        """Remove carried-out effects from their stages' outboxes (one round trip on Redis,
        however many stages)."""
        ...

    async def thread(self, project: str, sha: str) -> str | None: ...

    async def record_change(
        self, project: str, change: Change, keep: timedelta = HISTORY_RETENTION
    ) -> None:
        """Remember a change that passed CI on the deploy branch (again: nothing new), and
        forget those made more than `keep` before it."""
        ...

    async def change_times(self, project: str) -> dict[str, datetime]:
        """Every remembered change's sha -> when its CI pipeline was created (one round trip
        on Redis; the details are not read)."""
        ...

    async def changes(
        self, project: str, after: datetime | None, upto: datetime, limit: int
    ) -> tuple[list[Change], int]:
        """The changes newer than `after` (all when None) up to `upto` included, newest first:
        at most `limit` of them, and how many there are (one round trip on Redis)."""
        ...

    async def find_change(self, project: str, sha: str) -> Change | None:
        """The recorded change whose sha starts with `sha` (the newest, if several)."""
        ...

    async def change_view(
        self, project: str, stages: list[str], sha: str, history: int = 20
    ) -> ChangeView:
        """The stages' states, their `history` latest deployments and the change's thread, at
        once (one round trip on Redis)."""
        ...

    async def set_thread(self, project: str, sha: str, ts: str) -> str:
        """Keep `ts` unless a thread is already recorded; return the one that is kept."""
        ...

    async def saw_home(self, user: str, at: float) -> None:
        """`user` opened the App Home at `at` (seconds since the epoch)."""
        ...

    async def home_viewers(self, since: float) -> list[str]:
        """Who opened the App Home at `since` or later; those before are forgotten."""
        ...

    async def reconciled(self) -> dict[str, datetime]:
        """When reconciliation last asked Semaphore about each project it ever asked about."""
        ...

    async def mark_reconciled(self, at: Mapping[str, datetime]) -> None:
        """Record when projects were (or count as) last asked about."""
        ...

    async def count(self, name: str, add: int, ttl: timedelta) -> int:
        """Add `add` to the count `name` (created at 0, gone `ttl` after it was created) and
        return it: a count every replica adds to (0 reads it)."""
        ...

    async def claim(self, name: str, ttl: timedelta) -> bool:
        """True for exactly one caller per `name` until `ttl` passes."""
        ...

    async def release(self, name: str) -> None:
        """Give a claim up before its ttl, so it can be claimed again at once."""
        ...

    async def stored_stages(self) -> list[tuple[str, str]]:
        """(project, stage) of every stage the store holds a state for, sorted."""
        ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


def change_member(change: Change) -> str:
    """How a change's details are kept: its JSON without its time (kept as a score)."""
    return change.model_dump_json(exclude={"created_at"})


def delivery_member(deployment: Deployment) -> str:
    """How a finished deployment is kept for the delivery figures: a JSON array of its
    record, times in seconds since the epoch (the store's script reads the end, [5]). The
    change's time is the float its score among the changes is, so the two compare exactly."""
    r = record_of(deployment)
    seconds = [t.timestamp() for t in (r.change_at, r.asked_at, r.ended_at)]
    return json.dumps([r.kind.value, r.state.value, r.sha, *seconds, r.by], separators=(",", ":"))


def stored_deliveries(members: Sequence[str | bytes]) -> list[DeliveryRecord]:
    """Delivery records as kept, decoded in one pass (thousands are read at a time)."""
    text = [m.decode() if isinstance(m, bytes) else m for m in members]
    when = datetime.fromtimestamp
    return [
        DeliveryRecord(
            _KINDS[kind],
            _STATES[state],
            sha,
            when(made, UTC),
            when(asked, UTC),
            when(ended, UTC),
            by,
        )
        for kind, state, sha, made, asked, ended, by in json.loads(f"[{','.join(text)}]")
    ]


_KINDS = {kind.value: kind for kind in DeploymentKind}
_STATES = {state.value: state for state in DeploymentState}


def stored_change(member: str | bytes, score: float) -> Change:
    """The change a member of a project's changes stands for, its time from the score."""
    return Change.model_validate(
        {**json.loads(member), "created_at": datetime.fromtimestamp(score, UTC)}
    )
