"""Buttons and modals: rollback Approve / Dismiss, Unblock, and the confirmation modals of
emergency deployments and manual rollbacks.

A click is acknowledged at once. Its value names what the button acts on (`read_button`: a
value deploybot never made does nothing); the clicker's role is checked (a refusal is
ephemeral, changes nothing and says nothing of the stage); then the service acts, and the
rules check what the button was made for against the stage as it is (DESIGN.md rule 10).
When the stage moved on, nothing happens: the clicker is told what changed, ephemerally, and
the message is marked outdated, without its buttons. Otherwise the message shows who did
what and when, without its buttons. The request's id is the clicked message, so a double
click or two people clicking at once act once. No button forces past a blocker.

A submitted modal is read again (`read_modal`: a view deploybot never made gets an error in
the modal), the submitter's role is checked again, and the rules check the stage again: what
cannot be done is said ephemerally, and nothing happens.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.config.models import DeploybotConfig
from bot.core.decision import Decision, NoticeKind
from bot.core.model import REASON_LIMIT, DeploymentKind
from bot.orchestrator import EmergencyRefused
from bot.service.requests import shown_on
from bot.slack.escape import escape
from bot.slack.listeners.approvals import approval_answer
from bot.slack.listeners.context import SlackContext
from bot.slack.listeners.home import publish_home
from bot.slack.render import (
    CONFIRM_EMERGENCY,
    CONFIRM_RESET,
    CONFIRM_ROLLBACK,
    REASON_ACTION,
    REASON_BLOCK,
    ROLLBACK_APPROVE,
    ROLLBACK_DISMISS,
    UNBLOCK_ACTION,
    Clicked,
    Confirmed,
    acted_line,
    decode_value,
    outdated_line,
    read_button,
    read_modal,
    refusal_message,
    without_buttons,
)
from bot.slack.render.alerts import Acted, blocker_message
from bot.slack.render.approvals import APPROVAL_APPROVE, APPROVAL_REJECT
from bot.slack.render.blocks import Block
from bot.slack.roles import DOES, Role
from semaphore_client import SemaphoreError

Body = dict[str, Any]
Message = dict[str, Any]

NOT_OURS = (
    ":warning: Nothing was done: this button does not name anything deploybot knows "
    "(it was not made by deploybot, or the configuration changed since)."
)
NOT_OURS_MODAL = (
    "Nothing was done: this form was not made by this deploybot (or the configuration "
    "changed since). Close it and run the command again."
)
ALREADY = "Nothing was done: this button was clicked already; the message says what came of it."
DID = {
    "approve": "approved the rollback",
    "dismiss": "dismissed the rollback",
    "unblock": "lifted the blocker",
}


def register(app: AsyncApp, slack: SlackContext) -> None:
    async def clicked(
        ack: AsyncAck, body: Body, action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        answer = slack.respond(respond)
        slack.later(
            _click(slack, body, action, answer), f"button {action.get('action_id')}", answer
        )

    app.action(ROLLBACK_APPROVE)(clicked)
    app.action(ROLLBACK_DISMISS)(clicked)
    app.action(UNBLOCK_ACTION)(clicked)
    app.action(APPROVAL_APPROVE)(clicked)
    app.action(APPROVAL_REJECT)(clicked)

    async def confirmed(ack: AsyncAck, body: Body, view: dict[str, Any]) -> None:
        request = read_modal(str(view.get("callback_id", "")), str(view.get("private_metadata")))
        if request is None or not _configured(slack.config, request.project, request.stage):
            await ack(response_action="errors", errors={REASON_BLOCK: NOT_OURS_MODAL})
            return
        reason = _reason(view)
        if not reason or len(reason) > REASON_LIMIT:
            why = "Say why, for the audit log."
            if reason:
                why = f"Keep the reason to {REASON_LIMIT} characters (it has {len(reason)})."
            await ack(response_action="errors", errors={REASON_BLOCK: why})
            return
        await ack()
        request_id = str(view.get("id", "")) or None
        slack.later(
            _confirmed(slack, body, request, reason, request_id), f"modal {view.get('callback_id')}"
        )

    app.view(CONFIRM_EMERGENCY)(confirmed)
    app.view(CONFIRM_ROLLBACK)(confirmed)
    app.view(CONFIRM_RESET)(confirmed)


# -- buttons ----------------------------------------------------------------------------------


async def _click(
    slack: SlackContext, body: Body, action: dict[str, Any], respond: AsyncRespond
) -> None:
    action_id, value = str(action.get("action_id", "")), str(action.get("value", ""))
    user = str(body.get("user", {}).get("id", ""))
    fields = decode_value(value) or {}
    project, stage = fields.get("project", ""), fields.get("stage", "")
    if not _configured(slack.config, project, stage):
        await _tell(slack, body, user, respond, _text(NOT_OURS))
        return
    # The role first: a person without it learns that, and nothing about the button.
    role = Role.BLOCK if UNBLOCK_ACTION.match(action_id) else Role.APPROVE
    if not await slack.allowed(user, project, stage, role, f"click {action_id}"):
        await _tell(slack, body, user, respond, refusal_message(role, DOES[role]))
        return
    clicked = read_button(action_id, value)
    if clicked is None:
        await _tell(slack, body, user, respond, _text(NOT_OURS))
        return
    if clicked.kind in ("approval_approve", "approval_reject"):
        await _tell(slack, body, user, respond, _text(await _approval(slack, clicked, body, user)))
        return
    decision = await _act(slack, clicked, user, _request_id(body, action_id))
    if decision is None:
        await _tell(slack, body, user, respond, _text(ALREADY))
        return
    zone, now = slack.zone(clicked.project, clicked.stage), slack.clock()
    refusals = _refusals(decision)
    if refusals:
        why = "; ".join(refusals)
        told = f":warning: Nothing was done, this message is out of date: {escape(why)}."
        await _tell(slack, body, user, respond, _text(told))
        await _mark(slack, body, user, respond, outdated_line(why, user, now, zone))
        return
    if not await _lifted(slack, body, clicked, decision, user, now, zone):
        await _mark(slack, body, user, respond, acted_line(user, DID[clicked.kind], now, zone))
    waiting = _waits(decision, clicked.stage)
    if waiting is not None:
        await _tell(slack, body, user, respond, _text(waiting))


async def _approval(slack: SlackContext, clicked: Clicked, body: Body, user: str) -> str:
    """Approve or Reject on an approval message: every click is a request of its own (two
    people approve; the same person twice is told why not). The message itself is redrawn by
    the notifier, from what the rules decided."""
    state = await slack.store.load(clicked.project, clicked.stage)
    wanted = clicked.shown.deployment_id
    waiting = next((d for d in state.queue if d.id == wanted), None)
    if waiting is None or waiting.approval_until is None:
        return (
            ":warning: Nothing was done: that change no longer waits for approval (it started, "
            "or was superseded, rejected or expired); the message says what came of it."
        )
    reason = "rejected in Slack" if clicked.kind == "approval_reject" else None
    action_ts = next((str(a.get("action_ts", "")) for a in body.get("actions", [])), "")
    request = f"{_request_id(body, clicked.kind)}:{user}:{action_ts or slack.clock().timestamp()}"
    return await approval_answer(
        slack, clicked.project, clicked.stage, waiting, user, reason, request
    )


async def _lifted(
    slack: SlackContext,
    body: Body,
    clicked: Clicked,
    decision: Decision,
    user: str,
    now: datetime,
    zone: str,
) -> bool:
    """A blocker's own message, its blocker lifted by the click: drawn as the notifier draws
    it when the blocker lifts ("was blocked", who lifted it), so whichever update lands last
    the message says the same. False for any other message (the generic mark applies)."""
    message = body.get("message") or {}
    blocks = message.get("blocks") or [{}]
    if clicked.kind != "unblock" or not str(blocks[0].get("block_id", "")).startswith("blocker:"):
        return False
    lifted = [
        b for n in decision.notices if n.kind is NoticeKind.BLOCKER_LIFTED for b in n.blockers
    ]
    channel = str(body.get("channel", {}).get("id", ""))
    if not lifted or not channel or body.get("container", {}).get("is_ephemeral"):
        return False
    acted = Acted(by=user, did=DID["unblock"], at=now)
    drawn = blocker_message(clicked.project, clicked.stage, lifted[0], zone, now, acted)
    await slack.client.chat_update(channel=channel, ts=str(message.get("ts", "")), **drawn)
    return True


async def _act(slack: SlackContext, clicked: Clicked, user: str, request: str) -> Decision | None:
    orchestrator, shown = slack.orchestrator, clicked.shown
    project, stage = clicked.project, clicked.stage
    if clicked.kind == "approve":
        return await orchestrator.approve_rollback(project, stage, user, request, shown=shown)
    if clicked.kind == "dismiss":
        return await orchestrator.dismiss_rollback(project, stage, user, request, shown=shown)
    return await orchestrator.unblock(
        project, stage, user, shown.blocker_id, request_id=request, shown=shown
    )


def _waits(decision: Decision, stage: str) -> str | None:
    """A rollback a click queued that a manual blocker holds (a click never goes past one)."""
    if decision.start is not None:
        return None
    for rollback in (d for d in decision.state.queue if d.kind is DeploymentKind.ROLLBACK):
        holding = [b for b in decision.blocked_by if b.holds(rollback)]
        if holding:
            reasons = "; ".join(escape(b.reason) for b in holding)
            return (
                f":double_vertical_bar: The rollback is queued and waits for: {reasons}. "
                f"Lift that, or roll back past it with `/deploy rollback {escape(stage)}`."
            )
    return None


async def _tell(
    slack: SlackContext, body: Body, user: str, respond: AsyncRespond, message: Message
) -> None:
    """Tell the clicker alone: ephemerally, or in the App Home's messages (no response URL)."""
    if body.get("container", {}).get("type") == "view":
        await slack.client.chat_postMessage(channel=user, **message)
        return
    await respond(**message, replace_original=False, response_type="ephemeral")


