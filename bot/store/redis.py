"""The Redis store (redis.asyncio). All of deploybot's Redis access lives here.

A decision is applied by one Lua script (`apply.lua`): it checks the event was not applied
before and the stage's version is the one the decision was made on, then writes the state,
history, delivery records, audit entries and outbox in one step. Loading is one HGET; applying is one EVALSHA.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from bot.core.delivery import HISTORY_RETENTION, DeliveryRecord
from bot.core.model import AuditEntry, Change, Deployment, StageState
from bot.store import keys
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
    change_member,
    delivery_member,
    new_epoch,
    stored_change,
    stored_deliveries,
)

APPLY_LUA = files("bot.store").joinpath("apply.lua").read_text()
#: Connections per process. When all are busy a caller waits (up to POOL_TIMEOUT seconds)
#: instead of failing, as redis-py's default pool would.
POOL_SIZE = 50
POOL_TIMEOUT = 10.0
#: A Redis that accepts a connection but does not answer within this many seconds counts as
#: down (a RedisError, handled like a refused connection) instead of holding its caller
#: forever. The longest blocking read deploybot makes waits 1 s.
SOCKET_TIMEOUT = 10.0
#: A pooled connection idle longer than this is pinged before use, so one left stale by a
#: Redis restart is replaced instead of failing a health check (a false 503).
HEALTH_CHECK_INTERVAL = 15


def _change_args(change: Change | None, keep: timedelta) -> list[Any]:
    """apply.lua's arguments for a change to record (`RedisStore.record_change`'s writes)."""
    if change is None:
        return [0]
    at = change.created_at.timestamp()
    richest = 1 if change.author else 0  # the webhook's record replaces; reconciliation's adds
    return [1, change.sha, repr(at), change_member(change), richest,
            repr((change.created_at - keep).timestamp()), CHANGES_LIMIT]  # fmt: skip


def redis_client(url: str, *, cluster: bool = False) -> aioredis.Redis:
    """The one way deploybot connects to Redis: text replies, a blocking connection pool; with
    `cluster`, `url` names one node of a Redis Cluster (each stage's keys share a slot, and the
    pipelines that read or acknowledge several stages are split by node)."""
    if cluster:
        client = RedisCluster.from_url(
            url, decode_responses=True, max_connections=POOL_SIZE, require_full_coverage=True,
            socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT,
            health_check_interval=HEALTH_CHECK_INTERVAL,
        )  # fmt: skip
        return cast(aioredis.Redis, client)  # the commands deploybot uses are the same
    pool = aioredis.BlockingConnectionPool.from_url(
        url, decode_responses=True, max_connections=POOL_SIZE, timeout=POOL_TIMEOUT,
        socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT,
        health_check_interval=HEALTH_CHECK_INTERVAL,
    )  # fmt: skip
    return aioredis.Redis(connection_pool=pool)


class RedisStore:
    persistent = True

    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client
        self._apply = client.register_script(APPLY_LUA)
        #: Whether a commit's change can be written by the apply script: not on Cluster,
        #: where the project's changes and the stage's keys are in different slots.
        self._one_slot = not isinstance(client, RedisCluster)

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        return cls(redis_client(url))

    async def load(self, project: str, stage: str) -> StageState:
        doc = await self._redis.hget(keys.state(project, stage), "doc")
        return StageState.model_validate_json(doc) if doc else await self._fresh()

    async def _fresh(self) -> StageState:
        """A stage this Redis has never held, in this Redis's epoch (made on first need)."""
        await self._redis.set(keys.epoch(), new_epoch(), nx=True)
        return StageState(epoch=str(await self._redis.get(keys.epoch())))

    async def load_many(self, project: str, stages: list[str]) -> dict[str, StageState]:
        if len(stages) == 1:  # a pipeline of one command costs more than the command
            return {stages[0]: await self.load(project, stages[0])}
        async with self._redis.pipeline(transaction=False) as pipe:
            for stage in stages:
                pipe.hget(keys.state(project, stage), "doc")
            docs = await pipe.execute()
        return {
            stage: StageState.model_validate_json(doc) if doc else await self._fresh()
            for stage, doc in zip(stages, docs, strict=True)
        }

    async def apply(self, commit: Commit) -> Applied:
        p, s = commit.project, commit.stage
        change = commit.change
        if change is not None and not self._one_slot:
            await self.record_change(p, change, commit.keep)
            change = None
        args: list[Any] = [
            commit.expected_version,
            commit.state.version,
            commit.state.model_dump_json(),
            int(SEEN_TTL.total_seconds()),
            HISTORY_LIMIT,
            DELIVERIES_LIMIT,
            int(commit.keep.total_seconds()),
            len(commit.finished),
            *(d.model_dump_json() for d in commit.finished),
            *(delivery_member(d) for d in commit.finished),
            len(commit.audit),
            *(a.model_dump_json() for a in commit.audit),
            *_change_args(change, commit.keep),
            *commit.effects,
        ]
        stage_keys = [
            keys.state(p, s),
            keys.history(p, s),
            keys.audit(p, s),
            keys.outbox(p, s),
            keys.seen(p, s, commit.event_id),
            keys.deliveries(p, s),
        ]
        if change is not None:
            stage_keys += [keys.changes(p), keys.change_details(p)]
        result = await self._apply(keys=stage_keys, args=args)
        return Applied(result)

    async def history(self, project: str, stage: str, limit: int = 50) -> list[Deployment]:
        rows = await self._redis.lrange(keys.history(project, stage), 0, limit - 1)
        return [Deployment.model_validate_json(row) for row in rows]

    async def deliveries(self, project: str, stage: str) -> list[DeliveryRecord]:
        rows = await self._redis.lrange(keys.deliveries(project, stage), 0, -1)
        return stored_deliveries(rows)

    async def audit(self, project: str, stage: str, limit: int = 100) -> list[AuditEntry]:
        rows = await self._redis.xrevrange(keys.audit(project, stage), count=limit) or []
        return [
            AuditEntry.model_validate_json(fields["entry"])
            for _, fields in reversed(rows)
            if fields
        ]

    async def record(self, entry: AuditEntry, keep: timedelta = HISTORY_RETENTION) -> None:
        stream = keys.audit(entry.project, entry.stage)
        oldest = int((time.time() - keep.total_seconds()) * 1000)  # stream ids are ms times
        async with self._redis.pipeline(transaction=True) as pipe:  # one slot: the stage's
            pipe.xadd(stream, {"entry": entry.model_dump_json()})
            pipe.xtrim(stream, minid=oldest, approximate=False)
            await pipe.execute()

    async def outbox(self, project: str, stage: str) -> list[str]:
        return [str(row) for row in await self._redis.lrange(keys.outbox(project, stage), 0, -1)]

    async def ack(self, done: Done) -> None:
        if not any(done.values()):
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for (project, stage), effects in done.items():
                for effect in effects:
                    pipe.lrem(keys.outbox(project, stage), 1, effect)
            await pipe.execute()

    async def thread(self, project: str, sha: str) -> str | None:
        value = await self._redis.get(keys.thread(project, sha))
        return str(value) if value is not None else None

    async def change_view(
        self, project: str, stages: list[str], sha: str, history: int = 20
    ) -> ChangeView:
        async with self._redis.pipeline(transaction=False) as pipe:
            for stage in stages:
                pipe.hget(keys.state(project, stage), "doc")
                pipe.lrange(keys.history(project, stage), 0, history - 1)
            pipe.get(keys.thread(project, sha))
            *rows, ts = await pipe.execute()
        docs, lists = rows[0::2], rows[1::2]
        return ChangeView(
            states={
                stage: StageState.model_validate_json(doc) if doc else StageState()  # for display
                for stage, doc in zip(stages, docs, strict=True)
            },
            history={
                stage: [Deployment.model_validate_json(row) for row in found]
                for stage, found in zip(stages, lists, strict=True)
            },
            thread=str(ts) if ts is not None else None,
        )

    async def record_change(
        self, project: str, change: Change, keep: timedelta = HISTORY_RETENTION
    ) -> None:
        order, details = keys.changes(project), keys.change_details(project)
        forget = f"({(change.created_at - keep).timestamp()}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(order, {change.sha: change.created_at.timestamp()})
            if change.author:  # the webhook's record: the richest there is
                pipe.hset(details, change.sha, change_member(change))
            else:  # reconciliation's (no author): only when nothing better is known
                pipe.hsetnx(details, change.sha, change_member(change))
            pipe.zrangebyscore(order, "-inf", forget)
            pipe.zcard(order)
            *_, old, count = await pipe.execute()
        if int(count) - len(old) > CHANGES_LIMIT:
            old += await self._redis.zrange(order, len(old), int(count) - CHANGES_LIMIT - 1)
        if old:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zrem(order, *old)
                pipe.hdel(details, *old)
                await pipe.execute()

    async def change_times(self, project: str) -> dict[str, datetime]:
        found = cast(
            list[tuple[str, float]],
            await self._redis.zrange(keys.changes(project), 0, -1, withscores=True),
        )
        return {str(sha): datetime.fromtimestamp(float(score), UTC) for sha, score in found}

    async def changes(
        self, project: str, after: datetime | None, upto: datetime, limit: int
    ) -> tuple[list[Change], int]:
        low = f"({after.timestamp()}" if after is not None else "-inf"
        high = upto.timestamp()
        order = keys.changes(project)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zrevrangebyscore(order, high, low, start=0, num=limit, withscores=True)
            pipe.zcount(order, low, high)
            found, total = await pipe.execute()
        if not found:
            return [], int(total)
        rows = await self._redis.hmget(keys.change_details(project), [sha for sha, _ in found])
        return [
            stored_change(row, score) for (_, score), row in zip(found, rows, strict=True) if row
        ], int(total)

    async def find_change(self, project: str, sha: str) -> Change | None:
        if not SHA_PREFIX.fullmatch(sha):
            return None
        order, matches = keys.changes(project), []
        async for found, _ in self._redis.zscan_iter(order, match=sha.lower() + "*"):
            matches.append(found)
        if not matches:
            return None
        async with self._redis.pipeline(transaction=False) as pipe:
            for found in matches:
                pipe.zscore(order, found)
                pipe.hget(keys.change_details(project), found)
            answers = await pipe.execute()
        changes = [
            stored_change(row, score)
            for score, row in zip(answers[0::2], answers[1::2], strict=True)
            if row is not None and score is not None
        ]
        return max(changes, key=lambda change: change.created_at, default=None)

    async def set_thread(self, project: str, sha: str, ts: str) -> str:
        key = keys.thread(project, sha)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, ts, nx=True)
            pipe.get(key)
            _, kept = await pipe.execute()
        return str(kept)

    async def saw_home(self, user: str, at: float) -> None:
        await self._redis.zadd(keys.home_viewers(), {user: at})

    async def home_viewers(self, since: float) -> list[str]:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(keys.home_viewers(), "-inf", f"({since}")
            pipe.zrange(keys.home_viewers(), 0, -1)
            _, users = await pipe.execute()
        return [str(user) for user in users]

    async def reconciled(self) -> dict[str, datetime]:
        found = cast(
            list[tuple[str, float]],
            await self._redis.zrange(keys.reconciled(), 0, -1, withscores=True),
        )
        return {str(p): datetime.fromtimestamp(float(at), UTC) for p, at in found}

    async def mark_reconciled(self, at: Mapping[str, datetime]) -> None:
        if at:
            await self._redis.zadd(keys.reconciled(), {p: t.timestamp() for p, t in at.items()})

    async def count(self, name: str, add: int, ttl: timedelta) -> int:
        key = keys.counter(name)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=max(1, int(ttl.total_seconds())), nx=True)  # with its TTL
            pipe.incrby(key, add)
            _, total = await pipe.execute()
        return int(total)

    async def claim(self, name: str, ttl: timedelta) -> bool:
        ms = max(1, int(ttl.total_seconds() * 1000))
        return bool(await self._redis.set(keys.claim(name), "1", nx=True, px=ms))

    async def release(self, name: str) -> None:
        await self._redis.delete(keys.claim(name))

    async def stored_stages(self) -> list[tuple[str, str]]:
        found = set()
        async for key in self._redis.scan_iter(match=keys.state("*", "*"), count=500):
            if (stage := keys.parse_state(str(key))) is not None:
                found.add(stage)
        return sorted(found)

    async def flush(self) -> None:
        """Delete everything in this Redis database (what losing Redis does; for drills)."""
        await self._redis.flushdb()

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        await self._redis.aclose()
