"""`Play`: what a scenario script holds: the harness, its commits by label, and waits that say
what they wait for (a scenario that gets stuck names the step, never hangs).

    ScenarioError
      ├── ScenarioStuck        a step did not happen in time
      ├── UnknownScenario      (catalog) no scenario by that name
      └── NoVariant            (catalog) the scenario has no --without-bot variant
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.core.model import Deployment, DeploymentKind, DeploymentState
from bot.errors import DeploybotError
from bot.orchestrator import Orchestrator
from bot.scenarios.harness import Harness
from bot.scenarios.record import commit_sha

#: How long one step of a scenario may take before the scenario is declared stuck.
STEP_TIMEOUT = 15.0
POLL = 0.05


class ScenarioError(DeploybotError):
    """The root of the scenario runner's errors."""


class ScenarioStuck(ScenarioError):
    def __init__(self, what: str, timeout: float) -> None:
        super().__init__(f"stuck: {what} did not happen within {timeout:g}s")
        self.what, self.timeout = what, timeout


Check = Callable[[], Awaitable[bool]]


@dataclass
class Play:
    harness: Harness
    #: The bot's clock (a scenario may run it ahead or behind the wall clock).
    clock: Callable[[], datetime]
    commits: dict[str, str] = field(default_factory=dict)
    #: What the scenario itself did that no log shows (a crash, a restart), by wall clock.
    notes: list[tuple[datetime, str]] = field(default_factory=list)
    project: str = "demo"

    def sha(self, label: str) -> str:
        return self.commits.setdefault(label, commit_sha(label))

    @property
    def orchestrator(self) -> Orchestrator:
        """The running bot's orchestrator (a new one after a restart)."""
        return self.harness.runtime.orchestrator

    def label(self, sha: str) -> str:
        return next((label for label, known in self.commits.items() if known == sha), sha[:7])

    def note(self, text: str, at: datetime | None = None) -> None:
        self.notes.append((at or datetime.now(UTC), text))

    # -- Semaphore ------------------------------------------------------------------------

    async def push(self, label: str, **ref: Any) -> None:
        """Push commit `label` to main (or build it for `tag=`, `pull_request=` and `branch=`)."""
        await self.harness.push(self.sha(label), f"change {label}", **ref)

    async def outcome(self, pipeline_file: str, label: str | None = None, **script: Any) -> None:
        """Script the pipelines of `pipeline_file` (of commit `label`, or all of them)."""
        if label is not None:
            script["commit_sha"] = self.sha(label)
        await self.harness.script(pipeline_file=pipeline_file, **script)

    async def pipeline(self, file: str, label: str, reached: str) -> dict[str, Any]:
        """Wait for the pipeline of `file` for `label` to reach a state or a result."""

        async def check() -> bool:
            return await self._pipeline_event(file, label, reached) is not None

        await self.wait(f"{file} of {label} reaching {reached!r}", check)
        found = await self._pipeline_event(file, label, reached)
        assert found is not None
        return found

    async def _pipeline_event(self, file: str, label: str, reached: str) -> dict[str, Any] | None:
        sha = self.sha(label)
        for event in await self.harness.sim_events("pipeline"):
            if event["commit_sha"] != sha or not event["pipeline_file"].endswith(f"/{file}"):
                continue
            done = event["state"] == "done"
            if event["state"] == reached or (done and event["result"] == reached):
                return dict(event)
        return None

    # -- deploybot ------------------------------------------------------------------------

    async def deployed(self, stage: str, label: str) -> bool:
        return await self.harness.deployed(stage, self.sha(label))

    async def queued(self, stage: str, label: str) -> bool:
        state = await self.harness.store.load(self.project, stage)
        return any(d.change.sha == self.sha(label) for d in state.queue)

    async def baking(self, stage: str, label: str) -> bool:
        current = (await self.harness.store.load(self.project, stage)).current
        if current is None or current.change.sha != self.sha(label):
            return False
        return current.state is DeploymentState.BAKING

    async def finished(self, stage: str, label: str, kind: DeploymentKind) -> Deployment | None:
        """The newest finished deployment of `kind` of `label` on `stage`."""
        for deployment in await self.harness.store.history(self.project, stage):
            if deployment.kind is kind and deployment.change.sha == self.sha(label):
                return deployment
        return None

    # -- time -----------------------------------------------------------------------------

    async def wait(self, what: str, check: Check, timeout: float = STEP_TIMEOUT) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await check():
            if loop.time() > deadline:
                raise ScenarioStuck(what, timeout)
            await asyncio.sleep(POLL)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
