"""A promotion Semaphore refuses because a person deactivated the stage's deployment target
holds the change instead of dropping it (issue 13 item 6): the change waits at the head of the
queue behind a blocker that names Semaphore's reason, and the blocker lifts by itself at
reconciliation once the target is active again. The orchestrator and adapter against the
simulator's own world (targets beta and prod)."""

from __future__ import annotations

from pathlib import Path

import semaphore_client.simulator
from bot.core.decision import NoticeKind
from bot.core.model import BlockerKind
from tests.service.sim_rig import Rig, rig

WORLD = (Path(semaphore_client.simulator.__file__).parent / "default_world.yml").read_text()
CONFIG = """
roles: {block: [U0BLOCK]}
projects:
  - name: demo
    channel: C0DEMO
    stages:
      - {name: beta, promotion: beta, bake: 0s}
      - {name: prod, promotion: prod, bake: 0s}
"""
A = "a" * 40


async def settle(r: Rig, seconds: float = 3) -> None:
    for _ in range(int(seconds * 2)):
        await r.sim.advance(0.5)
        await r.orchestrator.reconcile()


async def set_prod_target(r: Rig, active: bool) -> None:
    """A person (de)activates prod's deployment target in Semaphore's UI."""
    client = r.orchestrator.semaphore.client
    target = await r.orchestrator.semaphore.target_id("demo", "prod")
    assert target is not None
    if active:
        await client.activate_deployment_target(target)
    else:
        await client.deactivate_deployment_target(target)


async def test_a_deactivated_target_holds_the_change_until_it_is_active_again() -> None:
    async with rig(world=WORLD, config_text=CONFIG) as r:
        await set_prod_target(r, active=False)
        r.sim.engine.start_workflow("demo", commit_sha=A)
        await settle(r, 4)  # A deployed to beta; its prod promotion refused

        prod = await r.state("prod")
        assert prod.current is None
        assert [d.change.sha for d in prod.queue] == [A]  # held, not dropped
        [held] = prod.blockers
        assert held.kind is BlockerKind.MANUAL and "deactivated" in held.reason
        assert "cordoned" in held.reason  # Semaphore's own words
        said = [t.notice.text for t in r.told if t.notice.stage == "prod"]
        blocked = [s for s in said if s.startswith("Blocked")]
        assert len(blocked) == 1 and "active again" in blocked[0], said

        await settle(r, 2)  # still deactivated: still held, nothing said again
        assert [d.change.sha for d in (await r.state("prod")).queue] == [A]
        said_again = [t for t in r.told if t.notice.stage == "prod"]
        assert len([t for t in said_again if t.notice.kind is NoticeKind.BLOCKER_ADDED]) == 1

        await set_prod_target(r, active=True)
        await settle(r, 4)  # reconciliation sees it active: the blocker lifts, A deploys
        prod = await r.state("prod")
        assert prod.blockers == () and prod.good and prod.good[0].change.sha == A
        lifted = [t.notice.text for t in r.told if t.notice.kind is NoticeKind.BLOCKER_LIFTED]
        assert any("prod" in t or "deactivated" in t for t in lifted), lifted
