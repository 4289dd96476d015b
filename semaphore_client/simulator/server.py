"""``Simulator``: the engine behind an aiohttp server, startable in-process on a free port.

    async with Simulator(default_duration=0.05) as sim:
        client = SemaphoreClient(token="any", base_url=sim.base_url)

On the wall clock a background task fires pipeline timers as they fall due; with a
:class:`ManualClock` nothing moves until :meth:`Simulator.advance` (or ``POST /_sim/advance``).
``gofer=GoferTimes(delay=, deadline=, target_deadline=)`` sets how long a promotion trigger
takes to be scheduled and when Gofer gives up on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType

from aiohttp import web

from semaphore_client.simulator.api import PREFIX, PublicApi, error_response
from semaphore_client.simulator.clock import Clock, ManualClock, WallClock
from semaphore_client.simulator.control import ControlApi
from semaphore_client.simulator.engine import Engine
from semaphore_client.simulator.records import SimError, SimPipeline
from semaphore_client.simulator.tasks import end_task
from semaphore_client.simulator.triggers import GoferTimes
from semaphore_client.simulator.webhooks import WebhookSender
from semaphore_client.simulator.world import World, default_world

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure is a 4xx/5xx with a reason, never a traceback."""
    try:
        return await handler(request)
    except SimError as error:
        if request.path.startswith(PREFIX):
            return error_response(request.path, error)
        return web.json_response({"error": error.message}, status=error.status)
    except web.HTTPException as exc:
        return web.json_response({"error": exc.reason}, status=exc.status)
    except Exception:
        log.exception("simulator failed on %s %s", request.method, request.path)
        if request.path.startswith(PREFIX):
            return error_response(request.path, SimError(500, "Internal error"))
        return web.json_response({"error": "internal simulator error"}, status=500)


class Simulator:
    def __init__(
        self,
        world: World | None = None,
        *,
        token: str | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        default_duration: float = 1.0,
        clock: Clock | None = None,
        gofer: GoferTimes | None = None,
        stop_delay: float = 0.3,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.world = world or default_world()
        self.clock = clock or WallClock()
        self.engine = Engine(self.world, self.clock, default_duration, gofer, stop_delay)
        self.webhooks = WebhookSender(self.world, self._delivered)
        self.webhooks.configure(webhook_url, webhook_secret)
        self.engine.done_listeners.append(self.webhooks.pipeline_done)
        self.token = token
        self.host, self.port = host, port
        self._wake = asyncio.Event()
        self.engine.on_timer_added = self._wake.set
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What ``SemaphoreClient(base_url=...)`` / ``SEMAPHORE_API_URL`` should be."""
        return self.url + PREFIX

    def app(self) -> web.Application:
        app = web.Application(middlewares=[_errors])
        PublicApi(self.engine, self.token).register(app)
        ControlApi(self).register(app)
        return app

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = int(self._runner.addresses[0][1])
        await self.webhooks.start()
        if not isinstance(self.clock, ManualClock):
            self._ticker = asyncio.create_task(self._tick())
        return self.base_url

    async def stop(self) -> None:
        if self._ticker is not None:
            await end_task(self._ticker)
        await self.webhooks.stop()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def advance(self, seconds: float) -> None:
        """Move a manual clock forward, firing every timer due on the way, in order."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("advance() needs a ManualClock")
        self.clock.advance(seconds)
        self.engine.run_until(self.clock.now())
        await asyncio.sleep(0)

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Poll ``condition`` (wall clock) until it holds; ``TimeoutError`` after ``timeout``."""
        async with asyncio.timeout(timeout):
            while True:
                self.engine.catch_up()
                if condition():
                    return
                await asyncio.sleep(0.005)

    async def drain_webhooks(self) -> None:
        await self.webhooks.drain()

    async def _tick(self) -> None:
        while True:
            self._wake.clear()
            try:
                self.engine.catch_up()
            except Exception:
                log.exception("simulator engine failed; pipelines may be stuck")
            due = self.engine.next_due()
            delay = None if due is None else max(0.0, due - self.clock.now())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def _delivered(self, pipeline: SimPipeline, outcome: str, status: int | None) -> None:
        self.engine.catch_up()
        self.engine.emit(
            "webhook",
            pipeline_id=pipeline.ppl_id,
            workflow_id=pipeline.workflow.wf_id,
            pipeline_file=pipeline.path,
            commit_sha=pipeline.workflow.commit_sha,
            state=outcome,
            result=pipeline.result,
            result_reason=pipeline.result_reason,
            http_status=status,
        )
