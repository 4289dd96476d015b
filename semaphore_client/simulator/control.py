"""The control API under ``/_sim/`` (no token): push commits, script outcomes, read events.

See ``semaphore_client/README.md`` for the request and answer shapes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml
from aiohttp import web
from pydantic import ValidationError

from semaphore_client.simulator.clock import ManualClock
from semaphore_client.simulator.notifications import RuleFilter
from semaphore_client.simulator.parsing import read_json, read_params
from semaphore_client.simulator.records import SimError, iso
from semaphore_client.simulator.webhooks import Chaos
from semaphore_client.simulator.world import OutcomeDef, PipelineDef

if TYPE_CHECKING:
    from semaphore_client.simulator.server import Simulator

PREFIX = "/_sim"
#: A workflow's ``triggered_by``, in the order of its wire integers.
TRIGGERS = ("hook", "schedule", "api", "manual_run")


class ControlApi:
    def __init__(self, simulator: Simulator) -> None:
        self.sim = simulator
        self.engine = simulator.engine

    def register(self, app: web.Application) -> None:
        app.router.add_post(PREFIX + "/push", self.push)
        app.router.add_post(PREFIX + "/outcomes", self.script)
        app.router.add_get(PREFIX + "/events", self.events)
        app.router.add_post(PREFIX + "/reset", self.reset)
        app.router.add_post(PREFIX + "/advance", self.advance)
        app.router.add_get(PREFIX + "/world", self.world)
        app.router.add_put(PREFIX + "/webhook", self.webhook)

    async def push(self, request: web.Request) -> web.Response:
        body = await read_params(request, form=False)
        project = self.engine.world.project(str(body.get("project", "")))
        if project is None:
            raise SimError(404, f"unknown project {body.get('project')!r}")
        self.engine.catch_up()
        if not project.run_on:
            return web.json_response({"workflow_id": None, "pipeline_id": None, "paused": True})
        tag, pull_request = _reference(body)
        try:
            workflow, pipeline = self.engine.start_workflow(
                project.name,
                branch=_text(body, "branch", "main"),
                tag=tag,
                pull_request=pull_request,
                commit_sha=_text(body, "commit_sha", "") or None,
                commit_message=_text(body, "commit_message", ""),
                pipeline_file=_text(body, "pipeline_file", "") or None,
                triggered_by=_trigger(body),
                files=_files(body.get("files")),
                author=_text(body, "author", "") or "simulator",
            )
        except KeyError as exc:
            raise SimError(400, f"unknown pipeline file {exc}") from None
        return web.json_response({"workflow_id": workflow.wf_id, "pipeline_id": pipeline.ppl_id})

    async def script(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        items = body if isinstance(body, list) else [body]
        try:
            outcomes = [OutcomeDef.model_validate(item) for item in items]
        except ValidationError as exc:
            raise SimError(400, _first_error(exc)) from None
        self.engine.scripts.items.extend(outcomes)
        return web.json_response({"outcomes": len(self.engine.scripts.items)})

    async def events(self, request: web.Request) -> web.Response:
        self.engine.catch_up()
        since = request.query.get("since", "0")
        if not since.isdigit():
            raise SimError(400, "since must be a non-negative integer")
        return web.json_response({"events": self.engine.events[int(since) :]})

    async def reset(self, request: web.Request) -> web.Response:
        self.engine.reset()
        return web.json_response({"ok": True})

    async def advance(self, request: web.Request) -> web.Response:
        if not isinstance(self.sim.clock, ManualClock):
            raise SimError(409, "the simulator runs on the wall clock; start it with a manual one")
        body = await read_params(request, form=False)
        seconds = body.get("seconds")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise SimError(400, "seconds must be a non-negative number")
        await self.sim.advance(float(seconds))
        return web.json_response({"now": iso(self.sim.clock.now())})

    async def world(self, request: web.Request) -> web.Response:
        world = self.engine.world
        projects = [
            {
                "name": project.name,
                "id": project.id,
                "pipeline_file": project.pipeline_file,
                "pipelines": list(project.pipelines),
                "deployment_targets": [
                    {"name": t.spec.name, "id": t.id, "active": not t.cordoned}
                    for t in self.engine.targets.values()
                    if t.project is project
                ],
            }
            for project in world.projects
        ]
        return web.json_response(
            {
                "organization": world.organization,
                "organization_id": world.organization_id,
                "now": iso(self.sim.clock.now()),
                "projects": projects,
            }
        )

    async def webhook(self, request: web.Request) -> web.Response:
        body = await read_params(request, form=False)
        url, secret = body.get("url"), body.get("secret")
        if url is not None and not isinstance(url, str):
            raise SimError(400, "url must be a string or null")
        try:
            rule = RuleFilter.model_validate(body.get("filter") or {})
        except ValidationError as exc:
            raise SimError(
                400, "filter." + _first_error(exc).replace("Value error, ", "")
            ) from None
        timeout_ms = _bounded(body, "timeout", 500, 1, 15000)
        retries = _bounded(body, "retries", 0, 0, 5)
        chaos = _chaos(body.get("chaos"))
        self.sim.webhooks.configure(url, str(secret) if secret else None, rule,
                                    timeout=timeout_ms / 1000, retries=retries, chaos=chaos)  # fmt: skip
        answer: dict[str, Any] = {"url": url, "signed": bool(secret), "timeout": timeout_ms,
                                  "retries": retries}  # fmt: skip
        if chaos != Chaos():
            answer["chaos"] = {"drop": chaos.drop, "duplicate": chaos.duplicate,
                               "reorder": chaos.reorder, "seed": chaos.seed}  # fmt: skip
        if "filter" in body:
            answer["filter"] = rule.model_dump(exclude_defaults=True)
        return web.json_response(answer)


def _files(value: Any) -> dict[str, PipelineDef]:
    """A push's own versions of pipeline files: `{".semaphore/deploy-prod.yml": "<yaml>"}`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SimError(400, "files must map pipeline file paths to their YAML text")
    files: dict[str, PipelineDef] = {}
    for path, text in value.items():
        if not isinstance(text, str):
            raise SimError(400, f"files[{path!r}] must be the file's YAML text")
        try:
            files[str(path)] = PipelineDef.model_validate(yaml.safe_load(text))
        except (yaml.YAMLError, ValidationError) as exc:
            why = _first_error(exc) if isinstance(exc, ValidationError) else "not YAML"
            raise SimError(400, f"files[{path!r}] is not a valid pipeline file: {why}") from None
    return files


