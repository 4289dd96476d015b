"""`deploybot dev` as a person uses it: start it, paste the lines it prints into a shell, read
the Slack stand-in's viewer, stop it with SIGTERM. Real processes and HTTP on loopback; the
printed lines need bash, curl, openssl and date."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import pytest

import bot

ROOT = Path(__file__).resolve().parents[1]
READY = "Ctrl-C stops everything."


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    """The environment without REDIS_URL: state in memory."""
    return {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "REDIS_CLUSTER")}


@dataclass
class Dev:
    process: asyncio.subprocess.Process
    printed: list[str]
    stderr: Path

    def line(self, contains: str) -> str:
        found = [line.strip() for line in self.printed if contains in line]
        assert found, f"no printed line contains {contains!r}:\n{''.join(self.printed)}"
        return found[0]

    def url(self, label: str) -> str:
        match = re.search(rf"{label}\s+(http://\S+)", "".join(self.printed))
        assert match, f"{label} is not printed"
        return match.group(1).rstrip("/")


@pytest.fixture
async def dev(tmp_path: Path) -> AsyncIterator[Dev]:
    stderr = tmp_path / "stderr"
    ports = [str(_free_port()) for _ in range(3)]
    with stderr.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "dev", "--port", ports[0], "--semaphore-port", ports[1],
            "--slack-port", ports[2], "--pipeline-seconds", "0.2",
            cwd=ROOT, env=_env(), stdout=asyncio.subprocess.PIPE, stderr=err,
        )  # fmt: skip
    try:
        printed = await _until_ready(process, stderr)
        yield Dev(process, printed, stderr)
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()


async def _until_ready(process: asyncio.subprocess.Process, stderr: Path) -> list[str]:
    assert process.stdout is not None
    printed: list[str] = []
    async with asyncio.timeout(20):
        while not printed or READY not in printed[-1]:
            line = await process.stdout.readline()
            assert line, f"deploybot dev ended before it was ready:\n{stderr.read_text()}"
            printed.append(line.decode())
    return printed


async def _shell(line: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "bash", "-c", line, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=15)
    assert process.returncode == 0, f"{line}\n{err.decode()}"
    return out.decode()


async def _calls(viewer: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5) as http:
        calls: list[dict[str, Any]] = (await http.get(f"{viewer}/_standin/calls")).json()["calls"]
    return calls


async def _eventually(
    check: Callable[[], Awaitable[list[dict[str, Any]]]], what: str, within: float = 10.0
) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not (found := await check()):
        assert loop.time() < deadline, f"within {within} s, no {what}"
        await asyncio.sleep(0.1)
    return found


async def _stop(dev: Dev) -> str:
    dev.process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(dev.process.wait(), timeout=10)
    return dev.stderr.read_text()


def test_version_prints_the_package_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--version"],
        cwd=ROOT, capture_output=True, text=True, timeout=20, check=False,
    )  # fmt: skip
    try:
        expected = metadata.version("deploybot")
    except metadata.PackageNotFoundError:
        expected = bot.__version__
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"deploybot {expected}\n"


async def test_the_printed_status_line_is_answered_in_the_viewer_and_a_push_moves_through(
    dev: Dev,
) -> None:
    viewer = dev.url("Slack viewer")
    status = dev.line("ts=$(date +%s)")
    assert "command=%2Fdeploy&text=status" in status

    answer = await _shell(status)
    assert answer.strip().endswith("HTTP 200"), answer

    async def replies() -> list[dict[str, Any]]:
        return [c for c in await _calls(viewer) if c["method"] == "response:curl"]

    [reply] = await _eventually(replies, "answer to /deploy status in the viewer")
    assert reply["text"].startswith("demo: 2 stages")
    assert any("*beta*" in t for t in reply["blocks_text"]) and any(
        "*prod*" in t for t in reply["blocks_text"]
    )

    # The same line, signed with a timestamp six minutes old: Slack's replay window is closed.
    stale = status.replace("ts=$(date +%s)", "ts=$(( $(date +%s) - 360 ))")
    assert (await _shell(stale)).strip().endswith("HTTP 401")

    pushed = await _shell(dev.line("/_sim/push"))
    assert '"workflow_id"' in pushed, pushed

    async def change_posted() -> list[dict[str, Any]]:
        return [
            c
            for c in await _calls(viewer)
            if c["method"] == "chat.postMessage" and "Try deploybot dev" in (c["text"] or "")
        ]

    [post] = await _eventually(change_posted, "post about the pushed change", within=15)
    assert post["channel"] == "C0DEMO"
    async with httpx.AsyncClient(timeout=5) as http:
        page = (await http.get(f"{viewer}/")).text
    assert "Try deploybot dev" in page and "response:curl" in page

    stderr = await _stop(dev)
    assert dev.process.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr


async def test_the_printed_alert_line_blocks_the_stage_and_sigterm_stops_it_all(
    dev: Dev,
) -> None:
    viewer = dev.url("Slack viewer")
    fire = dev.line('"status":"firing"')
    assert (await _shell(fire)).strip() == '{"status": "recorded"}'

    async def blocked() -> list[dict[str, Any]]:
        return [c for c in await _calls(viewer) if "demo/prod is blocked" in (c["text"] or "")]

    await _eventually(blocked, "message that prod is blocked by the alarm")
    health = dev.url("bot")
    stderr = await _stop(dev)
    assert dev.process.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    for url in (health, viewer):
        with pytest.raises(httpx.ConnectError):
            httpx.get(url, timeout=2)


def test_a_busy_port_is_refused_with_a_sentence_naming_the_option() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = subprocess.run(
            [sys.executable, "-m", "bot", "dev", "--slack-port", port, "--port", "0",
             "--semaphore-port", "0"],
            cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=20, check=False,
        )  # fmt: skip
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in result.stderr and "--slack-port" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
