"""A deployment never takes another deployment's pipeline as its own (found by the randomized
system test, seed 1057): a roll-forward stopped by an alarm before deploybot knew its pipeline
is in the history without it; an emergency of the same change, promoted from the same CI
pipeline by the same promotion a moment later, took that stopped pipeline as its own, and the
stage waited on it for ever. The orchestrator and the adapter against the simulator."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core import events as ev
from bot.core.model import DeploymentKind, DeploymentState
from tests.service.sim_rig import WORLD, rig

A = "a" * 40
# beta behind a deployment target: Gofer shows the promotions row only once it starts
# triggering, so for a moment the only row of the promotion is the earlier one.
TARGETED = WORLD.replace(
    "    pipelines:", "    deployment_targets: [{name: beta}]\n    pipelines:", 1
).replace(
    "{name: beta, pipeline_file: deploy-beta.yml}",
    "{name: beta, pipeline_file: deploy-beta.yml, deployment_target: beta}",
)


async def test_an_emergency_after_a_stopped_rollforward_takes_its_own_pipeline() -> None:
    async with rig(world=TARGETED) as r:
        r.sim.engine.start_workflow("demo", commit_sha=A)
        await r.sim.advance(1)
        await r.orchestrator.reconcile()  # A's CI passed: A's promotion to beta is triggered
        await r.sim.advance(0.6)  # Semaphore started A's beta pipeline; deploybot has not looked
        first = (await r.state("beta")).current
        assert first is not None and first.deploy_pipeline_id == ""
        now = datetime.fromtimestamp(r.sim.clock.now(), UTC)
        alarm = ev.AlarmFiring(id="alarm-1", alarm="errors", reason="errors", started=now)
        await r.orchestrator.stages.handle("demo", "beta", alarm)  # A fails and is stopped
        [stopped] = [p for p in r.sim.engine.pipelines.values() if p.path.endswith("beta.yml")]
        for _ in range(4):  # the stopped pipeline ends; reconciliation sees it
            await r.sim.advance(0.5)
            await r.orchestrator.reconcile()
        assert stopped.result == "stopped" and (await r.state("beta")).stopping == ()
        lifted = ev.AlarmResolved(id="alarm-1-ok", alarm="errors", started=now)
        await r.orchestrator.stages.handle("demo", "beta", lifted)

        change = first.change
        await r.orchestrator.emergency_of("demo", "beta", change, "U0SRE", "hotfix")
        for _ in range(6):
            await r.sim.advance(0.5)
            await r.orchestrator.reconcile()

        history = await r.orchestrator.stages.store.history("demo", "beta")
        finished = [d for d in history if d.kind is DeploymentKind.EMERGENCY]
        assert finished, f"the emergency never finished: beta is {await r.state('beta')}"
        [emergency] = finished
        assert emergency.state is DeploymentState.SUCCEEDED
        assert emergency.deploy_pipeline_id not in ("", stopped.ppl_id)
        assert r.pipeline(emergency.deploy_pipeline_id).result == "passed"