async def _mark(
    slack: SlackContext, body: Body, user: str, respond: AsyncRespond, line: Block
) -> None:
    """The clicked message without its buttons, with `line`; the App Home drawn again."""
    container = body.get("container", {})
    if container.get("type") == "view":
        await publish_home(slack, user)
        return
    message = body.get("message") or {}
    if not message:
        return  # an ephemeral message Slack did not send back: nothing to update
    blocks = without_buttons(message.get("blocks", []), line)
    text = str(message.get("text", "")) or "deploybot"
    if container.get("is_ephemeral"):
        await respond(text=text, blocks=blocks, replace_original=True)
        return
    channel = str(body.get("channel", {}).get("id", "") or container.get("channel_id", ""))
    await slack.client.chat_update(
        channel=channel, ts=str(message.get("ts", "")), text=text, blocks=blocks
    )


# -- modals -----------------------------------------------------------------------------------


async def _confirmed(
    slack: SlackContext, body: Body, request: Confirmed, reason: str, request_id: str | None
) -> None:
    project, stage = request.project, request.stage
    user = str(body.get("user", {}).get("id", ""))
    emergency = request.kind == "emergency"
    role = Role.EMERGENCY if emergency or request.kind == "reset" else Role.APPROVE
    wave = [s.name for s in slack.config.project(project).wave(stage)]
    channel = slack.config.project(project).channel_for(wave[0] if wave else stage)
    what = {"emergency": CONFIRM_EMERGENCY, "rollback": CONFIRM_ROLLBACK}.get(
        request.kind, CONFIRM_RESET
    )
    if not await slack.allowed(user, project, stage, role, f"submit {what}"):
        refusal = refusal_message(role, DOES[role])
        await slack.client.chat_postEphemeral(channel=channel, user=user, text=refusal["text"])
        return
    said: list[str] = []
    for each in wave or [stage]:  # a wave's modal: every target, each on its own
        one = request
        if wave:
            shown = shown_on(request.shown, project, each)
            one = replace(request, stage=each, shown=shown)
        here = f"{request_id}>{each}" if wave and request_id else request_id
        answer = await _confirmed_one(slack, one, user, reason, here)
        if answer is not None:
            said.append(f"{escape(each)}: {answer}" if wave else answer)
    if said:
        await slack.client.chat_postEphemeral(channel=channel, user=user, text="\n".join(said))


