"""Issue 12 `stop-then-rollback` (commits `base`, `A`): an alarm fails A while its prod
pipeline runs; deploybot stops the pipeline, and the rollback to base starts only once
Semaphore shows the stopped pipeline done (a stopping pipeline still runs its epilogues, and
Semaphore lets the next pipeline of the queue start beside it)."""

from __future__ import annotations

from bot.core.model import DeploymentKind
from bot.scenarios.holds import _alert, alert
from bot.scenarios.play import Play


async def stop_then_rollback(play: Play) -> None:
    await play.push("base")
    await play.wait("base deployed to prod", lambda: play.deployed("prod", "base"))
    await play.outcome("deploy-prod.yml", "A", duration=30)  # a long deployment
    await play.push("A")
    await play.pipeline("deploy-prod.yml", "A", "running")
    await _alert(play, alert("firing", play.clock()))

    async def rolled_back() -> bool:
        return await play.finished("prod", "base", DeploymentKind.ROLLBACK) is not None

    await play.wait("the rollback of prod to base", rolled_back)
