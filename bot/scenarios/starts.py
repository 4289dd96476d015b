"""Semaphore accepts a promotion and never starts it (DESIGN.md section 4 rule 9).

Semaphore answers A's promotion to beta with 200, records it, and never schedules it: its
deployment-trigger worker gives up (`deadline_reached`) and A's history entry ends FAILED with
no pipeline. The bot sees that, says so in the channel and tries A again; B, pushed after,
goes instead of A (a newer change supersedes it) and reaches every stage. At the end nothing
is running without a pipeline.

Gofer's deadlines are shortened (seconds, not a minute) so that the scenario stays short.
"""

from __future__ import annotations

from bot.core.model import DeploymentKind, DeploymentState
from bot.scenarios.play import Play, ScenarioError
from semaphore_client.simulator import GoferTimes

GOFER = GoferTimes(delay=0.2, deadline=1.5, target_deadline=2.0)


async def promotion_never_scheduled(play: Play) -> None:
    await play.harness.script(
        promotion="beta", commit_sha=play.sha("A"), never_scheduled="deadline"
    )
    play.note("Semaphore will accept A's promotion to beta and never schedule it")
    await play.push("A")

    async def a_not_started() -> bool:
        found = await play.finished("beta", "A", DeploymentKind.ROLLFORWARD)
        return found is not None and found.outcome.startswith("not started")

    await play.wait("the bot noticing that A did not start on beta", a_not_started)
    await play.push("B")
    await play.wait("B deployed to prod", lambda: play.deployed("prod", "B"))
    for stage in play.harness.config.project(play.project).stage_names:
        current = (await play.harness.store.load(play.project, stage)).current
        running = current is not None and current.state is DeploymentState.RUNNING
        if current is not None and running and not current.deploy_pipeline_id:
            raise ScenarioError(f"{current.id} is running on {stage} without a pipeline")
