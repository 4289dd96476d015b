"""Issue 17's `delivery-metrics` (commits `A`, `B`, `C`): A deploys, B fails on prod and prod
rolls back to A by itself, C deploys. The JSON's `stats` for prod: two good roll-forwards of
three that ran (A and C), a change failure rate of 1/3, and one restore (B's failure to the
end of the rollback to A)."""

from __future__ import annotations

from bot.core.model import DeploymentKind
from bot.scenarios.play import Play


async def delivery_metrics(play: Play) -> None:
    await play.push("A")
    await play.wait("A deployed to prod", lambda: play.deployed("prod", "A"))
    await play.outcome("deploy-prod.yml", "B", result="failed")
    await play.push("B")

    async def rolled_back() -> bool:
        return await play.finished("prod", "A", DeploymentKind.ROLLBACK) is not None

    await play.wait("prod rolled back to A", rolled_back)
    await play.push("C")
    await play.wait("C deployed to prod", lambda: play.deployed("prod", "C"))
