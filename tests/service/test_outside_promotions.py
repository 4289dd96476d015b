"""Promotions deploybot did not trigger (issue 13 items 15 and 16): a pipeline promoted from
the same source as a deployment the bot runs never finishes that deployment unless it is the
deployment's own promotion; a deploy pipeline someone started in Semaphore's UI is recorded,
shown, and becomes last good when it passes. The orchestrator and the Semaphore adapter run
against the simulator on its manual clock, and pipelines' news arrives as the simulator's
webhook bodies."""

from __future__ import annotations

from bot.core.decision import NoticeKind
from bot.core.model import DeploymentKind, DeploymentState
from semaphore_client.simulator.world import OutcomeDef
from tests.service.sim_rig import promote, promoted, rig


async def test_another_promotion_of_the_same_source_does_not_finish_the_deployment() -> None:
    async with rig() as r:
        _, ci = r.sim.engine.start_workflow("demo", commit_sha="a" * 40)
        await r.sim.advance(1)
        await r.orchestrator.reconcile()  # A is ready: beta promoted, not scheduled yet
        running = (await r.state("beta")).current
        assert running is not None and running.deploy_pipeline_id == ""
        r.sim.engine.scripts.items.append(
            OutcomeDef(pipeline_file=".semaphore/preview.yml", result="failed", duration=0.2)
        )
        promote(r, ci.ppl_id, "preview")  # someone starts a preview from the same CI pipeline
        await r.sim.advance(0.9)
        preview = promoted(r, ci.ppl_id, "preview")
        await r.webhook(preview)  # the preview failed; beta's own pipeline is still running

        beta = await r.state("beta")
        assert beta.current is not None and beta.current.id == running.id
        assert beta.current.state is DeploymentState.RUNNING
        assert beta.current.deploy_pipeline_id not in ("", preview.ppl_id)
        assert r.said(NoticeKind.FAILED) == []


async def test_a_promotion_done_in_semaphores_ui_is_recorded_and_becomes_last_good() -> None:
    async with rig() as r:
        _, ci = r.sim.engine.start_workflow("demo", commit_sha="b" * 40, commit_message="fix")
        await r.sim.advance(1)
        await r.orchestrator.block("demo", "beta", "U0BLOCK", "DB migration")
        await r.orchestrator.reconcile()  # held by the blocker: the bot promotes nothing
        assert (await r.state("beta")).current is None
        promote(r, ci.ppl_id, "beta", user="U-alice")  # someone goes past it in Semaphore
        await r.sim.advance(2)
        beta_pipeline = promoted(r, ci.ppl_id, "beta")
        await r.webhook(beta_pipeline)

        beta = await r.state("beta")
        [outside] = beta.good
        assert outside.kind is DeploymentKind.OUTSIDE
        assert outside.change.sha == "b" * 40 and outside.deploy_pipeline_id == beta_pipeline.ppl_id
        [said] = r.said(NoticeKind.OUTSIDE_PAST_BLOCK)
        assert "U-alice" in said and "DB migration" in said and "bbbbbbb" in said
        history = await r.orchestrator.stages.store.history("demo", "beta")
        assert [d.kind for d in history] == [DeploymentKind.OUTSIDE]
        audit = await r.orchestrator.stages.store.audit("demo", "beta")
        assert any(e.action == "outside_deployment" for e in audit)

        await r.webhook(beta_pipeline)  # the same webhook again: recorded once
        assert len((await r.state("beta")).good) == 1
        assert len(r.said(NoticeKind.OUTSIDE_PAST_BLOCK)) == 1


async def test_the_bots_own_finished_pipelines_are_not_taken_for_outside_ones() -> None:
    async with rig() as r:
        r.sim.engine.start_workflow("demo", commit_sha="c" * 40)
        await r.sim.advance(1)
        await r.orchestrator.reconcile()
        await r.sim.advance(0.6)
        await r.orchestrator.reconcile()  # the bot learns its pipeline
        await r.sim.advance(1)
        beta = await r.state("beta")
        deployed = beta.current.deploy_pipeline_id if beta.current else ""
        assert deployed
        for _ in range(2):  # the webhook, and a duplicate of it after the deployment ended
            await r.webhook(r.pipeline(deployed))
        beta = await r.state("beta")
        assert [d.kind for d in beta.good] == [DeploymentKind.ROLLFORWARD]
        assert r.said(NoticeKind.OUTSIDE) == r.said(NoticeKind.OUTSIDE_PAST_BLOCK) == []
