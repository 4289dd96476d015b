"""The `/deploy` slash command's values: one frozen dataclass per command, and `ParseError`.

`bot.slack.parser.parse(text, config, now)` turns text into one of these (or a ParseError
saying what was wrong and, in `usage`, the right form). Names are spelled as configured;
times are UTC instants; reasons are verbatim (the renderer escapes them). A wave's name
(issue 18) stands for every target of it where the form says `stage|wave`; a target is
`WAVE/TARGET`.

    /deploy status [project] [stage|wave]       Status
    /deploy queue [project] stage               Queue
    /deploy history [project] stage             History
    /deploy diff [project] stage [SHA]          Diff (what ships)
    /deploy approve [project] stage|wave [SHA]  Approve (a roll-forward waiting for approval)
    /deploy reject [project] stage|wave [SHA] REASON                Reject
    /deploy stats [project] [stage] [7d|30d|90d]                Stats (delivery metrics)
    /deploy block [project] stage|wave|PROJECT|all REASON [for 2h | until 17:00 | until 2026-12-20 17:00]
                                                Block (one target per stage blocked)
    /deploy unblock [project] stage|wave [id]   Unblock (no id: every manual blocker)
    /deploy freeze [project] stage START .. END REASON        Freeze
    /deploy freeze list [project] [stage]       FreezeList
    /deploy freeze cancel [project] stage ID    FreezeCancel
    /deploy rollback [project] stage|wave [to SHA]                  Rollback
    /deploy emergency [project] stage|wave SHA REASON               Emergency
    /deploy reset [project] stage               Reset (forget a deployment believed running)
    /deploy help [command], or nothing          Help

`USAGE` holds the correct form of each subcommand; `HELP_SUMMARY` all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.slack.targets import StageRef

__all__ = [
    "USAGE",
    "Approve",
    "Block",
    "BlockScope",
    "BlockTarget",
    "Command",
    "Diff",
    "Emergency",
    "Freeze",
    "FreezeCancel",
    "FreezeList",
    "Help",
    "History",
    "ParseError",
    "Queue",
    "Reject",
    "Reset",
    "Rollback",
    "StageRef",
    "Stats",
    "Status",
    "Unblock",
]

USAGE: dict[str, str] = {
    "status": "/deploy status [project] [stage|wave]",
    "queue": "/deploy queue [project] stage",
    "history": "/deploy history [project] stage",
    "diff": "/deploy diff [project] stage [SHA]",
    "approve": "/deploy approve [project] stage|wave [SHA]",
    "reject": "/deploy reject [project] stage|wave [SHA] REASON",
    "stats": "/deploy stats [project] [stage] [7d|30d|90d]",
    "block": "/deploy block [project] stage|wave|PROJECT|all REASON [for 2h | until 17:00 | until tomorrow [09:00] | until 2026-12-20 17:00]",
    "unblock": "/deploy unblock [project] stage|wave [blocker-id]",
    "freeze": "/deploy freeze [project] stage 2026-12-20 09:00 .. 2027-01-04 09:00 REASON",
    "freeze list": "/deploy freeze list [project] [stage]",
    "freeze cancel": "/deploy freeze cancel [project] stage FREEZE-ID",
    "rollback": "/deploy rollback [project] stage|wave [to SHA]",
    "emergency": "/deploy emergency [project] stage|wave SHA REASON",
    "reset": "/deploy reset [project] stage",
    "help": "/deploy help [command]",
}
SUBCOMMANDS = (
    "status",
    "queue",
    "history",
    "diff",
    "approve",
    "reject",
    "stats",
    "block",
    "unblock",
    "freeze",
    "rollback",
    "emergency",
    "reset",
    "help",
)
HELP_SUMMARY = "\n".join(USAGE.values())


@dataclass(frozen=True)
class ParseError:
    """What was wrong (`message`) and the correct form (`usage`). Both are plain text."""

    message: str
    usage: str


@dataclass(frozen=True)
class Help:
    #: A subcommand to explain, or None for the summary.
    topic: str | None = None


@dataclass(frozen=True)
class Status:
    """None for `project` means every project; None for `stage`, every stage."""

    project: str | None
    stage: str | None = None


@dataclass(frozen=True)
class Queue:
    project: str
    stage: str


@dataclass(frozen=True)
class History:
    project: str
    stage: str


@dataclass(frozen=True)
class Diff:
    """What ships to `stage`: for the change queued or deploying there (else the one live),
    or for `sha`."""

    project: str
    stage: str
    sha: str | None = None


@dataclass(frozen=True)
class Approve:
    """Approve the roll-forward waiting for approval on `stage` (of `sha`, when given)."""

    project: str
    stage: str
    sha: str | None = None


@dataclass(frozen=True)
class Reject:
    project: str
    stage: str
    sha: str | None
    reason: str


@dataclass(frozen=True)
class Stats:
    """Delivery metrics of `stage` (the project's last stage when None) over `days`."""

    project: str
    stage: str | None = None
    days: int = 30


class BlockScope(StrEnum):
    STAGE = "stage"
    #: Every target of a wave.
    WAVE = "wave"
    PROJECT = "project"
    ALL = "all"


@dataclass(frozen=True)
class BlockTarget:
    """One stage to block, until `until` (UTC, resolved in that stage's zone) or lifted."""

    project: str
    stage: str
    until: datetime | None


@dataclass(frozen=True)
class Block:
    """One target per stage it blocks: one stage, every stage of a project, or everything."""

    scope: BlockScope
    targets: tuple[BlockTarget, ...]
    reason: str


@dataclass(frozen=True)
class Unblock:
    project: str
    #: A stage, or a wave (every target of it).
    stage: str
    #: None: lift every manual blocker on the stage.
    blocker_id: str | None = None

    @property
    def all_manual(self) -> bool:
        return self.blocker_id is None


@dataclass(frozen=True)
class Freeze:
    """A change freeze from `start` to `end` (UTC; typed in the stage's zone)."""

    project: str
    stage: str
    start: datetime
    end: datetime
    reason: str


@dataclass(frozen=True)
class FreezeList:
    project: str | None = None
    stage: str | None = None


@dataclass(frozen=True)
class FreezeCancel:
    project: str
    stage: str
    freeze_id: str


@dataclass(frozen=True)
class Rollback:
    """Roll back to `to_sha` (lower-case hex), or to the last good deployment when None."""

    project: str
    stage: str
    to_sha: str | None = None


@dataclass(frozen=True)
class Reset:
    """Forget the deployment deploybot believes is running on the stage (after a look at
    Semaphore, in a confirmation modal): the queue goes on."""

    project: str
    stage: str


@dataclass(frozen=True)
class Emergency:
    project: str
    stage: str
    sha: str
    reason: str


Command = (
    Help
    | Status
    | Queue
    | History
    | Diff
    | Approve
    | Reject
    | Stats
    | Block
    | Unblock
    | Freeze
    | FreezeList
    | FreezeCancel
    | Rollback
    | Emergency
    | Reset
)
