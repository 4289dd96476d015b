"""DESIGN.md section 1 item 3: auto-cancel versus rollback, on Semaphore alone and with deploybot.

Commits `base` (deployed and good), `A` (its prod deployment fails) and `B` (pushed while A is
deploying to prod, or while A's rollback is pending).

Semaphore alone (`--without-bot`): a `result = 'failed'` promotion starts `rollback-prod.yml`
in prod's queue.
- auto-cancel: A fails, the rollback of A is pending, B is pushed; B's prod deploy cancels the
  rollback and runs on top of the broken deployment.
- no auto-cancel: A is deploying, B is pushed and queues behind it; A fails and its rollback
  queues behind B, so B deploys before the rollback.

With deploybot (the same world, no automatic promotions): A fails, the rollback to `base` goes
first, then B; nothing is cancelled.

DESIGN problem 2, the deadlock (`rollback-deadlock`): the team makes prod's deploy pipeline wait
while a rollback is on its way, so that B cannot deploy before A's rollback. Without auto-cancel,
B's pipeline is next in prod's queue when A fails: it runs, and waits for the rollback, which
waits in the queue behind it. Neither ever ends. With deploybot nothing waits in Semaphore's
queue: the rollback is promoted first, B after it.
"""

from __future__ import annotations

from bot.scenarios.play import Play

#: How long A's prod deployment runs before it fails: B is pushed in the meantime.
A_PROD_SECONDS = 2.5
#: Semaphore alone, the deadlock: how long nothing moves before the scenario ends.
DEADLOCK_SECONDS = 5.0
#: Semaphore alone: the rollback pipeline waits this long before it joins prod's queue
#: (a slow agent, an approval, a big checkout), long enough for B to arrive.
ROLLBACK_PENDING = 1.5


async def rollback_with_bot(play: Play) -> None:
    await play.push("base")
    await play.wait("base deployed to prod", lambda: play.deployed("prod", "base"))
    await play.outcome("deploy-prod.yml", "A", result="failed", duration=A_PROD_SECONDS)
    await play.push("A")
    await play.pipeline("deploy-prod.yml", "A", "running")
    await play.push("B")  # B reaches prod while A is still deploying there
    await play.wait("B deployed to prod", lambda: play.deployed("prod", "B"))


async def _base_on_prod_alone(play: Play) -> None:
    await play.outcome("rollback-prod.yml", pending=ROLLBACK_PENDING, duration=0.5)
    await play.push("base")
    await play.pipeline("deploy-prod.yml", "base", "passed")
    await play.outcome("deploy-prod.yml", "A", result="failed", duration=1.5)
    await play.push("A")


async def rollback_with_autocancel_alone(play: Play) -> None:
    await _base_on_prod_alone(play)
    await play.pipeline("deploy-prod.yml", "A", "failed")  # the rollback of A is pending
    await play.push("B")
    await play.pipeline("deploy-prod.yml", "B", "done")
    await play.pipeline("rollback-prod.yml", "A", "done")


async def rollback_without_autocancel_alone(play: Play) -> None:
    await _base_on_prod_alone(play)
    await play.pipeline("deploy-prod.yml", "A", "running")
    await play.push("B")  # B's prod deploy queues behind A
    await play.pipeline("deploy-prod.yml", "B", "done")
    await play.pipeline("rollback-prod.yml", "A", "done")


async def rollback_deadlock_alone(play: Play) -> None:
    await _base_on_prod_alone(play)
    await play.pipeline("deploy-prod.yml", "A", "running")
    await play.push("B")  # B's prod deploy queues behind A
    await play.pipeline("deploy-prod.yml", "A", "failed")  # its rollback is on its way
    await play.pipeline("rollback-prod.yml", "A", "queuing")  # behind B, which runs and waits
    await play.sleep(DEADLOCK_SECONDS)
    play.note(
        f"deadlock: for {DEADLOCK_SECONDS:g}s B's prod pipeline waited for the rollback of A, "
        "which waited behind it in prod's queue"
    )
