"""Issue 12's `target-cordoned` (commit `A`): a person deactivates prod's deployment target in
Semaphore. With deploybot, A's prod promotion is refused, A waits on prod behind a blocker that
names Semaphore's reason, and deploys once the target is active again. On Semaphore alone
(`--without-bot`, promotions automatic), the auto-promotion to prod fails (`cordoned_target`)
and A never reaches prod, even after the target is active again.
"""

from __future__ import annotations

from bot.scenarios.play import Play
from semaphore_client import SemaphoreClient


async def set_target(play: Play, name: str, active: bool) -> None:
    """A person (de)activates a deployment target in Semaphore's UI (its public API)."""
    sim = play.harness.sim
    async with SemaphoreClient(token="a-person", base_url=sim.base_url) as client:
        project = await client.describe_project(play.project)
        target = await client.find_deployment_target(project.id, name)
        assert target is not None, f"no deployment target {name!r}"
        if active:
            await client.activate_deployment_target(target.id)
        else:
            await client.deactivate_deployment_target(target.id)
    play.note(f"a person {'activates' if active else 'deactivates'} the {name} target")


async def target_cordoned_with_bot(play: Play) -> None:
    await set_target(play, "prod", active=False)
    await play.push("A")

    async def held() -> bool:
        state = await play.harness.store.load(play.project, "prod")
        waiting = [d for d in state.queue if d.change.sha == play.sha("A")]
        return bool(waiting) and any(b.id == "target-inactive" for b in state.blockers)

    await play.wait("A held on prod by the deactivated target", held)
    await play.sleep(1.0)  # still held: nothing retries in a loop
    await set_target(play, "prod", active=True)
    await play.orchestrator.reconcile()  # what the next reconciliation does
    await play.wait("A deployed to prod", lambda: play.deployed("prod", "A"))


async def target_cordoned_alone(play: Play) -> None:
    await set_target(play, "prod", active=False)
    await play.push("A")
    await play.pipeline("deploy-beta.yml", "A", "passed")
    await play.sleep(1.5)  # Semaphore's auto-promotion to prod is tried, and fails
    await set_target(play, "prod", active=True)
    await play.sleep(1.5)  # nothing tries it again


async def emergency_cascades_alone(play: Play) -> None:
    """DESIGN problem 6 on Semaphore alone (promotions automatic): beta is frozen the only way
    Semaphore can, its target deactivated, so A's automatic promotion to beta fails. The
    emergency: a person activates beta and promotes A there by hand. Beta's deploy passes and
    its automatic promotion to prod fires: A reaches prod too, during the freeze."""
    await play.push("base")
    await play.pipeline("deploy-prod.yml", "base", "passed")
    await set_target(play, "beta", active=False)
    await play.push("A")
    ci = await play.pipeline("semaphore.yml", "A", "passed")
    await play.sleep(1.0)  # the automatic promotion to beta is tried, and fails
    await set_target(play, "beta", active=True)
    sim = play.harness.sim
    async with SemaphoreClient(token="a-person", base_url=sim.base_url) as client:
        await client.trigger_promotion(ci["pipeline_id"], "beta")
    play.note("a person promotes A to beta by hand: the emergency")
    await play.pipeline("deploy-beta.yml", "A", "passed")
    await set_target(play, "beta", active=False)
    await play.sleep(2.0)  # beta's automatic promotion to prod: does it fire?
