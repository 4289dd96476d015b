"""The benchmarks' surroundings: a private `redis-server` on a free loopback port (temp dir,
stopped at the end), Redis counters (`INFO commandstats`), and the machine the run is on."""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis


class NoRedis(RuntimeError):
    """redis-server is not on PATH."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def redis_server() -> AsyncIterator[str]:
    """A fresh redis-server of our own; yields its URL. No persistence, no protected mode."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise NoRedis("redis-server is not on PATH: install it (./scripts/setup does) and retry")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="deploybot-bench-") as tmp:
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", tmp,
                "--save", "", "--appendonly", "no", "--logfile", str(Path(tmp) / "redis.log")]  # fmt: skip
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0"
        try:
            await _wait_ready(url, proc)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        for _ in range(200):
            if proc.poll() is not None:
                raise NoRedis(f"redis-server exited at start with code {proc.returncode}")
            try:
                if await client.ping():
                    return
            except (OSError, aioredis.ConnectionError):
                await asyncio.sleep(0.025)
        raise NoRedis("redis-server did not answer PING within 5 s")
    finally:
        await client.aclose()


async def flush(url: str) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        await client.flushall()
        await client.config_resetstat()
    finally:
        await client.aclose()


async def counters(url: str) -> dict[str, int]:
    """`total_commands_processed` and the calls of every command (commandstats)."""
    client = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        stats = await client.info("commandstats")
        total = await client.info("stats")
    finally:
        await client.aclose()
    found = {"total_commands_processed": int(total["total_commands_processed"])}
    for name, value in stats.items():
        found[name.removeprefix("cmdstat_")] = int(value["calls"])
    return found


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": list(os.getloadavg()),
        "redis_server": _redis_version(),
    }


def _redis_version() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        return ""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip()


def rss_bytes(pid: int | None = None, field: str = "VmRSS") -> int:
    """Resident set size from /proc (0 where /proc is not there); `field` "VmHWM" is its peak."""
    try:
        text = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return 0
