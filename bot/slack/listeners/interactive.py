"""Buttons and modals: rollback Approve / Dismiss, Unblock, and the confirmation modals of
emergency deployments and manual rollbacks.

A click is acknowledged at once; the role is checked (a refusal is ephemeral and changes
nothing); the request's id is the clicked message, so a double click or two people clicking
at once act once. The message then shows who did what and when, without its buttons.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.core.decision import Decision, NoticeKind
from bot.slack.escape import escape
from bot.slack.listeners.context import SlackContext
from bot.slack.listeners.home import publish_home
from bot.slack.render import (
    CONFIRM_EMERGENCY,
    CONFIRM_ROLLBACK,
    REASON_ACTION,
    REASON_BLOCK,
    ROLLBACK_APPROVE,
    ROLLBACK_DISMISS,
    UNBLOCK_ACTION,
    decode_value,
    refusal_message,
)
from bot.slack.render.blocks import context
from bot.slack.render.text import local, person
from bot.slack.roles import DOES, Role

Body = dict[str, Any]


def register(app: AsyncApp, slack: SlackContext) -> None:
    async def clicked(
        ack: AsyncAck, body: Body, action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        slack.later(
            _click(slack, body, action, slack.respond(respond)), f"button {action.get('action_id')}"
        )

    app.action(ROLLBACK_APPROVE)(clicked)
    app.action(ROLLBACK_DISMISS)(clicked)
    app.action(UNBLOCK_ACTION)(clicked)

    async def confirmed(ack: AsyncAck, body: Body, view: dict[str, Any]) -> None:
        reason = _reason(view)
        if not reason:
            await ack(
                response_action="errors", errors={REASON_BLOCK: "Say why, for the audit log."}
            )
            return
        await ack()
        slack.later(_confirmed(slack, body, view, reason), f"modal {view.get('callback_id')}")

    app.view(CONFIRM_EMERGENCY)(confirmed)
    app.view(CONFIRM_ROLLBACK)(confirmed)


async def _click(
    slack: SlackContext, body: Body, action: dict[str, Any], respond: AsyncRespond
) -> None:
    value = decode_value(str(action.get("value", ""))) or {}
    project, stage = value.get("project", ""), value.get("stage", "")
    if project not in slack.config.project_names:
        await respond(
            text="This button no longer matches the configuration.", replace_original=False
        )
        return
    action_id = str(action.get("action_id", ""))
    role = Role.BLOCK if UNBLOCK_ACTION.match(action_id) else Role.APPROVE
    user = str(body.get("user", {}).get("id", ""))
    if not await slack.allowed(user, project, stage, role, f"click {action_id}"):
        await respond(
            **refusal_message(role, DOES[role]), replace_original=False, response_type="ephemeral"
        )
        return
    request = _request_id(body, action_id)
    orchestrator = slack.orchestrator
    if action_id == ROLLBACK_APPROVE:
        decision = await orchestrator.approve_rollback(project, stage, user, request)
        if decision is not None and _refused(decision) and value.get("to"):
            # An alarm after the bake: there is no pending rollback; roll back to the sha shown.
            decision = await orchestrator.rollback(project, stage, user, "approved from the alarm alert",
                                                   to_sha=value["to"], force=True, request_id=request)  # fmt: skip
        did = "approved the rollback"
    elif action_id == ROLLBACK_DISMISS:
        decision = await orchestrator.dismiss_rollback(project, stage, user, request)
        did = "dismissed the rollback"
    else:
        decision = await orchestrator.unblock(
            project, stage, user, value.get("blocker", ""), request_id=request
        )
        did = "lifted the blocker"
    await _after(slack, body, user, did, decision, respond)


async def _after(
    slack: SlackContext,
    body: Body,
    user: str,
    did: str,
    decision: Decision | None,
    respond: AsyncRespond,
) -> None:
    if decision is None:
        return  # a double click: the first one acted
    refusals = [n.text for n in decision.notices if n.kind is NoticeKind.REFUSED]
    if refusals:
        await respond(
            text=escape("; ".join(refusals)), replace_original=False, response_type="ephemeral"
        )
        return
    if body.get("container", {}).get("type") == "view":
        await publish_home(slack, user)
        return
    message = body.get("message") or {}
    channel = str(body.get("channel", {}).get("id", ""))
    kept = [_without_buttons(b) for b in message.get("blocks", []) if b.get("type") != "actions"]
    zone = slack.config.projects[0].timezone
    line = context(f":ballot_box_with_check: {person(user)} {did} at {local(slack.clock(), zone)}")
    await slack.client.chat_update(channel=channel, ts=str(message.get("ts", "")),
                                   text=str(message.get("text", did)), blocks=[*kept, line])  # fmt: skip


async def _confirmed(slack: SlackContext, body: Body, view: dict[str, Any], reason: str) -> None:
    meta = decode_value(str(view.get("private_metadata", ""))) or {}
    project, stage, sha = meta.get("project", ""), meta.get("stage", ""), meta.get("sha")
    user = str(body.get("user", {}).get("id", ""))
    emergency = view.get("callback_id") == CONFIRM_EMERGENCY
    role = Role.EMERGENCY if emergency else Role.APPROVE
    if project not in slack.config.project_names:
        return
    if not await slack.allowed(user, project, stage, role, str(view.get("callback_id"))):
        channel = slack.config.project(project).channel_for(stage)
        refusal = refusal_message(role, DOES[role])
        await slack.client.chat_postEphemeral(channel=channel, user=user, text=refusal["text"])
        return
    request = str(view.get("id", "")) or None
    channel = slack.config.project(project).channel_for(stage)
    if emergency and sha:
        decision = await slack.orchestrator.emergency(
            project, stage, sha, user, reason, request_id=request
        )
        if decision is None:
            await slack.client.chat_postEphemeral(
                channel=channel, user=user,
                text=f"No passed CI pipeline for `{escape(sha)}` on the deploy branch of {escape(project)}.",
            )  # fmt: skip
        return
    decision = await slack.orchestrator.rollback(project, stage, user, reason, to_sha=sha, force=True,
                                                 request_id=request)  # fmt: skip
    refusals = [
        n.text for n in (decision.notices if decision else ()) if n.kind is NoticeKind.REFUSED
    ]
    if refusals:
        await slack.client.chat_postEphemeral(
            channel=channel, user=user, text=escape("; ".join(refusals))
        )


def _without_buttons(block: dict[str, Any]) -> dict[str, Any]:
    """A block minus its button accessory (a blocker message's Unblock sits in one)."""
    if (block.get("accessory") or {}).get("type") == "button":
        return {key: value for key, value in block.items() if key != "accessory"}
    return block


def _reason(view: dict[str, Any]) -> str:
    values = view.get("state", {}).get("values", {})
    return str(values.get(REASON_BLOCK, {}).get(REASON_ACTION, {}).get("value") or "").strip()


def _request_id(body: Body, action_id: str) -> str:
    container = body.get("container", {})
    where = container.get("message_ts") or container.get("view_id") or body.get("trigger_id", "")
    return f"{where}:{action_id.split(':')[0]}"


def _refused(decision: Decision) -> bool:
    return any(n.kind is NoticeKind.REFUSED for n in decision.notices)
