"""Issue 16's `two-person-approval` (commit `A`, pushed by alice): prod requires two approvals
from people who did not write what it ships. A waits at prod; bob approves and it still waits;
bob again is refused; erin approves, and A deploys. The audit shows both approvals."""

from __future__ import annotations

from bot.core.decision import NoticeKind
from bot.scenarios.play import Play, ScenarioError
from bot.service.approvals import awaiting

#: deploybot's configuration: the scenarios' own, with two approvers and prod's gate.
CONFIG = """
roles: {block: [U0BLOCK], approve: [U0APPROVE, U0APPROVE2], emergency: [U0EMERGENCY]}
authors: {U0APPROVE: [bob], U0APPROVE2: [erin]}
reconcile_interval: 1h
projects:
  - name: demo
    channel: C0DEMO
    stages:
      - name: beta
        promotion: beta
        bake: 1s
      - name: prod
        promotion: prod
        bake: 1s
        approval: {required: 2, allow_author: false, expires: 1h}
"""
PEOPLE = {"U0APPROVE": "bob", "U0APPROVE2": "erin"}


async def _approve(play: Play, user: str, n: int) -> list[str]:
    """`user` approves what waits on prod: what the rules said (refusals included)."""
    state = await play.harness.store.load(play.project, "prod")
    waiting = awaiting(state)
    if waiting is None:
        raise ScenarioError("nothing waits for approval on prod")
    decision = await play.orchestrator.approve(play.project, "prod", user, waiting.id, f"s{n}")
    said = [n.text for n in decision.notices] if decision else []
    refused = [n.text for n in decision.notices if n.kind is NoticeKind.REFUSED] if decision else []
    play.note(f"{PEOPLE[user]} approves: " + ("; ".join(refused) or "; ".join(said)))
    return refused


async def two_person_approval(play: Play) -> None:
    await play.push("A", author="alice")

    async def waits() -> bool:
        return awaiting(await play.harness.store.load(play.project, "prod")) is not None

    await play.wait("A waiting for approval on prod", waits)
    assert not await _approve(play, "U0APPROVE", 1)
    await play.sleep(1.0)  # one approval of two: it still waits
    if not await waits():
        raise ScenarioError("A went on with one approval of two")
    if not await _approve(play, "U0APPROVE", 2):
        raise ScenarioError("the same person approved twice")
    assert not await _approve(play, "U0APPROVE2", 3)
    await play.wait("A deployed to prod", lambda: play.deployed("prod", "A"))
