"""`/deploy`: parse, answer at once (Slack's 3 seconds), do the work after the ack, and reply
ephemerally. Changes of state are announced in the channel by the notices they cause."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.events import Shown
from bot.core.model import Blocker, BlockerKind, DeploymentState
from bot.service.approvals import awaiting
from bot.service.delivery import stage_delivery
from bot.service.requests import Plan, Refused, Why, emergency_plan, rollback_plan, together
from bot.service.ships import stage_ships
from bot.slack import commands as cmd
from bot.slack.escape import escape
from bot.slack.listeners.approvals import approval_answer
from bot.slack.listeners.context import SlackContext
from bot.slack.parser import parse
from bot.slack.render import (
    confirm_modal,
    freeze_list_message,
    freeze_scheduled,
    help_message,
    history_message,
    overview,
    overview_room,
    parse_error_message,
    project_status,
    queue_message,
    refusal_message,
)
from bot.slack.render.announce import with_drift
from bot.slack.render.delivery import stats_message
from bot.slack.render.modals import ConfirmKind
from bot.slack.render.ships import diff_message
from bot.slack.render.text import deployment_label, when
from bot.slack.roles import DOES, Role
from semaphore_client import SemaphoreError

Message = dict[str, Any]
UNANSWERED = ":warning: Nothing was done: Semaphore did not answer; try again in a minute"
BUSY = (
    "deploybot is busy: {waiting} requests are waiting for it. Nothing was done; "
    "try again in a minute."
)


def register(app: AsyncApp, slack: SlackContext) -> None:
    @app.command("/deploy")
    async def deploy(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        parsed = parse(str(command.get("text", "")), slack.config, slack.clock())
        if isinstance(parsed, cmd.ParseError):
            await ack(**parse_error_message(parsed))
            return
        if isinstance(parsed, cmd.Help):
            await ack(**help_message(parsed.topic))
            return
        if slack.work.full:
            await ack(text=BUSY.format(waiting=slack.work.waiting))
            return
        await ack()
        user = str(command.get("user_id", ""))
        answer = slack.respond(respond)
        slack.later(
            _run(slack, parsed, user, command, answer, client),
            f"/deploy {type(parsed).__name__}",
            answer,
        )


async def _run(
    slack: SlackContext,
    parsed: cmd.Command,
    user: str,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
) -> None:
    role = _role(parsed)
    if role is not None:
        for project in _projects(parsed):
            what = str(command.get("text", "")).split(" ", 1)[0] or "deploy"
            if not await slack.allowed(user, project, _stage(parsed, project), role, what):
                await respond(**refusal_message(role, DOES[role]))
                return
    if isinstance(parsed, cmd.Rollback | cmd.Emergency):
        await _confirm(slack, parsed, command, client, respond, user)
        return
    if isinstance(parsed, cmd.Reset):
        await _confirm_reset(slack, parsed, command, client, respond)
        return
    await respond(**await _answer(slack, parsed, user))


def _role(parsed: cmd.Command) -> Role | None:
    if isinstance(parsed, cmd.Block | cmd.Unblock | cmd.Freeze | cmd.FreezeCancel):
        return Role.BLOCK
    if isinstance(parsed, cmd.Rollback | cmd.Approve | cmd.Reject):
        return Role.APPROVE
    if isinstance(parsed, cmd.Emergency | cmd.Reset):
        return Role.EMERGENCY
    return None


def _stage(parsed: cmd.Command, project: str) -> str | None:
    if isinstance(parsed, cmd.Block):
        return next(t.stage for t in parsed.targets if t.project == project)
    stage = getattr(parsed, "stage", None)
    return stage if isinstance(stage, str) else None


def _projects(parsed: cmd.Command) -> list[str]:
    if isinstance(parsed, cmd.Block):
        return sorted({t.project for t in parsed.targets})
    project = getattr(parsed, "project", None)
    return [project] if project else []


async def _answer(slack: SlackContext, parsed: cmd.Command, user: str) -> Message:
    now = slack.clock()
    orchestrator = slack.orchestrator
    if isinstance(parsed, cmd.Status):
        if parsed.project is None:
            room = overview_room(slack.config)  # only the states a message can show
            status = overview(slack.config, await slack.states_of(p.name for p in room), now)
        else:
            project = slack.config.project(parsed.project)
            status = project_status(
                project, await slack.states(project.name), now, slack.org, parsed.stage
            )
        # Issue 13 item 18: stages the configuration no longer names, still holding work.
        drift = [o.describe() for o in await slack.drift.orphans(now)
                 if parsed.project in (None, o.project)]  # fmt: skip
        return with_drift(status, drift) if drift else status
    if isinstance(parsed, cmd.Queue):
        state = await slack.store.load(parsed.project, parsed.stage)
        return queue_message(slack.config.project(parsed.project), parsed.stage, state, now)
    if isinstance(parsed, cmd.History):
        deployments = await slack.store.history(parsed.project, parsed.stage, limit=20)
        return history_message(slack.config.project(parsed.project), parsed.stage, deployments, now)
    if isinstance(parsed, cmd.Approve | cmd.Reject):
        return _text(await _approve(slack, parsed, user))
    if isinstance(parsed, cmd.Stats):
        project = slack.config.project(parsed.project)
        stage = parsed.stage or project.stage_names[-1]
        window, keep = timedelta(days=parsed.days), slack.config.history_retention
        current, previous = await stage_delivery(
            slack.store, project.name, stage, window, now, keep
        )
        return stats_message(project.name, stage, parsed.days, current, previous)
    if isinstance(parsed, cmd.Diff):
        change, ships = await stage_ships(slack.store, parsed.project, parsed.stage, parsed.sha)
        return diff_message(parsed.project, parsed.stage, parsed.sha, change, ships)
    if isinstance(parsed, cmd.FreezeList):
        listed = [parsed.project] if parsed.project else [p.name for p in slack.config.projects]
        states = await slack.states_of(listed)
        return freeze_list_message(slack.config, states, now, parsed.project, parsed.stage)
    if isinstance(parsed, cmd.Block):
        for target in parsed.targets:
            await orchestrator.block(
                target.project, target.stage, user, parsed.reason, target.until
            )
        where = ", ".join(f"{t.project}/{t.stage}" for t in parsed.targets)
        if parsed.scope is cmd.BlockScope.WAVE:  # `prod-wave-2/eu-west-1` -> `prod-wave-2`
            first = parsed.targets[0]
            wave = first.stage.partition("/")[0]
            where = f"{first.project}/{wave} (its {len(parsed.targets)} targets)"
        ends = {t.until for t in parsed.targets if t.until is not None}
        until = ""
        if ends:  # in the first stage's zone (a project's or everything's: the earliest end)
            zone = slack.zone(parsed.targets[0].project, parsed.targets[0].stage)
            until = f" until {when(min(ends), now, zone)}"
        return _text(f":no_entry: Blocked {escape(where)}{until}: {escape(parsed.reason)}")
    if isinstance(parsed, cmd.Freeze):
        decision = await orchestrator.freeze(
            parsed.project, parsed.stage, user, parsed.reason, parsed.start, parsed.end
        )
        zone = slack.zone(parsed.project, parsed.stage)
        made = [b for b in decision.state.blockers if b.author == user] if decision else []
        if made and made[-1].kind is BlockerKind.FREEZE:
            return freeze_scheduled(parsed.project, parsed.stage, made[-1], zone)
        return _text(f":snowflake: Freeze on {escape(parsed.project)}/{escape(parsed.stage)}: "
                     f"{when(parsed.start, now, zone)} → {when(parsed.end, now, zone)}")  # fmt: skip
    if isinstance(parsed, cmd.Unblock | cmd.FreezeCancel):
        return await _lift(slack, parsed, user)
    return help_message(None)


async def _approve(slack: SlackContext, parsed: cmd.Approve | cmd.Reject, user: str) -> str:
    """`/deploy approve|reject`: on a wave's name, the first of its targets where the change
    waits (the answer covers the others)."""
    wave = slack.config.project(parsed.project).wave(parsed.stage)
    stages = [s.name for s in wave] or [parsed.stage]
    targets = await slack.store.load_many(parsed.project, stages)
    found = [(s, w) for s, state in targets.items() if (w := awaiting(state, parsed.sha))]
    if not found:
        of = f" with `{escape(parsed.sha)}`" if parsed.sha else ""
        where = f"{escape(parsed.project)}/{escape(parsed.stage)}"
        return f":information_source: Nothing on {where}{of} waits for approval."
    stage, waiting = found[0]
    reason = parsed.reason if isinstance(parsed, cmd.Reject) else None
    return await approval_answer(slack, parsed.project, stage, waiting, user, reason)


async def _lift(slack: SlackContext, parsed: cmd.Unblock | cmd.FreezeCancel, user: str) -> Message:
    """Lift blockers named on a stage (every target's, for a wave named in `/deploy unblock`)."""
    where = f"{escape(parsed.project)}/{escape(parsed.stage)}"
    wave = slack.config.project(parsed.project).wave(parsed.stage)
    stages = [s.name for s in wave] or [parsed.stage]
    states = await slack.store.load_many(parsed.project, stages)
    lifted: list[tuple[str, Blocker]] = []
    for stage in stages:
        blockers = states[stage].blockers
        if isinstance(parsed, cmd.FreezeCancel):
            wanted = [
                b for b in blockers if b.kind is BlockerKind.FREEZE and b.id == parsed.freeze_id
            ]
        elif parsed.blocker_id is not None:
            wanted = [b for b in blockers if b.id == parsed.blocker_id]
        else:
            wanted = [b for b in blockers if b.kind is BlockerKind.MANUAL]
        lifted += [(stage, b) for b in wanted]
    if not lifted:
        if isinstance(parsed, cmd.FreezeCancel):
            return _text(
                f"No freeze {escape(parsed.freeze_id)} set from Slack on {where}; freezes in the configuration file are changed there."
            )
        if parsed.blocker_id is not None:
            return _text(
                f"No blocker {escape(parsed.blocker_id)} on {where}. `/deploy status` lists them."
            )
        return _text(f"No manual blocker on {where}.")
    for stage, blocker in lifted:
        await slack.orchestrator.unblock(parsed.project, stage, user, blocker.id)
    reasons = "; ".join(escape(r) for r in dict.fromkeys(b.reason for _, b in lifted))
    return _text(f":large_green_circle: Lifted {len(lifted)} on {where}: {reasons}")


async def _confirm(
    slack: SlackContext,
    parsed: cmd.Rollback | cmd.Emergency,
    command: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    user: str,
) -> None:
    """Emergency deployments and manual rollbacks are confirmed in a modal, with a reason;
    one that cannot be done is answered at once instead (issue 13 item 5)."""
    now, project = slack.clock(), slack.config.project(parsed.project)
    wave = project.wave(parsed.stage)  # a wave: every target, each planned on its own
    plans: list[Plan] = []
    for stage in [s.name for s in wave] or [parsed.stage]:
        try:
            plan = await _plan(slack, parsed, stage, user)
        except SemaphoreError as exc:  # a stage without history of its own asks Semaphore
            await respond(**_text(f"{UNANSWERED} ({escape(str(exc))})"))
            return
        if isinstance(plan, Refused):
            if wave:
                plan = Refused(f"{stage}: {plan.text}", plan.why)
            await respond(**_text(_cannot(parsed, plan, project.stage_names[0])))
            return
        plans.append(plan)
    plan = together(plans) if wave else plans[0]
    zone = slack.zone(parsed.project, wave[0].name if wave else parsed.stage)
    sha: str | None
    if isinstance(parsed, cmd.Emergency):
        kind: ConfirmKind = "emergency"
        sha, reason = parsed.sha, parsed.reason
    else:
        kind, sha, reason = "rollback", parsed.to_sha, ""
    each = [(s.name, p.live) for s, p in zip(wave, plans, strict=True)] if wave else []
    view = confirm_modal(kind, parsed.project, parsed.stage, sha, plan.blockers, zone, now,
                         reason, plan.live, plan.shown, each=each)  # fmt: skip
    await client.views_open(trigger_id=str(command.get("trigger_id", "")), view=view)


async def _plan(
    slack: SlackContext, parsed: cmd.Rollback | cmd.Emergency, stage: str, user: str
) -> Plan | Refused:
    """What the modal of one stage would show, or why it cannot be done."""
    stages = slack.orchestrator.stages
    plan: Plan | Refused
    if isinstance(parsed, cmd.Emergency):
        project = slack.config.project(parsed.project)
        plan = await emergency_plan(stages, project, stage, parsed.sha, user)
    else:
        plan = await rollback_plan(stages, parsed.project, stage, parsed.to_sha, user)
    if isinstance(plan, Refused) and plan.why is Why.UNKNOWN and isinstance(parsed, cmd.Emergency):
        try:  # item 2 of issue 13: say what became of the commit's CI
            ci = await slack.orchestrator.ci_state(parsed.project, parsed.sha)
            plan = Refused(f"{plan.text}; {ci}", plan.why)
        except SemaphoreError:
            pass
    return plan


async def _confirm_reset(
    slack: SlackContext,
    parsed: cmd.Reset,
    command: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    """`/deploy reset`: with nothing running, answered at once; else a confirmation modal that
    shows the deployment and what Semaphore says of its pipeline (issue 13 item 12)."""
    state = await slack.orchestrator.stages.store.load(parsed.project, parsed.stage)
    current, where = state.current, f"{escape(parsed.project)}/{escape(parsed.stage)}"
    if current is None:
        await respond(**_text(f"Nothing is running on {where}: there is nothing to reset."))
        return
    if current.state is not DeploymentState.RUNNING:
        await respond(**_text(
            f"{escape(deployment_label(current))} is {current.state} on {where}, not running: "
            f"there is nothing to reset. `/deploy rollback {escape(parsed.stage)}` undoes it."
        ))  # fmt: skip
        return
    note = await slack.orchestrator.pipeline_news(current.deploy_pipeline_id)
    shown = Shown(deployment_id=current.id)
    zone, now = slack.zone(parsed.project, parsed.stage), slack.clock()
    view = confirm_modal("reset", parsed.project, parsed.stage, None, (), zone, now,
                         current=current, shown=shown, note=note)  # fmt: skip
    await client.views_open(trigger_id=str(command.get("trigger_id", "")), view=view)


def _cannot(parsed: cmd.Rollback | cmd.Emergency, refused: Refused, first: str) -> str:
    """Why a rollback or an emergency cannot be done, and where to look for one that can."""
    stage = escape(parsed.stage)
    if isinstance(parsed, cmd.Emergency):
        what = f"deploy `{escape(parsed.sha)}` to {stage} in an emergency"
    else:
        to = f" to `{escape(parsed.to_sha)}`" if parsed.to_sha else ""
        what = f"roll {stage} back{to}"
    hint = ""
    if refused.why is Why.UNKNOWN:
        hint = (
            f" `/deploy status` shows what runs where, `/deploy history {escape(first)}` the "
            "changes deploybot deployed; give one of their shas."
        )
    elif refused.why is Why.AMBIGUOUS:
        hint = " Give more of the sha."
    elif isinstance(parsed, cmd.Rollback) and parsed.to_sha:
        hint = f" `/deploy history {stage}` lists what deployed there."
    return f":no_entry_sign: Cannot {what}: {escape(refused.text)}.{hint}"


def _text(text: str) -> Message:
    return {"text": text, "response_type": "ephemeral"}
