"""What ships, as lines of mrkdwn (issue 16): a head line, then one line per change listed.

ships_lines(ships)
    `:package: 3 changes since `abc1234` · compare`, then "`def5678` Fix the checkout
    page (by alice)" per change, newest first, at most SHOWN, then "and N more". A
    rollback's head line says what it reverts.
"""

from __future__ import annotations

from bot.core.ships import Ships, compare_url
from bot.slack.escape import escape, link
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
