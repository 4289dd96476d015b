"""Buttons act only on what they were made for (DESIGN.md section 4 rule 10), clicked the way
Slack sends a click: a signed request to the bot, its replies recorded by the Slack stand-in.

    stale-approve-button   an alarm on prod offers Approve rollback; the alarm resolves and
                           `third` deploys and bakes; Approve, clicked then, rolls nothing back
"""

from __future__ import annotations

from typing import Any

from bot.core.model import DeploymentKind
from bot.scenarios.holds import HOLDING, alert
from bot.scenarios.play import Play, ScenarioError
from bot.scenarios.slack_driver import SlackDriver, buttons
from bot.standins.slack import SlackStandIn

APPROVER = "U0APPROVE"


def slack_of(play: Play) -> tuple[SlackDriver, SlackStandIn]:
    harness = play.harness
    if harness.slack is None or harness.standin is None:
        raise ScenarioError("this scenario needs the Slack stand-in (Variant(slack=True))")
    return harness.slack, harness.standin


def _alert_message(standin: SlackStandIn) -> dict[str, Any] | None:
    """The first message posted with an Approve rollback button, as a click carries it."""
    for call in standin.of("chat.postMessage"):
        if any(b["action_id"] == "rollback_approve" for b in buttons(call.blocks)):
            text = call.args.get("text", "")
            return {"ts": str(call.answer["ts"]), "text": text, "blocks": call.blocks}
    return None


async def _post_alert(play: Play, status: str, payload: dict[str, Any]) -> None:
    play.note(f"Alertmanager posts: HighErrorRate on demo/prod {status}")
    response = await play.harness.alert(payload)
    if response.status_code != 200:
        raise ScenarioError(f"the bot refused the alert: {response.status_code} {response.text}")


async def stale_approve_button(play: Play) -> None:
    slack, standin = slack_of(play)
    await play.push("first")
    await play.wait("first deployed to prod", lambda: play.deployed("prod", "first"))
    await play.push("second")
    await play.wait("second deployed to prod", lambda: play.deployed("prod", "second"))
    fired = play.clock()
    await _post_alert(play, "firing", alert("firing", fired))

    async def alerted() -> bool:
        return _alert_message(standin) is not None

    await play.wait("the alert offering to roll prod back to first", alerted)
    message = _alert_message(standin)
    assert message is not None
    await _post_alert(play, "resolved", alert("resolved", fired, play.clock()))
    await play.push("third")
    await play.wait("third deployed to prod", lambda: play.deployed("prod", "third"))

    approve = next(b for b in buttons(message["blocks"]) if b["action_id"] == "rollback_approve")
    play.note(f"{APPROVER} clicks Approve rollback on the alert about second, now outdated")
    before = len(standin.calls)
    await slack.click(approve, APPROVER, message=message)

    async def answered() -> bool:
        return any(
            c.method.startswith("response:") and "out of date" in c.text()
            for c in standin.calls[before:]
        )

    async def marked() -> bool:
        return any(
            c.method == "chat.update"
            and c.args.get("ts") == message["ts"]
            and "Outdated" in c.text()
            for c in standin.calls[before:]
        )

    await play.wait("the clicker told that the alert is out of date", answered)
    await play.wait("the alert marked outdated, without its buttons", marked)
    await play.sleep(HOLDING)  # time for a rollback to be queued and promoted, were there one
    if await play.finished("prod", "first", DeploymentKind.ROLLBACK) is not None:
        raise ScenarioError("the outdated Approve rolled prod back to first")
    if not await play.deployed("prod", "third"):
        raise ScenarioError("prod no longer runs third")
