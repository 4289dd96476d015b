"""Small text pieces every renderer shares: shas, commit titles, times, people, links.

Times are shown in the stage's time zone (`Tue 24 Nov 11:00 CET`) with a relative hint
(`2h ago`, `in 40m`). Everything people typed passes through `escape`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot.core.model import Blocker, BlockerKind, Change, Deployment, DeploymentKind
from bot.slack.escape import escape, link, mention

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_WORKFLOW = re.compile(r"^[A-Za-z0-9-]{1,100}$")
_SAFE_BASE = re.compile(r"^https://[A-Za-z0-9.-]+(?::\d{1,5})?(?:/[A-Za-z0-9._~/-]*)?$")

KIND_ICON = {
    BlockerKind.MANUAL: ":no_entry:",
    BlockerKind.WINDOW: ":clock3:",
    BlockerKind.FREEZE: ":snowflake:",
    BlockerKind.ALARM: ":rotating_light:",
}


def sha7(sha: str) -> str:
    return escape(sha[:7])


def title(change: Change, limit: int = 80) -> str:
    """The commit message's first line, escaped and shortened."""
    first = change.message.strip().splitlines()[0] if change.message.strip() else ""
    return escape(first if len(first) <= limit else first[: limit - 1] + "…")


def version(change: Change) -> str:
    """`abc1234 "Fix checkout"`."""
    shown = title(change)
    return f"`{sha7(change.sha)}` {shown}" if shown else f"`{sha7(change.sha)}`"


def deployment_label(deployment: Deployment) -> str:
    kind = "" if deployment.kind is DeploymentKind.ROLLFORWARD else f"{deployment.kind} "
    return f"{kind}{version(deployment.change)}"


@lru_cache(maxsize=4096)
def local(moment: datetime, zone: str) -> str:
    """`moment` on the wall clock of `zone`: `Tue 24 Nov 11:00 CET`. Cached: the same moments
    (a blocker's end, a deployment's finish) are shown on every status and App Home render."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M %Z")


def span(delta: timedelta) -> str:
    """A duration in at most two units, rounded down: `1h30m`, `2d4h`; below a minute, in
    seconds: `45s`."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return f"{max(0, int(delta.total_seconds()))}s"
    days, left = divmod(minutes, 24 * 60)
    hours, minutes = divmod(left, 60)
    units = [
        f"{count}{unit}" for count, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if count
    ]
    return "".join(units[:2])


def relative(moment: datetime, now: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if abs((aware - now).total_seconds()) < 1:
        return "just now"
    return f"in {span(aware - now)}" if aware > now else f"{span(now - aware)} ago"


def when(moment: datetime, now: datetime, zone: str) -> str:
    """`Tue 24 Nov 11:00 CET (2h ago)`."""
    return f"{local(moment, zone)} ({relative(moment, now)})"


def person(actor: str) -> str:
    return mention(actor)


def started_by(actor: str) -> str:
    """Who started a deployment: `automatically` (deploybot itself), else `by @person`."""
    return "automatically" if actor in ("deploybot", "") else f"by {person(actor)}"


#: Outcomes the rules write with the person who acted first (`bot.core.rules`): that actor,
#: and only that one, is shown as a person; what follows (a reason someone typed) is text.
_ACTED = re.compile(r"^(rolled back by|reset by) (\S+?)(:.*)?$", re.DOTALL)


def outcome(text: str) -> str:
    """A deployment's outcome as mrkdwn: escaped, the acting person as a mention."""
    acted = _ACTED.match(text)
    if acted is None:
        return escape(text)
    said, actor, rest = acted.groups()
    return f"{said} {person(actor)}{escape(rest or '')}"


def workflow_url(org: str | None, workflow_id: str) -> str | None:
    """Semaphore's page of a workflow, when Semaphore's address is known and the id looks
    right. `org` is Semaphore's web address (`https://semaphore.example.com` for a self-hosted
    install, from SEMAPHORE_API_URL) or an organisation on semaphoreci.com."""
    if not org or not _WORKFLOW.match(workflow_id):
        return None
    if _SLUG.match(org):
        return f"https://{org}.semaphoreci.com/workflows/{workflow_id}"
    base = org.rstrip("/")
    return f"{base}/workflows/{workflow_id}" if _SAFE_BASE.match(base) else None


def workflow_link(org: str | None, change: Change, label: str = "workflow") -> str:
    """` · <url|workflow>` or nothing when there is no link to make."""
    url = workflow_url(org, change.workflow_id)
    return f" · {link(url, label)}" if url else ""


def blocker_line(blocker: Blocker, now: datetime, zone: str) -> str:
    """`:no_entry: DB migration (by <@U1>, until Tue 24 Nov 12:00 CET (in 2h)) · id a1b2`."""
    icon = KIND_ICON.get(blocker.kind, ":no_entry:")
    parts = []
    if blocker.kind in (BlockerKind.MANUAL, BlockerKind.FREEZE) and blocker.author != "calendar":
        parts.append(f"by {person(blocker.author)}")
    if blocker.until is not None:
        parts.append(f"until {when(blocker.until, now, zone)}")
    detail = f" ({', '.join(parts)})" if parts else ""
    if blocker.kind is BlockerKind.ALARM:  # lifted by its Unblock button or by resolving
        return f"{icon} {escape(blocker.reason)}{detail}"
    return f"{icon} {escape(blocker.reason)}{detail} · id `{escape(blocker.id)}`"