def _bounded(body: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    """An integer setting of the notification rule's webhook (`timeout` in ms, `retries`)."""
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SimError(400, f"{key} must be an integer from {low} to {high}")
    return value


def _chaos(value: Any) -> Chaos:
    """`{"drop": 0.2, "duplicate": 0.1, "reorder": true, "seed": 7}`: what the network does
    to deliveries."""
    if value is None:
        return Chaos()
    if not isinstance(value, dict) or set(value) - {"drop", "duplicate", "reorder", "seed"}:
        raise SimError(400, "chaos must be an object with drop, duplicate, reorder and seed")
    fractions = {key: value.get(key, 0.0) for key in ("drop", "duplicate")}
    for key, fraction in fractions.items():
        if isinstance(fraction, bool) or not isinstance(fraction, int | float):
            raise SimError(400, f"chaos.{key} must be a fraction from 0 to 1")
        if not 0 <= fraction <= 1:
            raise SimError(400, f"chaos.{key} must be a fraction from 0 to 1")
    reorder, seed = value.get("reorder", False), value.get("seed", 0)
    if not isinstance(reorder, bool) or isinstance(seed, bool) or not isinstance(seed, int):
        raise SimError(400, "chaos.reorder must be true or false and chaos.seed an integer")
    return Chaos(drop=float(fractions["drop"]), duplicate=float(fractions["duplicate"]),
                 reorder=reorder, seed=seed)  # fmt: skip


def _trigger(body: dict[str, Any]) -> int:
    """Who starts the workflow: ``hook`` (a push, the default), ``schedule`` (a scheduler's
    run, e.g. a nightly pipeline file), ``api`` or ``manual_run``."""
    name = _text(body, "triggered_by", "hook")
    if name not in TRIGGERS:
        raise SimError(400, f"triggered_by must be one of {', '.join(TRIGGERS)}")
    return TRIGGERS.index(name)


def _reference(body: dict[str, Any]) -> tuple[str, str]:
    """(tag, pull request number) of a push: at most one of them; "" when absent."""
    tag = _text(body, "tag", "")
    number = body.get("pull_request")
    if number is None:
        return tag, ""
    if tag:
        raise SimError(400, "give a tag or a pull_request, not both")
    if isinstance(number, bool) or not isinstance(number, int | str) or not str(number).isdigit():
        raise SimError(400, "pull_request must be a pull request number")
    if int(number) < 1:
        raise SimError(400, "pull_request must be a pull request number")
    return "", str(int(number))


def _text(body: dict[str, Any], key: str, default: str) -> str:
    value = body.get(key, default)
    if not isinstance(value, str):
        raise SimError(400, f"{key} must be a string")
    return value


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    return f"{where}: {error['msg']}"
