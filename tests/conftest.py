"""Shared fixtures: a real redis-server on a free loopback port, and the stores under test.

The server is started once per session (or REDIS_URL is used when set: the tests FLUSH that
database) and flushed before every test. Without redis-server the real-Redis tests skip on a
developer's machine and FAIL under CI=true.

No test can hang the suite: pytest-timeout gives each test `timeout` seconds (pyproject.toml);
when one runs over, the hook below prints every asyncio task's stack (the task that will not
end names itself) and pytest-timeout prints every thread's, then the test fails. Should its
teardown hang as well, a backstop ends the run with the stacks. asyncio's debug mode is on, so a
coroutine never awaited or a callback that blocks the loop is reported where it happens.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import fakeredis
import pytest
import pytest_timeout
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from bot.store import MemoryStore, RedisStore, Store

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Every event loop the tests create runs in debug mode (read when a loop is created).
os.environ.setdefault("PYTHONASYNCIODEBUG", "1")

#: After a test timed out, how long its teardown may still take before the run is ended.
TEARDOWN_BACKSTOP = float(os.environ.get("TEST_TEARDOWN_BACKSTOP", "60"))


def _dump_asyncio_tasks() -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    print(f"\n+++ {len(tasks)} asyncio task(s) pending at the timeout +++", file=sys.stderr)
    for task in tasks:
        state = "cancelling" if task.cancelling() else "pending"
        print(f"--- task {task.get_name()} ({state}) ---", file=sys.stderr)
        task.print_stack(file=sys.stderr)


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    """pytest-timeout's signal method, plus the asyncio tasks' stacks and a backstop."""
    if settings.method != "signal" or threading.current_thread() is not threading.main_thread():
        return None

    def on_timeout(signum: int, frame: object) -> None:
        __tracebackhide__ = True
        _dump_asyncio_tasks()
        try:
            pytest_timeout.timeout_sigalrm(item, settings)  # prints the threads, fails the test
        finally:
            backstop = threading.Timer(
                TEARDOWN_BACKSTOP, pytest_timeout.timeout_timer, (item, settings)
            )
            backstop.daemon = True
            backstop.start()
            item.stash[_BACKSTOP] = backstop

    def cancel() -> None:  # also called when the test fails, before its teardown
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)

    item.cancel_timeout = cancel  # type: ignore[attr-defined]
    signal.signal(signal.SIGALRM, on_timeout)
    signal.setitimer(signal.ITIMER_REAL, settings.timeout)
    return True


_BACKSTOP = pytest.StashKey[threading.Timer]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[object]:
    """The backstop lasts until the test's teardown has ended."""
    try:
        return (yield)
    finally:
        if (backstop := item.stash.get(_BACKSTOP, None)) is not None:
            backstop.cancel()


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


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[int]]:
    """The ports of a 3-master Redis Cluster on loopback (no replicas), up until the session
    ends. Each node runs in a temp dir of its own; start-up waits for `cluster_state:ok`."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        no_redis("redis-server and redis-cli are needed for the Redis Cluster tests")
    assert server is not None and cli is not None
    ports = _cluster_ports(3)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            home = tmp_path_factory.mktemp(f"cluster-{port}")
            args = [server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(home),
                    "--cluster-enabled", "yes", "--cluster-config-file", str(home / "nodes.conf"),
                    "--cluster-node-timeout", "5000", "--save", "", "--appendonly", "no",
                    "--daemonize", "no"]  # fmt: skip
            procs.append(
                subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
        for port, proc in zip(ports, procs, strict=True):
            _wait_for_redis(port, proc)
        nodes = [f"127.0.0.1:{port}" for port in ports]
        created = subprocess.run(
            [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if created.returncode != 0:
            raise RuntimeError(
                f"redis-cli --cluster create failed:\n{created.stdout}{created.stderr}"
            )
        _wait_for_cluster(cli, ports)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _cluster_ports(count: int) -> list[int]:
    """Free ports whose cluster bus ports (port + 10000) are free as well."""
    ports: list[int] = []
    while len(ports) < count:
        port = _free_port()
        if port + 10000 > 65535 or port in ports:
            continue
        try:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        ports.append(port)
    return ports


def _wait_for_cluster(cli: str, ports: list[int], timeout: float = 30.0) -> None:
    """Every node says `cluster_state:ok` and knows all the others."""
    deadline = time.monotonic() + timeout
    while True:
        ready = True
        for port in ports:
            info = subprocess.run([cli, "-p", str(port), "cluster", "info"], capture_output=True,
                                  text=True, timeout=10, check=False).stdout  # fmt: skip
            if "cluster_state:ok" not in info or f"cluster_known_nodes:{len(ports)}" not in info:
                ready = False
        if ready:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Redis Cluster on {ports} is not ok after {timeout}s")
        time.sleep(0.1)


@pytest.fixture
async def redis_client(redis_server: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server, decode_responses=True)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture(
    params=[
        "memory",
        "fakeredis",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("cluster", marks=pytest.mark.redis),
    ]
)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    """Every store backend: the contract suite runs once per backend. "cluster" is a
    3-master Redis Cluster: a script whose keys span slots fails there with CROSSSLOT."""
    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "cluster":
        ports = request.getfixturevalue("redis_cluster")
        cluster = RedisCluster(host="127.0.0.1", port=ports[0], decode_responses=True)
        await cluster.flushall(target_nodes=RedisCluster.PRIMARIES)
        yield RedisStore(cluster)  # type: ignore[arg-type]
        await cluster.aclose()
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
