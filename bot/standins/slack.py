"""A stand-in for Slack's Web API on loopback: it answers the methods deploybot uses, records
every call in order, and can be told to fail (429 with Retry-After, or 500) to test how the
bot copes. Point `SLACK_API_URL` (an `AsyncWebClient`'s `base_url`) at `url + "/api/"`.

Response URLs of slash commands and interactions are served too (`response_url(name)`), so a
reply sent with `respond()` is recorded like any other call.

A person can read what was recorded: `GET /` is a page listing the calls newest first, and
`GET /_standin/calls` the same as JSON (bot.standins.viewer). On its own:
`python -m bot.standins.slack --port 9100` (bot.standins.slack_main).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.http.server import RunningServer, start_server
from bot.standins import viewer

BOT_USER = "UDEPLOYBOT"
TEAM = "T0DEPLOY"


@dataclass(frozen=True)
class Call:
    method: str
    args: dict[str, Any]
    status: int
    #: What the stand-in answered (e.g. the `ts` of a posted message).
    answer: dict[str, Any] = field(default_factory=dict)
    #: When the request arrived (`time.monotonic()` of this process), for timing a reply.
    at: float = field(default_factory=time.monotonic, compare=False)
    #: When the request arrived on the wall clock (`time.time()`), for people to read.
    wall: float = field(default_factory=time.time, compare=False)

    @property
    def blocks(self) -> list[dict[str, Any]]:
        raw = self.args.get("blocks") or (self.args.get("view") or {}).get("blocks") or []
        return list(json.loads(raw) if isinstance(raw, str) else raw)

    def text(self) -> str:
        """Everything a person would read in this call: its text and its blocks' texts."""
        parts = [str(self.args.get("text", ""))]
        parts += [json.dumps(self.blocks)]
        return "\n".join(parts)


@dataclass
class _Failure:
    status: int
    retry_after: int
    remaining: int


@dataclass
class SlackStandIn:
    """The recorder; `start()` serves it on a free loopback port."""

    groups: dict[str, list[str]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    server: RunningServer | None = None
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _failures: dict[str, _Failure] = field(default_factory=dict)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    #: Method -> its first call recorded, and the futures of those waiting for one.
    _first: dict[str, Call] = field(default_factory=dict)
    _awaited: dict[str, asyncio.Future[Call]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        assert self.server is not None, "start() the stand-in first"
        return self.server.url

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str = "r") -> str:
        return f"{self.url}/response/{name}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> SlackStandIn:
        """Serve on `host`:`port` (0: a free port)."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response)
        app.router.add_get("/", self._page)
        app.router.add_get("/_standin/calls", self._calls)
        self.server = await start_server(app, host, port, access_log=False)
        return self

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()

    def fail(self, method: str, status: int = 429, *, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` calls of `method` get `status` (429 carries Retry-After)."""
        self._failures[method] = _Failure(status, retry_after, times)

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.status == 200]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until `count` successful calls of `method` were recorded."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.of(method)) >= count), timeout
            )
        return self.of(method)

    async def first(self, method: str, timeout: float = 5.0) -> Call:
        """The first call of `method` recorded (any status), waiting for it up to `timeout`
        seconds; without scanning `calls`, so thousands of waiters cost nothing."""
        if (call := self._first.get(method)) is not None:
            return call
        future = self._awaited.get(method)
        if future is None:
            future = self._awaited[method] = asyncio.get_running_loop().create_future()
        return await asyncio.wait_for(asyncio.shield(future), timeout)

    async def _record(self, call: Call) -> None:
        self._first.setdefault(call.method, call)
        if (future := self._awaited.pop(call.method, None)) is not None and not future.done():
            future.set_result(call)
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        method = request.match_info["method"]
        args = await _arguments(request)
        failure = self._failures.get(method)
        if failure is not None and failure.remaining > 0:
            failure.remaining -= 1
            await self._record(Call(method, args, failure.status, at=at))
            headers = {"Retry-After": str(failure.retry_after)} if failure.status == 429 else {}
            body = {"ok": False, "error": "ratelimited" if failure.status == 429 else "fatal_error"}
            return web.json_response(body, status=failure.status, headers=headers)
        answer = self._answer(method, args)
        await self._record(Call(method, args, 200, answer, at=at))
        return web.json_response(answer)

    async def _response(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        args = await _arguments(request)
        await self._record(Call(f"response:{request.match_info['name']}", args, 200, at=at))
        return web.json_response({"ok": True})

    async def _page(self, request: web.Request) -> web.Response:
        refresh = request.query.get("refresh", "")
        seconds = int(refresh) if refresh.isdigit() else viewer.REFRESH
        return web.Response(
            text=viewer.page(self.calls, refresh=min(seconds, 3600)),
            content_type="text/html",
            headers={"Cache-Control": "no-store"},
        )

    async def _calls(self, request: web.Request) -> web.Response:
        return web.json_response({"calls": viewer.as_json(self.calls)})

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        ts = f"1700000000.{next(self._ts):06d}"
        channel = args.get("channel", "C0STANDIN")
        answers: dict[str, dict[str, Any]] = {
            "auth.test": {
                "user_id": BOT_USER,
                "team_id": TEAM,
                "bot_id": "B0DEPLOYBOT",
                "user": "deploybot",
            },
            "chat.postMessage": {
                "channel": channel,
                "ts": ts,
                "message": {"ts": ts, "text": args.get("text", "")},
            },
            "chat.update": {"channel": channel, "ts": args.get("ts", ts)},
            "chat.postEphemeral": {"message_ts": ts},
            "views.publish": {"view": {"id": f"V{ts}"}},
            "views.open": {"view": {"id": f"V{ts}"}},
            "views.update": {"view": {"id": f"V{ts}"}},
            "usergroups.users.list": {"users": self.groups.get(str(args.get("usergroup", "")), [])},
        }
        return {"ok": True, **answers.get(method, {})}


async def _arguments(request: web.Request) -> dict[str, Any]:
    if request.method == "GET":
        return dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        return dict(body) if isinstance(body, dict) else {"body": body}
    form = await request.post()
    return {key: str(value) for key, value in form.items()}


if __name__ == "__main__":  # python -m bot.standins.slack
    from bot.standins.slack_main import main

    raise SystemExit(main())
