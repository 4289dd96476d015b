"""Pipeline-done webhooks: the documented payload, signed, POSTed in the order pipelines end.

Like Semaphore: ``Content-Type: application/json``, ``User-Agent: Semaphore-Webhook``,
``X-Semaphore-Webhook-Id`` per delivery, ``X-Semaphore-Signature-256`` (lower-case hex HMAC of
the body) only when a secret is set. Any HTTP answer counts as delivered; only a time-out is
retried (``retries`` extra attempts, 0 by default, as in a notification's ``webhook.retries``).
Only pipelines the rule's filter matches are sent (``notifications.py``; by default, all).
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from semaphore_client.signature import SIGNATURE_HEADER, sign_webhook
from semaphore_client.simulator.encode import blocks, webhook_time
from semaphore_client.simulator.notifications import RuleFilter
from semaphore_client.simulator.records import SimPipeline, SimWorkflow
from semaphore_client.simulator.tasks import end_task
from semaphore_client.simulator.world import World

Recorder = Callable[..., None]


def revision(workflow: SimWorkflow, world: World) -> dict[str, Any]:
    """``revision``: ``branch``, ``tag`` or ``pull_request`` (the other two ``null``), as in
    notifications' ``webhook/message.ex``; a pull request's ``number`` is a string."""
    kind = workflow.reference_type
    reference = {
        "branch": f"refs/heads/{workflow.branch}",
        "tag": f"refs/tags/{workflow.tag}",
        "pull_request": f"refs/pull/{workflow.pull_request}/merge",
    }[kind]
    sha = workflow.commit_sha
    pull_request = {
        "head_repo_slug": f"{world.organization}/{workflow.project.name}",
        "number": workflow.pull_request,
        "name": workflow.commit_message.splitlines()[0] if workflow.commit_message else "",
        "head_sha": sha,
        "branch_name": workflow.branch,
        "commit_range": f"{sha}^..{sha}",
    }
    return {
        "reference": reference,
        "reference_type": kind,
        "commit_sha": sha,
        "commit_message": workflow.commit_message,
        "sender": {"login": workflow.author, "email": "", "avatar_url": ""},
        "branch": {"name": workflow.branch, "commit_range": ""} if kind == "branch" else None,
        "pull_request": pull_request if kind == "pull_request" else None,
        "tag": {"name": workflow.tag} if kind == "tag" else None,
    }


def webhook_payload(p: SimPipeline, world: World) -> dict[str, Any]:
    workflow = p.workflow
    times = {
        f"{name}_at": webhook_time(p.times.get(name))
        for name in ("created", "pending", "queuing", "running", "stopping", "done")
    }
    return {
        "version": "1.0.0",
        "organization": {"name": world.organization, "id": world.organization_id},
        "project": {"name": workflow.project.name, "id": workflow.project.id},
        "repository": {
            "url": workflow.project.repository_url,
            "slug": f"{world.organization}/{workflow.project.name}",
        },
        "revision": revision(workflow, world),
        "workflow": {
            "id": workflow.wf_id,
            "initial_pipeline_id": workflow.initial_ppl_id,
            "created_at": webhook_time(workflow.created_at),
        },
        "pipeline": {
            "id": p.ppl_id,
            "yaml_file_name": p.yaml_file_name,
            "working_directory": p.working_directory,
            "name": p.spec.name,
            "state": p.state,
            "result": p.result,
            "result_reason": p.result_reason,
            "error_description": "",
            **times,
        },
        "blocks": blocks(p, webhook=True),
    }


@dataclass(frozen=True)
class Chaos:
    """What the network does to deliveries (seeded, so a run can be repeated): `drop` a
    fraction of them (recorded as `dropped`), `reorder` them (each waits a random 0 to 0.3 s
    before it is sent, so they arrive out of order), `duplicate` a fraction (sent again up to
    0.5 s later under the same webhook id, as when a retry follows an answer that came too
    late; recorded as `duplicated`)."""

    drop: float = 0.0
    reorder: bool = False
    duplicate: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class _Delivery:
    pipeline: SimPipeline
    body: bytes
    secret: str | None
    url: str
    webhook_id: str


class WebhookSender:
    """Queues one delivery per done pipeline and sends them, as Semaphore's notifications
    service does: a receive timeout of `timeout` seconds (0.5 by default), retried only on a
    timeout, up to `retries` times (0 by default), 0.5 s x 2^attempt apart with the timeout
    doubled each time, under the same `X-Semaphore-Webhook-Id`; any HTTP answer counts as
    delivered. In order, one at a time, unless `chaos` says otherwise."""

    def __init__(
        self, world: World, record: Recorder, timeout: float = 0.5, retries: int = 0
    ) -> None:
        self.world = world
        self.record = record
        self.url: str | None = None
        self.secret: str | None = None
        self.rule = RuleFilter()
        self.timeout = timeout
        self.retries = retries
        self.chaos = Chaos()
        self._random = random.Random(0)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._queue: asyncio.Queue[tuple[SimPipeline, bytes, str | None, str]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def configure(
        self,
        url: str | None,
        secret: str | None,
        rule: RuleFilter | None = None,
        *,
        timeout: float = 0.5,
        retries: int = 0,
        chaos: Chaos | None = None,
    ) -> None:
        self.url, self.secret = url or None, secret or None
        self.rule = rule or RuleFilter()
        self.timeout, self.retries = timeout, retries
        self.chaos = chaos or Chaos()
        self._random = random.Random(self.chaos.seed)

    def pipeline_done(self, pipeline: SimPipeline) -> None:
        if self.url is None or not self.rule.matches(pipeline):
            return
        body = json.dumps(webhook_payload(pipeline, self.world)).encode()
        self._queue.put_nowait((pipeline, body, self.secret, self.url))

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            await end_task(self._task)
        for task in list(self._in_flight):
            await end_task(task)
        if self._session is not None:
            await self._session.close()

    async def drain(self) -> None:
        """Wait until every queued delivery has been attempted."""
        await self._queue.join()
        while self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            pipeline, body, secret, url = await self._queue.get()
            try:
                delivery = _Delivery(pipeline, body, secret, url, str(uuid.uuid4()))
                chaos = self.chaos
                if chaos.drop and self._random.random() < chaos.drop:
                    self.record(pipeline, "dropped", None)
                    continue
                if chaos.duplicate and self._random.random() < chaos.duplicate:
                    self._in_background(self._random.uniform(0.0, 0.5), delivery, "duplicated")
                if chaos.reorder:
                    self._in_background(self._random.uniform(0.0, 0.3), delivery, "delivered")
                else:
                    await self._send(delivery, "delivered")
            finally:
                self._queue.task_done()

    def _in_background(self, delay: float, delivery: _Delivery, outcome: str) -> None:
        task = asyncio.create_task(self._later(delay, delivery, outcome))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _later(self, delay: float, delivery: _Delivery, outcome: str) -> None:
        await asyncio.sleep(delay)
        await self._send(delivery, outcome)

    async def _send(self, delivery: _Delivery, outcome: str) -> None:
        status = await self._deliver(delivery)
        self.record(delivery.pipeline, outcome if status else "failed", status)

    async def _deliver(self, delivery: _Delivery) -> int | None:
        assert self._session is not None
        body, secret, url = delivery.body, delivery.secret, delivery.url
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Semaphore-Webhook",
            "X-Semaphore-Webhook-Id": delivery.webhook_id,
        }
        if secret:
            headers[SIGNATURE_HEADER] = sign_webhook(body, secret)
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(min(0.5 * 2**attempt, 30.0))
            limit = min(self.timeout * 2**attempt, 15.0)
            timeout = aiohttp.ClientTimeout(sock_connect=1.0, sock_read=limit)
            try:
                async with self._session.post(
                    url, data=body, headers=headers, timeout=timeout, allow_redirects=False
                ) as answer:
                    return answer.status
            except TimeoutError:
                continue  # only a timeout is tried again
            except aiohttp.ClientError:
                return None
        return None
