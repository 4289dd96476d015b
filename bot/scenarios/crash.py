"""The bot dies at its promotion to prod and comes back (DESIGN.md section 4 rule 8).

- before the call: the decision (A goes to prod) and its effect are stored, Semaphore never
  heard of it. The restarted bot carries out the outbox: one promotion.
- after the call: Semaphore started the pipeline, the bot died before acknowledging the
  effect. The restarted bot repeats the promotion with the same request_token and Semaphore
  starts nothing new: still one pipeline.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.adapters.semaphore import request_token
from bot.errors import DeploybotError
from bot.scenarios.play import Play
from bot.service.effects import Effect, StartDeployment
from bot.service.stages import Effects

#: A's prod deploy runs long enough for the restart to happen while it runs.
PROD_SECONDS = 1.0


class Crashed(DeploybotError):
    """Stands for the process dying: nothing the crashed bot does after it reaches anyone."""


class CrashAtPromotion:
    """The bot's effects port, wrapped to die at the first promotion to `stage`."""

    def __init__(self, effects: Effects, stage: str, *, after_call: bool) -> None:
        self.effects = effects
        self.stage = stage
        self.after_call = after_call
        self.crashed = asyncio.Event()
        self.at: datetime | None = None

    async def __call__(self, effect: Effect) -> None:
        if self.crashed.is_set():
            raise Crashed("the bot is down")
        if isinstance(effect, StartDeployment) and effect.stage == self.stage:
            if self.after_call:
                await self.effects(effect)
            self.crashed.set()
            self.at = datetime.now(UTC)
            raise Crashed(f"the bot died at the promotion of {effect.deployment.id}")
        await self.effects(effect)


class Witness:
    """The restarted bot's effects port, noting each promotion it carries out."""

    def __init__(self, effects: Effects, play: Play) -> None:
        self.effects, self.play = effects, play

    async def __call__(self, effect: Effect) -> None:
        if isinstance(effect, StartDeployment):
            deployment = effect.deployment
            token = request_token(deployment.id)
            label = self.play.label(deployment.change.sha)
            self.play.note(
                f"the restarted bot promotes {label} to {effect.stage} "
                f"(deployment {deployment.id}, request_token {token[:8]})"
            )
        await self.effects(effect)


async def _crash_and_resume(play: Play, *, after_call: bool) -> None:
    await play.outcome("deploy-prod.yml", "A", duration=PROD_SECONDS)
    stages = play.harness.runtime.stages
    crash = CrashAtPromotion(stages.effects, "prod", after_call=after_call)
    stages.effects = crash
    await play.push("A")

    async def crashed() -> bool:
        return crash.crashed.is_set()

    await play.wait("the bot dying at A's promotion to prod", crashed)
    when = "right after calling Semaphore" if after_call else "before calling Semaphore"
    play.note(f"the bot crashes at A's promotion to prod, {when}", crash.at)
    await play.harness.restart()
    stages = play.harness.runtime.stages
    stages.effects = Witness(stages.effects, play)
    play.note("the bot is restarted on the same state")
    # The restarted bot's startup reconciliation carries out what the crashed one left in
    # its outbox (bot/timers.py: unclaimed at startup).
    await play.wait("A deployed to prod", lambda: play.deployed("prod", "A"))


async def crash_before_promotion(play: Play) -> None:
    await _crash_and_resume(play, after_call=False)


async def crash_after_promotion(play: Play) -> None:
    await _crash_and_resume(play, after_call=True)
