"""Issue 13 `state-loss` (commits `A`, `B`): A is deployed everywhere; then everything deploybot
stored is lost (Redis flushed under the running bot; the embedded store with a restart); B,
pushed after, reaches every stage. Deployment ids carry the store's epoch, so B's promotions get request
tokens Semaphore has never seen (otherwise Semaphore would answer "token exists", start
nothing, and B would never deploy)."""

from __future__ import annotations

from bot.scenarios.play import Play


async def state_loss(play: Play) -> None:
    await play.push("A")
    await play.wait("A deployed to prod", lambda: play.deployed("prod", "A"))
    play.note(await play.harness.lose_state())
    await play.push("B")
    await play.wait("B deployed to beta", lambda: play.deployed("beta", "B"))
    await play.wait("B deployed to prod", lambda: play.deployed("prod", "B"))
