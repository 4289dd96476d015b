"""Every scenario by name: what it shows, the world and configuration it runs on, and its
script with deploybot and (for the seed scenarios) with Semaphore alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from bot.scenarios import (
    approvals,
    buttons,
    cordon,
    crash,
    delivery,
    emergencies,
    holds,
    seed,
    ships,
    starts,
    state_loss,
    stops,
    waves,
    worlds,
)
from bot.scenarios.builds import tags_and_pull_requests
from bot.scenarios.play import Play, ScenarioError
from semaphore_client.simulator import GoferTimes, World


class UnknownScenario(ScenarioError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no scenario {name!r}; known: {', '.join(SCENARIOS)}")
        self.name = name


class NoVariant(ScenarioError):
    def __init__(self, name: str) -> None:
        alone = ", ".join(s.name for s in SCENARIOS.values() if s.without_bot)
        super().__init__(
            f"scenario {name!r} has no --without-bot variant (scenarios that have one: {alone})"
        )
        self.name = name


@dataclass(frozen=True)
class Variant:
    play: Callable[[Play], Awaitable[None]]
    world: Callable[[], World] = worlds.plain_world
    config: str = field(default_factory=worlds.config)
    #: The bot's clock at the start, from the wall clock's now (None: the wall clock).
    clock_start: Callable[[datetime], datetime] | None = None
    #: How the simulator schedules promotions (None: its defaults).
    gofer: GoferTimes | None = None
    #: Whether the scenario clicks in Slack (the Slack stand-in runs, the bot's app on it).
    slack: bool = False


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    with_bot: Variant
    without_bot: Variant | None = None

    def variant(self, with_bot: bool) -> Variant:
        if with_bot:
            return self.with_bot
        if self.without_bot is None:
            raise NoVariant(self.name)
        return self.without_bot


def _seed(
    name: str, auto_cancel: worlds.AutoCancel | None, summary: str, alone: Variant
) -> Scenario:
    world = partial(worlds.seed_world, auto_cancel=auto_cancel, automatic=False)
    return Scenario(name, summary, Variant(seed.rollback_with_bot, world=world), alone)


_ALL = [
    _seed(
        "rollback-with-autocancel",
        "running",
        "A fails on prod while B is on its way; prod's queue auto-cancels",
        Variant(
            seed.rollback_with_autocancel_alone,
            world=partial(worlds.seed_world, auto_cancel="running", automatic=True),
        ),
    ),
    _seed(
        "rollback-without-autocancel",
        None,
        "A fails on prod while B waits behind it; no auto-cancel",
        Variant(
            seed.rollback_without_autocancel_alone,
            world=partial(worlds.seed_world, auto_cancel=None, automatic=True),
        ),
    ),
    Scenario(
        "rollback-deadlock",
        "prod's deploy pipeline waits for rollbacks; A fails while B queues behind it (DESIGN"
        " problem 2)",
        Variant(
            seed.rollback_with_bot,
            world=partial(
                worlds.seed_world, auto_cancel=None, automatic=False, waits_for_rollback=True
            ),
        ),
        Variant(
            seed.rollback_deadlock_alone,
            world=partial(
                worlds.seed_world, auto_cancel=None, automatic=True, waits_for_rollback=True
            ),
        ),
    ),
    Scenario(
        "blocker-holds-and-resumes",
        "a person blocks prod; A and B wait; unblocking deploys B only",
        Variant(holds.blocker_holds_and_resumes),
    ),
    Scenario(
        "window-opens",
        f"A reaches prod before its window ({holds.PROD_WINDOW} UTC) opens and deploys when it does",
        Variant(
            holds.window_opens,
            config=worlds.config(prod_extra=holds.window_config_extra()),
            clock_start=holds.window_clock_start,
        ),
    ),
    Scenario(
        "emergency-no-cascade",
        "an emergency deployment to beta during a freeze; nothing follows it to prod",
        Variant(holds.emergency_no_cascade),
        Variant(
            cordon.emergency_cascades_alone,
            world=partial(worlds.seed_world, auto_cancel=None, automatic=True),
        ),
    ),
    Scenario(
        "emergency-to-later-stage",
        "prod is blocked; an emergency deploys hotfix to prod, promoted from its beta deploy"
        " pipeline; nothing follows it",
        Variant(emergencies.emergency_to_later_stage),
    ),
    Scenario(
        "alarm-during-bake",
        "an alert fires while A bakes on prod: rollback, and prod held until it resolves",
        Variant(holds.alarm_during_bake, config=worlds.config(prod_bake=holds.ALARM_BAKE)),
    ),
    Scenario(
        "stop-then-rollback",
        "an alarm fails A while its prod pipeline runs; deploybot stops it, and the rollback to"
        " base starts only once the stopped pipeline is done",
        Variant(stops.stop_then_rollback),
    ),
    Scenario(
        "late-alarm",
        "an alert that began during A's prod bake arrives after the bake ended: A counts as"
        " failed and prod rolls back to base",
        Variant(holds.late_alarm),
    ),
    Scenario(
        "tags-and-pull-requests",
        "a tag and a pull request pass CI next to a push on main; only main is deployed",
        Variant(tags_and_pull_requests),
    ),
    Scenario(
        "crash-and-resume",
        "the bot dies between deciding to promote A to prod and promoting it; a restart does it once",
        Variant(crash.crash_before_promotion),
    ),
    Scenario(
        "crash-after-promotion",
        "the bot dies right after promoting A to prod; the restart repeats it, Semaphore runs one",
        Variant(crash.crash_after_promotion),
    ),
    Scenario(
        "state-loss",
        "A is deployed; deploybot's store is wiped and it restarts; B, pushed after, reaches"
        " every stage",
        Variant(state_loss.state_loss),
    ),
    Scenario(
        "promotion-never-scheduled",
        "Semaphore accepts A's promotion to beta and never starts it; the bot says so, and B,"
        " pushed after, reaches every stage",
        Variant(starts.promotion_never_scheduled, gofer=starts.GOFER),
    ),
    Scenario(
        "target-cordoned",
        "a person deactivates prod's deployment target; A waits on prod, visibly held, and"
        " deploys once the target is active again",
        Variant(cordon.target_cordoned_with_bot),
        Variant(
            cordon.target_cordoned_alone,
            world=partial(worlds.seed_world, auto_cancel=None, automatic=True),
        ),
    ),
    Scenario(
        "two-person-approval",
        "prod requires two approvals: A waits; bob approves, then again (refused); erin"
        " approves, and A deploys",
        Variant(approvals.two_person_approval, config=approvals.CONFIG),
    ),
    Scenario(
        "delivery-metrics",
        "A deploys, B fails on prod and is rolled back, C deploys: the JSON's stats for prod"
        " count 2 good roll-forwards, a failure rate of 1/3 and one restore",
        Variant(delivery.delivery_metrics),
    ),
    Scenario(
        "what-ships",
        "prod is blocked while A, B and C pass beta; unblocked, prod deploys C, and C's message"
        " lists the three changes that deployment carries, with their authors",
        Variant(ships.what_ships, slack=True),
    ),
    Scenario(
        "waves",
        "A deploys to wave 1's two targets, then wave 2's three at once; B fails on one target"
        " of wave 2, and the wave rolls back to A (scope: wave)",
        Variant(
            waves.waves_with_bot,
            world=partial(waves.world, automatic=False),
            config=waves.CONFIG,
        ),
        Variant(waves.waves_alone, world=partial(waves.world, automatic=True)),
    ),
    Scenario(
        "stale-approve-button",
        "an alarm on prod offers Approve rollback; it resolves and third deploys and bakes;"
        " Approve, clicked then, rolls nothing back and says why",
        Variant(buttons.stale_approve_button, slack=True),
    ),
]

SCENARIOS: dict[str, Scenario] = {s.name: s for s in _ALL}


def find(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UnknownScenario(name) from None
