"""What ships, as lines of mrkdwn (issue 16): a head line, then one line per change listed.

ships_lines(ships)
    `:package: 3 changes since `abc1234` · compare`, then "`def5678` Fix the checkout
    page (by alice)" per change, newest first, at most SHOWN, then "and N more". A
    rollback's head line says what it reverts.
"""

from __future__ import annotations

from typing import Any

from bot.core.model import Change
from bot.core.ships import Ships, compare_url
from bot.slack.escape import escape, link
from bot.slack.render.blocks import message, section, sections
from bot.slack.render.text import sha7, title


def ships_lines(ships: Ships) -> list[str]:
    count = f"{ships.total} change{'s' if ships.total != 1 else ''}"
    if ships.reverts and ships.since is not None:
        head = f":rewind: reverts {count}, back to `{sha7(ships.since.sha)}`"
    elif ships.since is not None:
        head = f":package: {count} since `{sha7(ships.since.sha)}`"
    else:
        head = f":package: {count}, the first deployment here"
    if ships.since is not None:
        base, tip = ships.since.sha, ships.head.sha
        url = compare_url(ships.head.repository_url or ships.since.repository_url, base, tip)
        if url is not None:
            head += f" · {link(url, 'compare')}"
    lines = [head]
    for change in ships.changes:
        by = f" (by {escape(change.author)})" if change.author else ""
        lines.append(f"    `{sha7(change.sha)}` {title(change)}{by}")
    if ships.total > len(ships.changes):
        lines.append(f"    and {ships.total - len(ships.changes)} more")
    return lines


def diff_message(
    project: str, stage: str, asked: str | None, change: Change | None, ships: Ships | None
) -> dict[str, Any]:
    """`/deploy diff`'s answer: what `change` ships to the stage, or why there is nothing."""
    where = f"{escape(project)}/{escape(stage)}"
    if change is None and asked is not None:
        text = (f"No change `{escape(asked)}` passed CI on the deploy branch of {escape(project)} "
                "(deploybot remembers those of the history retention, 90 days by default).")  # fmt: skip
    elif change is None:
        text = f"Nothing is queued, deploying or live on {where}."
    elif ships is None:
        text = f"`{sha7(change.sha)}` ships nothing new to {where}: it is not newer than what runs there."
    else:
        lines = ships_lines(ships)
        head = f"*{where}* with `{sha7(change.sha)}` {title(change)}: {lines[0]}"
        return message(f"What ships to {where}", sections([head, *lines[1:]], block_id="diff"))
    return message(text, [section(text, block_id="diff")])
