"""Shared fixtures: a real redis-server on a free loopback port, and the stores under test.

The server is started once per session (or REDIS_URL is used when set: the tests FLUSH that
database) and flushed before every test. Without redis-server the real-Redis tests skip on a
developer's machine and FAIL under CI=true.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator

import fakeredis
import pytest
import redis.asyncio as aioredis

from bot.store import MemoryStore, RedisStore, Store

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_redis(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"redis-server did not answer on port {port} within {timeout}s")


def no_redis(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: tests that need a real Redis fail instead of skipping)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """The URL of a real Redis server for this test session."""
    if url := os.environ.get("REDIS_URL"):
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        no_redis("redis-server is not installed: run ./scripts/setup or set REDIS_URL")
    port = _free_port()
    args = [binary or "redis-server", "--port", str(port), "--bind", "127.0.0.1"]
    args += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_redis(port, proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
async def redis_client(redis_server: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server, decode_responses=True)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture(params=["memory", "fakeredis", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    """Every store backend: the contract suite runs once per backend."""
    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "fakeredis":
        client = fakeredis.FakeAsyncRedis(decode_responses=True)
    else:
        client = aioredis.Redis.from_url(
            request.getfixturevalue("redis_server"), decode_responses=True
        )
        await client.flushdb()
    yield RedisStore(client)
    await client.aclose()
