"""Ephemeral replies to the person who typed `/deploy`: help, a parse error, a refusal.

help_message(topic=None)          the summary, or one subcommand's form
parse_error_message(error)        what was wrong and the correct form
refusal_message(role, action)     "You need the approve role to approve rollbacks."
"""

from __future__ import annotations

from typing import Any

from bot.slack.commands import USAGE, ParseError
from bot.slack.escape import escape
from bot.slack.render.blocks import context, message, section, sections

Message = dict[str, Any]

_ABOUT = {
    "status": "Each stage's version, what runs, bakes or waits, blockers and the next window.",
    "queue": "What waits to deploy on a stage, in the order it will go.",
    "history": "The last deployments on a stage: kind, commit, outcome, when and by whom.",
    "block": "Hold a stage (or a whole project, or `all`): its queue waits until unblocked.",
    "unblock": "Lift one blocker by id, or every manual blocker on the stage.",
    "freeze": "Schedule a change freeze in the stage's time zone; `freeze list`, `freeze cancel`.",
    "rollback": "Roll a stage back to the last good deployment, or to a given commit.",
    "emergency": "Deploy a commit now past every blocker; it does not go on to later stages.",
    "diff": "What a stage's deployment ships: the changes since its last good one, with authors.",
    "approve": "Approve the roll-forward waiting for approval on a stage (not your own changes).",
    "reject": "Reject the roll-forward waiting for approval: it will not deploy to that stage.",
    "stats": (
        "Delivery metrics of a stage (default: the project's last), over 7, 30 or 90 days, "
        "each against the window before: deployment frequency (good roll-forwards a day); "
        "lead time (CI pipeline created to the end of the first good roll-forward carrying "
        "the change), p50 and p90; change failure rate (roll-forwards failed or rolled back, "
        "of those that ran); time to restore (a failure to the next good deployment), p50 "
        "and max."
    ),
    "help": "This help; `/deploy help block` explains one command.",
}


def help_message(topic: str | None = None) -> Message:
    if topic in _ABOUT:
        forms = [form for name, form in USAGE.items() if name.split()[0] == topic]
        code = "\n".join(forms)
        return message(
            f"{code}: {_ABOUT[topic or '']}",
            [section(f"```{code}```\n{_ABOUT[topic or '']}")],
        )
    lines = [
        f"• `{form}`" + (f"\n      {_ABOUT[name]}" if name in _ABOUT else "")
        for name, form in USAGE.items()
    ]
    return message(
        "deploybot commands",
        [
            section("*deploybot* moves each change through the stages by itself. Steer it with:"),
            *sections(lines, block_id="help"),
            context(
                "Project names may be left out when a stage name says it all. Times are in the stage's time zone."
            ),
        ],
    )


def parse_error_message(error: ParseError) -> Message:
    what = escape(error.message)
    usage = escape(error.usage)
    # The message may end a sentence already ("did you mean 'block'?"): no doubled stop.
    stop = "" if what.endswith((".", "?", "!")) else "."
    return message(
        f"{what}{stop} Usage: {usage}",
        [section(f":warning: {what}"), section(f"Usage:\n```{usage}```")],
    )


def refusal_message(role: str, action: str) -> Message:
    """`action` says what was refused, e.g. `approve this rollback`."""
    text = f":no_entry_sign: You need the *{escape(role)}* role to {escape(action)}."
    return message(
        f"You need the {escape(role)} role to {escape(action)}.",
        [section(text), context("Roles come from deploybot's configuration; ask an admin.")],
    )
