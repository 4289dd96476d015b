"""Changes are ordered by when their CI pipeline was created, to the microsecond (found by the
randomized system test, seed 28): a webhook gives whole seconds, so two pushes in one second
tied, and the one whose news came last superseded the newer one, which never deployed."""

from __future__ import annotations

from tests.service.sim_rig import rig

A, B = "a" * 40, "b" * 40


async def test_two_pushes_in_one_second_deploy_the_newer_whatever_order_news_arrives() -> None:
    async with rig() as r:
        await r.sim.advance(1.1 - r.sim.clock.now() % 1)  # early in a second
        _, first = r.sim.engine.start_workflow("demo", commit_sha=A)
        await r.sim.advance(0.3)  # the same second
        _, second = r.sim.engine.start_workflow("demo", commit_sha=B)
        await r.sim.advance(2.5)  # both CI pipelines pass (one queue: one after the other)
        assert first.result == second.result == "passed"
        await r.webhook(second)  # the newer push's news first, then the older's
        await r.webhook(first)
        beta = await r.state("beta")
        live = [beta.current] if beta.current else []
        assert [d.change.sha for d in [*live, *beta.queue]] == [B]
        [a] = [d for d in await r.orchestrator.stages.store.history("demo", "beta")]
        assert (a.change.sha, a.state, a.outcome) == (A, "superseded", f"newer change {B[:7]}")
