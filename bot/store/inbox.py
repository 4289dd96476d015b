"""The durable inbox: webhook events recorded before the HTTP answer, processed by a worker.

A delivery is recorded under one or more dedupe keys (a webhook id, a pipeline id and result):
if any of them was seen in the last 7 days the delivery is a duplicate and nothing is written.
Recording is one Lua script (check every key, mark every key, XADD), so concurrent deliveries of
the same event record exactly one item.

Items live in a Redis stream read by one consumer group: each item goes to one consumer (one bot
replica). An item stays pending until acked; one whose consumer died or whose processing failed
is reclaimed by `reclaim` once it has been idle long enough, and processed again. Acked items
are deleted from the stream, so `length()` counts what is not yet done.

An item whose processing keeps failing is given up on: `fail` moves it, once it has been
delivered `max_attempts` times, to the inbox's dead letters (a second stream, in the same slot,
with the error), acked and off the live stream, in one script. Operators list, show, retry
(back to the live stream) and drop dead letters (`deploybot inbox`); nothing else reads them.

`RedisInbox` and `MemoryInbox` pass one contract suite (tests/store/test_inbox.py);
`InboxWorker` runs the take, process, ack loop over either.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from bot.store import keys as key_names
from bot.store.base import SEEN_TTL

log = logging.getLogger(__name__)

GROUP = "deploybot"
#: MemoryInbox forgets expired dedupe keys once it holds this many.
PURGE_AT = 10_000

#: KEYS[1] the stream, then each item's dedupe keys in turn; ARGV[1] the ttl in seconds, then
#: per item: kind, payload, how many dedupe keys it has. Returns, per item, the new item's id,
#: or 0 when any of its dedupe keys was seen (or used by an item before it in the same call).
PUT_LUA = """
local ttl = tonumber(ARGV[1])
local added = {}
local k = 2
for a = 2, #ARGV, 3 do
  local n = tonumber(ARGV[a + 2])
  local seen = false
  for i = k, k + n - 1 do
    if redis.call('EXISTS', KEYS[i]) == 1 then seen = true end
  end
  if seen then
    added[#added + 1] = 0
  else
    local id = redis.call('XADD', KEYS[1], '*', 'kind', ARGV[a], 'payload', ARGV[a + 1])
    for i = k, k + n - 1 do
      redis.call('SET', KEYS[i], id, 'EX', ttl)
    end
    added[#added + 1] = id
  end
  k = k + n
end
return added
"""

#: KEYS[1] the stream, KEYS[2] its dead letters; ARGV: group, item id, max attempts, error,
#: dead-letter cap. Returns {deliveries so far, 1 when moved to the dead letters else 0};
#: {0, 0} when the item is no longer pending (acked, or given up on, by another replica).
FAIL_LUA = """
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 then return {0, 0} end
local attempts = tonumber(pending[1][4])
if attempts < tonumber(ARGV[3]) then return {attempts, 0} end
local kind, payload = '', ''
local entry = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #entry > 0 then
  local fields = entry[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'kind' then kind = fields[i + 1] end
    if fields[i] == 'payload' then payload = fields[i + 1] end
  end
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'item', ARGV[2], 'kind', kind,
           'payload', payload, 'attempts', attempts, 'error', ARGV[4])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return {attempts, 1}
"""

#: KEYS[1] the stream, KEYS[2] its dead letters; ARGV[1] a dead letter's entry id. Records its
#: kind and payload as a new item and deletes the dead letter; returns the new id, or 0.
RETRY_LUA = """
local entry = redis.call('XRANGE', KEYS[2], ARGV[1], ARGV[1])
if #entry == 0 then return 0 end
local kind, payload = '', ''
local fields = entry[1][2]
for i = 1, #fields, 2 do
  if fields[i] == 'kind' then kind = fields[i + 1] end
  if fields[i] == 'payload' then payload = fields[i + 1] end
end
local id = redis.call('XADD', KEYS[1], '*', 'kind', kind, 'payload', payload)
redis.call('XDEL', KEYS[2], ARGV[1])
return id
"""

#: Dead letters kept per inbox; past that the oldest go (XADD MAXLEN ~).
DEAD_LIMIT = 10_000


@dataclass(frozen=True)
class InboxItem:
    id: str
    kind: str
    payload: str
    received_at: datetime


class Failure(NamedTuple):
    """What `fail` did: how many times the item was delivered, and whether it is dead now."""

    attempts: int
    dead: bool


@dataclass(frozen=True)
class DeadLetter:
    """An item given up on. `id` is its id in the live stream (the one the log names)."""

    id: str
    kind: str
    payload: str
    received_at: datetime
    attempts: int
    error: str
    dead_at: datetime


#: An item to record: its dedupe key(s) and its payload.
Entry = tuple[str | Sequence[str], str]


class Inbox(Protocol):
    def sibling(self, name: str) -> Inbox:
        """Another inbox of the same kind (its own stream), e.g. `slack` for messages to post."""
        ...

    async def put(self, kind: str, keys: str | Sequence[str], payload: str) -> bool:
        """Record the item unless any dedupe key was seen in the last 7 days (then False)."""
        ...

    async def put_many(self, kind: str, items: Sequence[Entry]) -> list[bool]:
        """`put` for each (keys, payload) in order, in one round trip; True where recorded."""
        ...

    async def take(self, consumer: str, count: int = 10, block_ms: int = 1000) -> list[InboxItem]:
        """New items for `consumer`, waiting up to `block_ms` (0: do not wait) for one."""
        ...

    async def ack(self, *item_ids: str) -> None:
        """Mark items done (and forget them); one round trip however many."""
        ...

    async def reclaim(self, consumer: str, min_idle_ms: int) -> list[InboxItem]:
        """Items taken (by anyone) but not acked for `min_idle_ms`, now owned by `consumer`."""
        ...

    async def touch(self, consumer: str, *item_ids: str) -> None:
        """Items `consumer` took and is still working on are not idle: reset their idle time
        (their delivery count unchanged), so that no one reclaims them meanwhile."""
        ...

    async def pending(self) -> int:
        """Items taken but not yet acked."""
        ...

    async def length(self) -> int:
        """Items recorded and not yet acked (taken or not)."""
        ...

    async def fail(self, item_id: str, error: str, max_attempts: int) -> Failure:
        """Processing the taken item failed with `error`: once it has been delivered
        `max_attempts` times it moves to the dead letters (acked, off the live stream);
        until then it stays pending, to be reclaimed. (0, False) if it is no longer pending."""
        ...

    async def dead_count(self) -> int:
        """How many dead letters there are."""
        ...

    async def dead_letters(self, limit: int = 1000) -> list[DeadLetter]:
        """The oldest `limit` dead letters, in the order they died."""
        ...

    async def dead_letter(self, item_id: str) -> DeadLetter | None:
        """The dead letter of the item `item_id`, if there is one."""
        ...

    async def retry_dead(self, item_id: str) -> str | None:
        """Record the dead letter's kind and payload as a new item (its new id) and forget the
        dead letter; None when there is no such dead letter."""
        ...

    async def drop_dead(self, item_id: str) -> bool:
        """Forget the dead letter; False when there is no such dead letter."""
        ...


def _dedupe_keys(value: str | Sequence[str]) -> list[str]:
    found = [value] if isinstance(value, str) else list(value)
    if not found or not all(found):
        raise ValueError("an inbox item needs at least one non-empty dedupe key")
    return found


def _received_at(item_id: str) -> datetime:
    """A stream id starts with the milliseconds since the epoch it was added at."""
    return datetime.fromtimestamp(int(item_id.split("-", 1)[0]) / 1000, UTC)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _dead_letter(entry_id: Any, fields: Any) -> DeadLetter:
    got = {_text(k): _text(v) for k, v in (fields or {}).items()}
    item_id = got.get("item", "0-0")
    return DeadLetter(
        item_id, got.get("kind", ""), got.get("payload", ""), _received_at(item_id),
        int(got.get("attempts") or 0), got.get("error", ""), _received_at(_text(entry_id)),
    )  # fmt: skip


def _after(stream_id: str) -> str:
    """The smallest stream id greater than `stream_id` (an inclusive XRANGE start)."""
    ms, seq = _order(stream_id)
    return f"{ms}-{seq + 1}"


def _item(item_id: Any, fields: Any) -> InboxItem:
    got = {_text(k): _text(v) for k, v in (fields or {}).items()}
    ident = _text(item_id)
    return InboxItem(ident, got.get("kind", ""), got.get("payload", ""), _received_at(ident))


class RedisInbox:
    def __init__(
        self, client: aioredis.Redis, group: str = GROUP, name: str = key_names.INBOX
    ) -> None:
        self._redis = client
        self._group = group
        self._name = name
        self._stream = key_names.inbox(name)
        self._dead = key_names.inbox_dead(name)
        self._put = client.register_script(PUT_LUA)
        self._fail = client.register_script(FAIL_LUA)
        self._retry = client.register_script(RETRY_LUA)
        self._group_ready = False

    def sibling(self, name: str) -> RedisInbox:
        """Another inbox (its own stream and dedupe keys) on the same Redis."""
        return RedisInbox(self._redis, self._group, name)

    async def put(self, kind: str, keys: str | Sequence[str], payload: str) -> bool:
        return (await self.put_many(kind, [(keys, payload)]))[0]

    async def put_many(self, kind: str, items: Sequence[Entry]) -> list[bool]:
        if not items:
            return []
        stream_keys: list[str] = [self._stream]
        args: list[str | int] = [int(SEEN_TTL.total_seconds())]
        for keys, payload in items:
            seen = [key_names.inbox_seen(key, self._name) for key in _dedupe_keys(keys)]
            stream_keys += seen
            args += [kind, payload, len(seen)]
        added = await self._put(keys=stream_keys, args=args)
        return [bool(a) for a in added]

    async def take(self, consumer: str, count: int = 10, block_ms: int = 1000) -> list[InboxItem]:
        async def read() -> Any:
            return await self._redis.xreadgroup(
                self._group,
                consumer,
                {self._stream: ">"},
                count=count,
                block=block_ms if block_ms > 0 else None,
            )

        answer = await self._grouped(read)
        streams = answer.items() if isinstance(answer, dict) else (answer or [])
        return [_item(i, f) for _, entries in streams for i, f in entries if f]

    async def ack(self, *item_ids: str) -> None:
        if not item_ids:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, self._group, *item_ids)
            pipe.xdel(self._stream, *item_ids)
            await pipe.execute()

    async def reclaim(self, consumer: str, min_idle_ms: int) -> list[InboxItem]:
        items: list[InboxItem] = []
        start = "0-0"
        for _ in range(100):  # pages of 100: bounded, even on a huge backlog

            async def claim(cursor: str = start) -> Any:
                return await self._redis.xautoclaim(
                    self._stream, self._group, consumer, min_idle_ms, cursor, count=100
                )

            answer = await self._grouped(claim)
            items += [_item(i, f) for i, f in answer[1] if f]
            start = _text(answer[0])
            if start == "0-0":
                break
        return items

    async def touch(self, consumer: str, *item_ids: str) -> None:
        if not item_ids:
            return

        async def claim() -> Any:
            return await self._redis.xclaim(
                self._stream, self._group, consumer, 0, list(item_ids), justid=True
            )

        await self._grouped(claim)

    async def pending(self) -> int:
        async def summary() -> Any:
            return await self._redis.xpending(self._stream, self._group)

        return int((await self._grouped(summary))["pending"])

    async def length(self) -> int:
        return int(await self._redis.xlen(self._stream))

    async def fail(self, item_id: str, error: str, max_attempts: int) -> Failure:
        args: list[str | int] = [self._group, item_id, max_attempts, error, DEAD_LIMIT]

        async def give_up() -> Any:
            return await self._fail(keys=[self._stream, self._dead], args=args)

        attempts, dead = await self._grouped(give_up)
        return Failure(int(attempts), bool(dead))

    async def dead_count(self) -> int:
        return int(await self._redis.xlen(self._dead))

    async def dead_letters(self, limit: int = 1000) -> list[DeadLetter]:
        entries = await self._redis.xrange(self._dead, "-", "+", count=limit)
        return [_dead_letter(i, f) for i, f in entries or []]

    async def dead_letter(self, item_id: str) -> DeadLetter | None:
        found = await self._find_dead(item_id)
        return None if found is None else found[1]

    async def retry_dead(self, item_id: str) -> str | None:
        found = await self._find_dead(item_id)
        if found is None:
            return None
        new_id = await self._retry(keys=[self._stream, self._dead], args=[found[0]])
        return _text(new_id) if new_id else None

    async def drop_dead(self, item_id: str) -> bool:
        found = await self._find_dead(item_id)
        return found is not None and bool(await self._redis.xdel(self._dead, found[0]))

    async def _find_dead(self, item_id: str) -> tuple[str, DeadLetter] | None:
        """The dead letter's entry id and contents, by its item's id (a scan: they are few)."""
        start = "-"
        while entries := await self._redis.xrange(self._dead, start, "+", count=500):
            for entry_id, fields in entries:
                if (letter := _dead_letter(entry_id, fields)).id == item_id:
                    return _text(entry_id), letter
            start = _after(_text(entries[-1][0]))
        return None

    async def _grouped(self, call: Callable[[], Any]) -> Any:
        """Run `call`, creating the consumer group first (and again if the stream vanished)."""
        if not self._group_ready:
            await self._create_group()
        try:
            return await call()
        except ResponseError as exc:
            if not str(exc).startswith("NOGROUP"):
                raise
        await self._create_group()
        return await call()

    async def _create_group(self) -> None:
        try:
            # From id 0: items recorded before the group existed are delivered too.
            await self._redis.xgroup_create(self._stream, self._group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True


@dataclass
class _Taken:
    consumer: str
    since: float
    deliveries: int = 1


class MemoryInbox:
    """The same contract in process. No awaits inside a check-and-set, so each is atomic."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._seen: dict[str, float] = {}
        self._purge_at = PURGE_AT
        self._items: dict[str, InboxItem] = {}
        self._new: list[str] = []
        self._taken: dict[str, _Taken] = {}
        self._dead: dict[str, DeadLetter] = {}  # by item id, in the order they died
        self._last_ms = 0
        self._seq = 0
        self._arrived = asyncio.Event()

    def sibling(self, name: str) -> MemoryInbox:
        """Another inbox, as separate as a second stream would be."""
        return MemoryInbox(self._clock)

    async def put(self, kind: str, keys: str | Sequence[str], payload: str) -> bool:
        return (await self.put_many(kind, [(keys, payload)]))[0]

    async def put_many(self, kind: str, items: Sequence[Entry]) -> list[bool]:
        return [self._put(kind, keys, payload) for keys, payload in items]

    def _put(self, kind: str, keys: str | Sequence[str], payload: str) -> bool:
        wanted = _dedupe_keys(keys)
        now = self._clock()
        if any(self._seen.get(key, 0.0) > now for key in wanted):
            return False
        if len(self._seen) >= self._purge_at:
            self._seen = {key: until for key, until in self._seen.items() if until > now}
            self._purge_at = max(PURGE_AT, 2 * len(self._seen))
        for key in wanted:
            self._seen[key] = now + SEEN_TTL.total_seconds()
        self._add(kind, payload)
        return True

    def _add(self, kind: str, payload: str) -> str:
        item_id = self._next_id()
        self._items[item_id] = InboxItem(item_id, kind, payload, _received_at(item_id))
        self._new.append(item_id)
        self._arrived.set()
        return item_id

    async def take(self, consumer: str, count: int = 10, block_ms: int = 1000) -> list[InboxItem]:
        if not self._new and block_ms > 0:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), block_ms / 1000)
            except TimeoutError:
                return []
        ids, self._new = self._new[:count], self._new[count:]
        for item_id in ids:
            self._taken[item_id] = _Taken(consumer, self._clock())
        return [self._items[item_id] for item_id in ids]

    async def ack(self, *item_ids: str) -> None:
        for item_id in item_ids:
            if self._taken.pop(item_id, None) is not None:
                self._items.pop(item_id, None)

    async def reclaim(self, consumer: str, min_idle_ms: int) -> list[InboxItem]:
        now = self._clock()
        idle = [i for i, t in self._taken.items() if (now - t.since) * 1000 >= min_idle_ms]
        for item_id in idle:
            self._taken[item_id] = _Taken(consumer, now, self._taken[item_id].deliveries + 1)
        return [self._items[item_id] for item_id in sorted(idle, key=_order)]

    async def touch(self, consumer: str, *item_ids: str) -> None:
        now = self._clock()
        for item_id in item_ids:
            if (taken := self._taken.get(item_id)) is not None:
                self._taken[item_id] = _Taken(consumer, now, taken.deliveries)

    async def pending(self) -> int:
        return len(self._taken)

    async def length(self) -> int:
        return len(self._items)

    async def fail(self, item_id: str, error: str, max_attempts: int) -> Failure:
        taken = self._taken.get(item_id)
        if taken is None:
            return Failure(0, False)
        if taken.deliveries < max_attempts:
            return Failure(taken.deliveries, False)
        item = self._items.pop(item_id)
        del self._taken[item_id]
        self._dead[item_id] = DeadLetter(
            item_id, item.kind, item.payload, item.received_at, taken.deliveries, error,
            datetime.now(UTC),
        )  # fmt: skip
        while len(self._dead) > DEAD_LIMIT:
            del self._dead[next(iter(self._dead))]
        return Failure(taken.deliveries, True)

    async def dead_count(self) -> int:
        return len(self._dead)

    async def dead_letters(self, limit: int = 1000) -> list[DeadLetter]:
        return list(self._dead.values())[:limit]

    async def dead_letter(self, item_id: str) -> DeadLetter | None:
        return self._dead.get(item_id)

    async def retry_dead(self, item_id: str) -> str | None:
        letter = self._dead.pop(item_id, None)
        return None if letter is None else self._add(letter.kind, letter.payload)

    async def drop_dead(self, item_id: str) -> bool:
        return self._dead.pop(item_id, None) is not None

    def _next_id(self) -> str:
        ms = int(time.time() * 1000)
        if ms > self._last_ms:
            self._last_ms, self._seq = ms, 0
        else:
            self._seq += 1
        return f"{self._last_ms}-{self._seq}"


def _order(item_id: str) -> tuple[int, int]:
    ms, seq = item_id.split("-", 1)
    return int(ms), int(seq)
