"""A small closed-loop HTTP load generator on aiohttp: `workers` clients, each sending its next
request as soon as the previous answer is read (or, with `after`, once that has returned too).
Latency is from just before the request is
written to the end of the answer's body (request bodies and signatures are made beforehand)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

#: (body, headers) for the i-th request.
Maker = Callable[[int], tuple[bytes, dict[str, str]]]


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    answers: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    #: Request number -> `time.monotonic()` just before it was written.
    starts: dict[int, float] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.latencies)


async def closed_loop(
    url: str,
    make: Maker,
    *,
    workers: int,
    requests: int | None = None,
    duration: float | None = None,
    answer_key: str | None = None,
    gate: Callable[[], Awaitable[None]] | None = None,
    after: Callable[[int], Awaitable[None]] | None = None,
) -> Result:
    """Send `requests` requests (or as many as fit in `duration` seconds) over `workers`
    concurrent clients. With `answer_key`, count the JSON answers' values of that key; with
    `gate`, await it before each request (back-pressure); with `after`, the client awaits
    `after(i)` once the i-th answer is read (e.g. until a reply sent later has arrived)."""
    result = Result()
    counter = iter(range(requests if requests is not None else 1 << 62))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + duration if duration is not None else None
    connector = aiohttp.TCPConnector(limit=workers, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            for i in counter:
                if deadline is not None and loop.time() >= deadline:
                    return
                if gate is not None:
                    await gate()
                body, headers = make(i)
                result.starts[i] = time.monotonic()
                start = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as answer:
                    raw = await answer.read()
                result.latencies.append(time.perf_counter() - start)
                result.statuses[answer.status] = result.statuses.get(answer.status, 0) + 1
                if answer_key is not None and answer.status == 200:
                    value = _value(raw, answer_key)
                    result.answers[value] = result.answers.get(value, 0) + 1
                if after is not None:
                    await after(i)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(workers)))
        result.seconds = time.perf_counter() - began
    return result


def _value(raw: bytes, key: str) -> str:
    """The answer's `key` when it is a JSON object, else its first 100 characters as text
    (Bolt answers an ack with text alone as plain text)."""
    try:
        return str(json.loads(raw).get(key, ""))
    except (ValueError, AttributeError):
        return raw[:100].decode(errors="replace")
