"""Blocked stages hold their queue and let it go by themselves (DESIGN.md section 4 rules 2,
4, 5 and 7): a person's blocker, a deploy window, a freeze passed by an emergency deployment,
and an alarm that fires while prod bakes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.core.model import DeploymentKind
from bot.scenarios.play import Play, ScenarioError

#: prod's deploy window in the `window-opens` scenario, and how long before it opens the
#: scenario's clock starts.
PROD_WINDOW = "daily 09:00-17:00"
WINDOW_OPENS = (9, 0)
CLOCK_LEAD = timedelta(seconds=5)
#: prod's bake in `alarm-during-bake`: long enough for the alert to arrive during it.
ALARM_BAKE = "2s"
#: How long a blocked stage is watched, holding, before it is unblocked.
HOLDING = 1.0


async def blocker_holds_and_resumes(play: Play) -> None:
    decision = await play.orchestrator.block(
        "demo", "prod", "U0BLOCK", "Investigating a latency regression"
    )
    if decision is None or not decision.state.blockers:
        raise ScenarioError("the manual blocker on prod was not recorded")
    blocker = decision.state.blockers[-1].id
    await play.push("A")
    await play.wait("A waiting for prod", lambda: play.queued("prod", "A"))
    await play.push("B")
    await play.wait("B waiting for prod", lambda: play.queued("prod", "B"))
    await play.sleep(HOLDING)
    await play.orchestrator.unblock("demo", "prod", "U0BLOCK", blocker)
    await play.wait("B deployed to prod", lambda: play.deployed("prod", "B"))


def window_clock_start(now: datetime) -> datetime:
    """The latest moment, not after `now`, that is CLOCK_LEAD before prod's window opens.

    Never ahead of the wall clock: Semaphore's timestamps are the wall clock's, and deploybot
    looks for a promoted pipeline triggered after it asked for it.
    """
    hour, minute = WINDOW_OPENS
    opens = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    start = opens - CLOCK_LEAD
    return start if start <= now else start - timedelta(days=1)


def window_config_extra() -> str:
    return f'windows: ["{PROD_WINDOW}"]'


async def window_opens(play: Play) -> None:
    hour, minute = WINDOW_OPENS
    play.note(
        f"the bot's clock reads {play.clock():%H:%M:%S} UTC; prod's window opens at "
        f"{hour:02d}:{minute:02d}"
    )
    await play.push("A")
    await play.wait("A deployed to prod", lambda: play.deployed("prod", "A"))


async def emergency_no_cascade(play: Play) -> None:
    await play.push("base")
    await play.wait("base deployed to prod", lambda: play.deployed("prod", "base"))
    now = play.clock()
    start, end = now - timedelta(minutes=1), now + timedelta(hours=1)
    await play.orchestrator.freeze("demo", "beta", "U0BLOCK", "Release freeze", start, end)
    await play.push("A")
    await play.wait("A held on beta by the freeze", lambda: play.queued("beta", "A"))
    await play.orchestrator.emergency(
        "demo", "beta", play.sha("A"), "U0EMERGENCY", "Hotfix for the checkout page"
    )

    async def emergency_done() -> bool:
        done = await play.finished("beta", "A", DeploymentKind.EMERGENCY)
        return done is not None

    await play.wait("the emergency deployment of A to beta", emergency_done)
    await play.sleep(3.0)  # beta's bake (1s) and more: time enough to cascade, if it would


def alert(status: str, starts_at: datetime, ends_at: datetime | None = None) -> dict[str, Any]:
    """An Alertmanager v4 webhook payload: one alert for demo/prod."""
    labels = {
        "alertname": "HighErrorRate",
        "severity": "page",
        "deploybot_project": "demo",
        "deploybot_stage": "prod",
    }
    annotations = {"summary": "5xx rate above 5% for 2 minutes"}
    ends = ends_at.isoformat() if ends_at else "0001-01-01T00:00:00Z"
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "deploybot",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [
            {
                "status": status,
                "labels": labels,
                "annotations": annotations,
                "startsAt": starts_at.isoformat(),
                "endsAt": ends,
                "generatorURL": "http://prometheus.example:9090/graph?g0.expr=errors",
                "fingerprint": "5c1bd1a39e0e2f41",
            }
        ],
    }


async def alarm_during_bake(play: Play) -> None:
    await play.push("base")
    await play.wait("base deployed to prod", lambda: play.deployed("prod", "base"))
    await play.push("A")
    await play.wait("A baking on prod", lambda: play.baking("prod", "A"))
    fired = play.clock()
    await _alert(play, alert("firing", fired))
    await play.push("B")

    async def rolled_back() -> bool:
        return await play.finished("prod", "base", DeploymentKind.ROLLBACK) is not None

    await play.wait("the rollback of prod to base", rolled_back)
    await play.wait("B waiting for prod", lambda: play.queued("prod", "B"))
    await play.sleep(HOLDING)
    await _alert(play, alert("resolved", fired, play.clock()))
    await play.wait("B baking on prod", lambda: play.baking("prod", "B"))


async def _alert(play: Play, payload: dict[str, Any]) -> None:
    play.note(f"Alertmanager posts: HighErrorRate on demo/prod {payload['status']}")
    response = await play.harness.alert(payload)
    if response.status_code != 200:
        raise ScenarioError(f"the bot refused the alert: {response.status_code} {response.text}")


async def late_alarm(play: Play) -> None:
    """Issue 13 item 14: an alert that began while A baked on prod is delivered after the
    bake ended (Alertmanager's group_wait, a retry, a restart): A counts as failed and prod
    rolls back to base by policy."""
    await play.push("base")
    await play.wait("base deployed to prod", lambda: play.deployed("prod", "base"))
    await play.push("A")
    await play.wait("A baking on prod", lambda: play.baking("prod", "A"))
    began = play.clock()  # the alert begins now, inside A's bake ...
    await play.wait("A's bake over", lambda: play.deployed("prod", "A"))
    await play.sleep(0.5)  # ... and reaches deploybot only after the bake ended
    await _alert(play, alert("firing", began))

    async def rolled_back() -> bool:
        return await play.finished("prod", "base", DeploymentKind.ROLLBACK) is not None

    await play.wait("the rollback of prod to base", rolled_back)