async def _confirmed_one(
    slack: SlackContext, request: Confirmed, user: str, reason: str, request_id: str | None
) -> str | None:
    """Carry out a confirmed request on one stage: what to tell the person, if anything."""
    project, stage = request.project, request.stage
    try:
        if request.kind == "emergency":
            return await _emergency(slack, request, user, reason, request_id)
        if request.kind == "reset":
            decision = await slack.orchestrator.reset(
                project, stage, user, reason, request_id or "", request.shown
            )
            return _outcome(decision)
        decision = await slack.orchestrator.rollback(
            project, stage, user, reason, to_sha=request.sha, force=True,
            request_id=request_id, shown=request.shown,
        )  # fmt: skip
        return _outcome(decision)
    except SemaphoreError as exc:  # looking up the commit's CI, or a stage's last good
        return f"Nothing was done: Semaphore did not answer ({escape(str(exc))}); try again."


async def _emergency(
    slack: SlackContext, request: Confirmed, user: str, reason: str, request_id: str | None
) -> str | None:
    project, sha = request.project, request.sha or ""
    change = await slack.orchestrator.ci_change(project, sha)
    if change is None:
        branch = slack.config.project(project).branch
        return (
            f"Nothing was deployed: no CI pipeline of `{escape(sha)}` passed on {escape(branch)} "
            f"in {escape(project)}."
        )
    try:
        decision = await slack.orchestrator.emergency_of(
            project, request.stage, change, user, reason, request_id
        )
    except EmergencyRefused as refused:
        return f"Nothing was deployed: {escape(str(refused))}."
    return _outcome(decision)


def _outcome(decision: Decision | None) -> str | None:
    """What to tell the submitter: why nothing was done, or None (the channel is told)."""
    if decision is None:
        return "Nothing was done: this form was submitted already."
    refusals = _refusals(decision)
    return f"Nothing was done: {escape('; '.join(refusals))}." if refusals else None


# -- reading requests ---------------------------------------------------------------------------


def _configured(config: DeploybotConfig, project: str, stage: str) -> bool:
    """A configured stage, or wave (a modal for every target of it)."""
    if project not in config.project_names:
        return False
    found = config.project(project)
    return stage in found.stage_names or bool(found.wave(stage))


def _refusals(decision: Decision) -> list[str]:
    return [n.text for n in decision.notices if n.kind is NoticeKind.REFUSED]


def _text(text: str) -> Message:
    return {"text": text}


def _reason(view: dict[str, Any]) -> str:
    values = view.get("state", {}).get("values", {})
    return str(values.get(REASON_BLOCK, {}).get(REASON_ACTION, {}).get("value") or "").strip()


def _request_id(body: Body, action_id: str) -> str:
    container = body.get("container", {})
    where = container.get("message_ts") or container.get("view_id") or body.get("trigger_id", "")
    return f"{where}:{action_id.split(':')[0]}"
