"""Emergency deployments to a stage after the first (issue 13 item 1)."""

from __future__ import annotations

from bot.core.model import DeploymentKind
from bot.scenarios.play import Play


async def emergency_to_later_stage(play: Play) -> None:
    """prod is blocked; an emergency deploys `hotfix` to prod, promoted from hotfix's beta
    deploy pipeline (where prod's promotion is declared); nothing follows it."""
    await play.push("base")
    await play.wait("base deployed to prod", lambda: play.deployed("prod", "base"))
    await play.orchestrator.block("demo", "prod", "U0BLOCK", "Launch day: hands off prod")
    await play.push("hotfix")
    await play.wait("hotfix held on prod by the block", lambda: play.queued("prod", "hotfix"))
    await play.orchestrator.emergency(
        "demo", "prod", play.sha("hotfix"), "U0EMERGENCY", "Checkout is down"
    )

    async def emergency_done() -> bool:
        return await play.finished("prod", "hotfix", DeploymentKind.EMERGENCY) is not None

    await play.wait("the emergency deployment of hotfix to prod", emergency_done)
    await play.sleep(2.0)  # time enough for anything to follow it, if anything would
