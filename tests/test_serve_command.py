"""`deploybot serve` as a real process: clear refusals on bad set-up, and a server that
answers /healthz and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from bot.settings import Settings
from bot.slack.app import build_bolt_app, web_client
from semaphore_client.simulator import Simulator

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "deploybot.yml"
DEMO = EXAMPLE.with_name("demo.yml")


def run_serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SEMAPHORE_", "SLACK_"))}
    clean.pop("REDIS_URL", None)
    clean.pop("DEPLOYBOT_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_serve_without_a_configuration_says_which_variable_to_set() -> None:
    result = run_serve({})
    assert result.returncode == 2
    assert "DEPLOYBOT_CONFIG" in result.stderr and "Traceback" not in result.stderr


def test_serve_with_a_broken_configuration_lists_its_problems(tmp_path: Path) -> None:
    broken = tmp_path / "deploybot.yml"
    broken.write_text("projects: []\nroles: {}\n")
    result = run_serve({"DEPLOYBOT_CONFIG": str(broken)})
    assert result.returncode == 2
    assert "is not valid" in result.stderr and "projects" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_without_semaphore_credentials_says_what_is_missing() -> None:
    result = run_serve({"DEPLOYBOT_CONFIG": str(EXAMPLE)})
    assert result.returncode == 2
    assert "SEMAPHORE_API_TOKEN" in result.stderr and "Traceback" not in result.stderr


def test_socket_mode_without_an_app_token_says_what_is_missing() -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SEMAPHORE_", "SLACK_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "socket"],
        env={**clean, "DEPLOYBOT_CONFIG": str(EXAMPLE)},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "SLACK_APP_TOKEN" in result.stderr and "Traceback" not in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.redis
async def test_serve_answers_healthz_and_stops_on_sigterm(redis_server: str) -> None:
    port = _free_port()
    async with Simulator(default_duration=0.1) as sim:
        env = {
            **os.environ,
            "DEPLOYBOT_CONFIG": str(EXAMPLE),
            "SEMAPHORE_API_URL": sim.base_url,
            "SEMAPHORE_API_TOKEN": "serve-test-token",
            "SEMAPHORE_WEBHOOK_SECRET": "serve-test-secret",
            "REDIS_URL": redis_server,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            health = await _poll_health(f"http://127.0.0.1:{port}/healthz")
            assert health.status_code == 200, health.text
            assert health.json()["checks"]["redis"] is True
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
        assert process.returncode == 0, stderr.decode()
        assert b"serve-test-token" not in stderr and b"serve-test-secret" not in stderr


async def _poll_health(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=2) as http:
        for _ in range(200):
            try:
                response = await http.get(url)
                if response.status_code == 200:
                    return response
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
        return await http.get(url)


@pytest.mark.redis
async def test_serve_with_the_demo_config_answers_a_signed_deploy_status_with_real_state(
    redis_server: str,
) -> None:
    from bot.scenarios.slack_driver import SIGNING_SECRET, SlackDriver
    from bot.standins.slack import SlackStandIn

    port = _free_port()
    demo = Path(__file__).resolve().parents[1] / "examples" / "demo.yml"
    slack = await SlackStandIn().start()
    try:
        async with Simulator(default_duration=0.1) as sim:
            env = {
                **os.environ,
                "DEPLOYBOT_CONFIG": str(demo),
                "SEMAPHORE_API_URL": sim.base_url,
                "SEMAPHORE_API_TOKEN": "serve-test-token",
                "SEMAPHORE_WEBHOOK_SECRET": "serve-test-secret",
                "REDIS_URL": redis_server,
                "SLACK_BOT_TOKEN": "xoxb-serve-test",
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": slack.api_url,
            }
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
                env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            try:
                await _poll_health(f"http://127.0.0.1:{port}/healthz")
                async with httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{port}", timeout=5
                ) as http:
                    driver = SlackDriver(http, slack)
                    await driver.command("block prod DB migration", "U0BLOCK")
                    await slack.wait_for("chat.postMessage")  # the blocker message in the channel
                    started = asyncio.get_running_loop().time()
                    ack = await driver.command("status", "U0BLOCK")
                    elapsed = asyncio.get_running_loop().time() - started
                    assert ack.status_code == 200 and elapsed < 3.0
                    answers = await slack.wait_for("response:cmd2")
                    assert "DB migration" in answers[0].text()
            finally:
                process.send_signal(signal.SIGTERM)
                _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
            assert process.returncode == 0, stderr.decode()
            assert b"Traceback" not in stderr
    finally:
        await slack.stop()


class BlackHole:
    """A loopback TCP server that accepts every connection, reads what it is sent and never
    answers: an unresponsive Redis, Semaphore or Slack."""

    def __init__(self) -> None:
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._open: list[asyncio.StreamWriter] = []
        self._handlers: list[asyncio.Task[None]] = []

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._swallow, "127.0.0.1", 0)
        return f"127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _swallow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._open.append(writer)
        if (task := asyncio.current_task()) is not None:
            self._handlers.append(task)
        try:
            while await reader.read(65536):
                pass
        except ConnectionError:
            pass

    async def stop(self) -> None:
        for writer in self._open:
            writer.close()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=5)  # each reads the end of its stream
        if self._server is not None:
            self._server.close()


async def _until(condition: Callable[[], bool], within: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition() and loop.time() < deadline:
        await asyncio.sleep(0.05)
    assert condition(), "the condition did not hold in time"


async def _sigterm_and_time_the_exit(process: asyncio.subprocess.Process) -> tuple[float, str]:
    loop = asyncio.get_running_loop()
    process.send_signal(signal.SIGTERM)
    started = loop.time()
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    except TimeoutError:
        process.kill()
        _, stderr = await process.communicate()
        raise AssertionError(
            f"serve did not exit within 30 s of SIGTERM:\n{stderr.decode()}"
        ) from None
    return loop.time() - started, stderr.decode()


async def test_serve_exits_within_seconds_of_sigterm_while_redis_semaphore_and_slack_never_answer() -> (
    None
):
    """Redis accepts the connection and never answers, so the start itself hangs."""
    redis, semaphore, slack = BlackHole(), BlackHole(), BlackHole()
    try:
        env = {
            **os.environ,
            "DEPLOYBOT_CONFIG": str(DEMO),
            "REDIS_URL": f"redis://{await redis.start()}/0",
            "SEMAPHORE_API_URL": f"http://{await semaphore.start()}",
            "SEMAPHORE_API_TOKEN": "serve-test-token",
            "SEMAPHORE_WEBHOOK_SECRET": "serve-test-secret",
            "SLACK_BOT_TOKEN": "xoxb-serve-test",
            "SLACK_SIGNING_SECRET": "serve-test-signing",
            "SLACK_API_URL": f"http://{await slack.start()}/api/",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(_free_port()),
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        await _until(lambda: redis.connections > 0, within=20)  # the start is waiting on Redis
        await asyncio.sleep(0.5)
        took, stderr = await _sigterm_and_time_the_exit(process)
        assert took < 10, f"serve took {took:.1f} s to exit after SIGTERM:\n{stderr}"
        assert "Traceback" not in stderr, stderr
    finally:
        for hole in (redis, semaphore, slack):
            await hole.stop()


@pytest.mark.redis
async def test_serve_exits_within_seconds_of_sigterm_while_slack_and_semaphore_hang_mid_work(
    redis_server: str,
) -> None:
    """The server is up; a signed command is stuck in flight on a Slack that never answers
    (Bolt's first request checks the token with `auth.test`)."""
    from bot.scenarios.slack_driver import signed_headers

    semaphore, slack = BlackHole(), BlackHole()
    port = _free_port()
    secret = "serve-test-signing"
    try:
        slack_at = await slack.start()
        env = {
            **os.environ,
            "DEPLOYBOT_CONFIG": str(DEMO),
            "REDIS_URL": redis_server,
            "SEMAPHORE_API_URL": f"http://{await semaphore.start()}",
            "SEMAPHORE_API_TOKEN": "serve-test-token",
            "SEMAPHORE_WEBHOOK_SECRET": "serve-test-secret",
            "SLACK_BOT_TOKEN": "xoxb-serve-test",
            "SLACK_SIGNING_SECRET": secret,
            "SLACK_API_URL": f"http://{slack_at}/api/",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        await _poll_health(f"http://127.0.0.1:{port}/healthz")
        form = urlencode({
            "team_id": "T0DEMO", "channel_id": "C0DEMO", "user_id": "U0BLOCK",
            "command": "/deploy", "text": "block prod DB migration",
            "response_url": f"http://{slack_at}/response", "trigger_id": "trigger-1",
        })  # fmt: skip
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   **signed_headers(form, secret)}  # fmt: skip
        async with httpx.AsyncClient(timeout=30) as http:
            command = asyncio.create_task(
                http.post(f"http://127.0.0.1:{port}/slack/events", content=form, headers=headers)
            )
            await _until(lambda: slack.connections > 0, within=10)  # the work waits on Slack
            took, stderr = await _sigterm_and_time_the_exit(process)
            await asyncio.wait({command}, timeout=5)
        assert took < 10, f"serve took {took:.1f} s to exit after SIGTERM:\n{stderr}"
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr, stderr
    finally:
        for hole in (semaphore, slack):
            await hole.stop()


@pytest.mark.redis
async def test_serve_started_while_redis_is_down_answers_503_then_200_once_redis_is_up(
    tmp_path: Path,
) -> None:
    """A restart during a Redis outage must not crash-loop: serve starts, says 503, and
    resumes by itself when Redis comes back."""
    import shutil

    from conftest import no_redis

    binary = shutil.which("redis-server")
    if binary is None:
        no_redis("redis-server is needed to bring Redis up during the test")
    redis_port, port = _free_port(), _free_port()
    env = {
        **os.environ,
        "DEPLOYBOT_CONFIG": str(DEMO),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "SEMAPHORE_API_URL": "http://127.0.0.1:9/api/v1alpha",
        "SEMAPHORE_API_TOKEN": "serve-test-token",
        "SEMAPHORE_WEBHOOK_SECRET": "serve-test-secret",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    redis: subprocess.Popen[bytes] | None = None
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        down = await _poll_status(url, 503)
        assert down.json()["checks"]["redis"] is False
        redis = subprocess.Popen(
            [binary or "redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        up = await _poll_status(url, 200, within=40)
        assert up.json()["checks"]["redis"] is True
    finally:
        _, stderr = await _sigterm_and_time_the_exit(process)
        if redis is not None:
            redis.terminate()
            redis.wait(timeout=10)
    assert "Traceback" not in stderr, stderr
    assert "Redis is unavailable" in stderr  # said once, in a sentence


async def _poll_status(url: str, status: int, within: float = 20) -> httpx.Response:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            try:
                response = await http.get(url)
                if response.status_code == status:
                    return response
            except httpx.TransportError:
                pass
            assert loop.time() < deadline, f"{url} did not answer {status} within {within} s"
            await asyncio.sleep(0.1)


def test_serve_on_a_port_already_taken_says_so_in_a_sentence() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_serve(
            {"DEPLOYBOT_CONFIG": str(DEMO), "SEMAPHORE_API_URL": "http://127.0.0.1:9/api",
             "SEMAPHORE_API_TOKEN": "t", "SEMAPHORE_WEBHOOK_SECRET": "s"},
            "--host", "127.0.0.1", "--port", str(port),
        )  # fmt: skip
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr and "Unclosed" not in result.stderr


@pytest.mark.redis
@pytest.mark.parametrize("level", ["info", "debug"])
async def test_serve_is_quiet_by_default_and_says_it_stopped_cleanly(
    redis_server: str, level: str
) -> None:
    """Issue 15 item 12: no line per Semaphore call at the default level (`--log-level debug`
    shows them), and SIGTERM ends with one line saying the stop was clean."""
    port = _free_port()
    async with Simulator(default_duration=0.1) as sim:
        env = {
            **os.environ,
            "DEPLOYBOT_CONFIG": str(EXAMPLE),
            "SEMAPHORE_API_URL": sim.base_url,
            "SEMAPHORE_API_TOKEN": "serve-test-token",
            "SEMAPHORE_WEBHOOK_SECRET": "serve-test-secret",
            "REDIS_URL": redis_server,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", level,
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert (await _poll_health(f"http://127.0.0.1:{port}/healthz")).status_code == 200
            await asyncio.sleep(0.5)  # the start's reconciliation calls Semaphore
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    text = stderr.decode()
    assert process.returncode == 0, text
    assert ("HTTP Request:" in text) is (level == "debug"), text[-2000:]
    last = text.rstrip().splitlines()[-1] if level == "info" else text
    assert "deploybot stopped cleanly" in last, text[-2000:]


def test_the_bolt_app_is_built_without_the_unused_token_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    settings = Settings(slack_bot_token="xoxb-from-the-environment", slack_signing_secret="s")
    with caplog.at_level(logging.DEBUG):
        build_bolt_app(settings, web_client(settings))
    assert not [r for r in caplog.records if "will be unused" in r.getMessage()]
    assert os.environ["SLACK_BOT_TOKEN"] == "xoxb-from-the-environment"  # put back
