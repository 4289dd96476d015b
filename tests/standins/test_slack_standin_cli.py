"""`python -m bot.standins.slack` as a real process: it answers the Web API, shows what was
posted in a page a person can open (HTML-escaped, newest first) and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _read_banner(process: asyncio.subprocess.Process) -> list[str]:
    """The lines it prints on start, up to "Ctrl-C stops it."."""
    assert process.stdout is not None
    lines: list[str] = []
    async with asyncio.timeout(15):
        while not lines or "Ctrl-C" not in lines[-1]:
            line = await process.stdout.readline()
            assert line, f"the stand-in ended before it was ready: {lines}"
            lines.append(line.decode())
    return lines


@pytest.fixture
async def standin() -> AsyncIterator[tuple[str, list[str], asyncio.subprocess.Process]]:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.standins.slack", "--port", str(port), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        banner = await _read_banner(process)
        yield f"http://127.0.0.1:{port}", banner, process
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()


async def test_it_prints_its_urls_answers_a_post_and_shows_it_escaped_newest_first(
    standin: tuple[str, list[str], asyncio.subprocess.Process],
) -> None:
    url, banner, _ = standin
    printed = "".join(banner)
    assert f"{url}/api/" in printed and f"{url}/ " in printed
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        first = await http.post(
            "/api/chat.postMessage",
            json={"channel": "C0DEMO", "text": "<script>alert(1)</script> & deployed"},
        )
        assert first.status_code == 200 and first.json()["ok"] and first.json()["ts"]
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*beta* baking"}}]
        second = await http.post(
            "/api/chat.postMessage",
            data={"channel": "C0DEMO", "text": "second", "thread_ts": first.json()["ts"],
                  "blocks": json.dumps(blocks)},
        )  # fmt: skip
        assert second.json()["ok"]
        page = await http.get("/")
        calls = (await http.get("/_standin/calls")).json()["calls"]
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; deployed" in page.text
    assert "<script>" not in page.text
    assert "*beta* baking" in page.text
    assert page.text.index("second") < page.text.index("alert(1)"), "newest first"
    assert f"thread_ts {first.json()['ts']}" in page.text
    assert [c["text"] for c in calls] == ["<script>alert(1)</script> & deployed", "second"]
    assert calls[1]["blocks_text"] == ["*beta* baking"]


async def test_it_exits_cleanly_on_sigterm(
    standin: tuple[str, list[str], asyncio.subprocess.Process],
) -> None:
    url, _, process = standin
    process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=10)
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)


def test_bad_arguments_get_argparse_s_message_and_exit_2() -> None:
    for args in (["--port", "nine"], [], ["--port", "70000"]):
        result = subprocess.run(
            [sys.executable, "-m", "bot.standins.slack", *args],
            cwd=ROOT, capture_output=True, text=True, timeout=20, check=False,
        )  # fmt: skip
        assert result.returncode == 2, args
        assert "usage:" in result.stderr and "Traceback" not in result.stderr
